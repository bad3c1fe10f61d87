import type { DataSource, EntityManager } from 'typeorm';
import { invalid } from '../errors';
import { seesEverything, type Principal } from '../users/principal';
import type { CallRecordDto } from './call-record';
import { toCallRecordDto, type CallRow, type LegRow } from './call.dto';

/** `c.started_at` as the cursor spells it: to the microsecond, in UTC (see decodeCursor). */
export const STARTED_AT_TEXT = `to_char(c.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/**
 * The columns every call query selects: the row and the names it shows. The names are scalar
 * subqueries on primary keys (a LEFT JOIN each would return the same): planning six joins cost
 * more than running the whole page query (~3 ms against ~1 ms on 5M calls).
 */
const SELECT_CALL = `
  SELECT c.id, c.version, c.pbx_call_id, c.direction, c.state, c.disposition, c.missed,
         c.external_number, c.external_number_raw, c.tracking_number,
         c.started_at, ${STARTED_AT_TEXT} AS started_at_text, c.answered_at, c.ended_at,
         c.agent_extension, c.agent_user_id, (SELECT au.name FROM users au WHERE au.id = c.agent_user_id) AS agent_name,
         c.hangup_by, c.end_reason, c.contact_id,
         (SELECT trim(ct.first_name || ' ' || coalesce(ct.last_name, '')) FROM contacts ct WHERE ct.id = c.contact_id) AS contact_name,
         c.organization_id, (SELECT org.name FROM organizations org WHERE org.id = c.organization_id) AS organization_name,
         c.contact_match, c.related_pbx_call_ids,
         c.recording_file, r.id AS recording_id, r.state AS recording_state, r.duration_seconds AS recording_duration,
         r.channels AS recording_channels, r.analytics AS recording_analytics,
         c.topic, c.outcome_id, (SELECT oc.name FROM outcomes oc WHERE oc.id = c.outcome_id) AS outcome_name, c.notes
    FROM calls c
    LEFT JOIN recordings r ON r.call_id = c.id`;

/**
 * The access rule, in SQL, for every query that returns calls: supervisors and admins see all; a
 * manager sees the calls of their own extensions (as agent or on any leg) and of contacts they own.
 */
export function accessClause(p: Principal, params: unknown[]): string {
  if (seesEverything(p)) return 'TRUE';
  params.push(p.userId);
  return `(${accessWays(`$${params.length}`).join('\n           OR ')})`;
}

/** A manager's ways to a call (any one suffices), each with an index path of its own. */
const accessWays = (me: string) => [
  `c.agent_user_id = ${me}`,
  `EXISTS (SELECT 1 FROM call_legs l WHERE l.call_id = c.id AND l.user_id = ${me})`,
  `EXISTS (SELECT 1 FROM contacts oc2 WHERE oc2.id = c.contact_id AND oc2.owner_id = ${me})`,
];

/** The agent filter: calls the user took or was rung on. */
const agentWays = (user: string) => [
  `c.agent_user_id = ${user}`,
  `EXISTS (SELECT 1 FROM call_legs fl WHERE fl.call_id = c.id AND fl.user_id = ${user})`,
];

/** A list of legs: those of a user, or of an extension; `count` up to PAIR_FEW_LEGS. */
interface Legs {
  column: 'user_id' | 'extension';
  value: string;
  count: number;
}

/** SQL: how many legs have `column` = `value`, counted up to `limit` (enough to pick a plan). */
const legsCount = (column: Legs['column'], value: string, limit: number) =>
  `(SELECT count(*)::int FROM (SELECT FROM call_legs WHERE ${column} = ${value} LIMIT ${limit}) x)`;

/** The calls with a leg in `l`: fetched whole, or probed for each call another way found. */
const legsWay = (l: Legs, fetchWhole: boolean) =>
  fetchWhole
    ? `c.id IN (SELECT l.call_id FROM call_legs l WHERE l.${l.column} = ${l.value} OFFSET 0)`
    : `EXISTS (SELECT 1 FROM call_legs l WHERE l.call_id = c.id AND l.${l.column} = ${l.value} OFFSET 0)`;

/**
 * How `list` reaches one user's calls newest first depends on how many there are (measured on 5M
 * calls, test/bench/db.bench.ts); the result is the same either way, only the time differs.
 * - Fewer than FEW_LEGS legs (MANY_CONTACTS owned contacts): fetch them all, then sort.
 * - More: walk all calls newest first, testing each against a hash of the user's legs (contacts)
 *   built once, until the page is full.
 * - More than HASHED_LEGS legs (PostgreSQL's own statistics tell): building that hash costs more
 *   than the short walk it saves, so each call probes the legs index instead.
 */
const FEW_LEGS = 3_000;
const MANY_CONTACTS = 2_000;
const HASHED_LEGS = 30_000;
/** With the agent or extension filter on a manager's list: the smaller list of legs is fetched whole below this many. */
const PAIR_FEW_LEGS = 50_000;

export interface CallFilters {
  from?: Date;
  to?: Date;
  direction?: string;
  disposition?: string;
  state?: string;
  missed?: boolean;
  agentUserId?: string;
  agentExtension?: string;
  contactId?: string;
  organizationId?: string;
  externalNumber?: string;
  /** a digit fragment; with externalNumber: either one matches */
  numberDigits?: string;
}

export interface Cursor {
  startedAt: string;
  id: string;
}

export const encodeCursor = (c: Cursor) => Buffer.from(JSON.stringify([c.startedAt, c.id])).toString('base64url');

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** started_at to the microsecond, as SELECT_CALL spells it ('2024-04-01T12:00:00.000001Z'); strict, so PostgreSQL never sees a cast it rejects (a 500). */
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.\d{1,6})?(?:Z|[+-](\d{2})(?::?\d{2}){0,2})$/;

function isTimestamp(s: string): boolean {
  const m = TIMESTAMP.exec(s);
  if (!m) return false;
  const [y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0, offsetHours = 0] = m.slice(1).map((x) => Number(x ?? 0));
  const day = new Date(0);
  day.setUTCFullYear(y, mo - 1, d); // rolls Feb 30 over to March: caught below
  const realDay = y >= 1 && day.getUTCFullYear() === y && day.getUTCMonth() === mo - 1 && day.getUTCDate() === d;
  return realDay && h < 24 && mi < 60 && sec < 60 && offsetHours <= 15;
}

export function decodeCursor(raw: string): Cursor {
  try {
    const [startedAt, id] = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as unknown[];
    if (typeof startedAt === 'string' && typeof id === 'string' && UUID.test(id) && isTimestamp(startedAt)) {
      return { startedAt, id };
    }
  } catch {
    /* fall through */
  }
  throw invalid('Invalid query: cursor: is not a cursor returned by this API');
}

export type CallsRepository = ReturnType<typeof createCallsRepository>;

export function createCallsRepository(ds: DataSource) {
  async function hydrate(m: EntityManager, rows: CallRow[]): Promise<CallRecordDto[]> {
    if (!rows.length) return [];
    const ids = rows.map((r) => r.id);
    const legs: LegRow[] = await m.query(
      `SELECT call_id, extension, user_id, ringing_at, answered_at, ended_at, result
         FROM call_legs WHERE call_id = ANY($1::uuid[]) ORDER BY call_id, seq`,
      [ids],
    );
    const relatedPbxIds = [...new Set(rows.flatMap((r) => r.related_pbx_call_ids))];
    const related: { id: string; pbx_call_id: string }[] = relatedPbxIds.length
      ? await m.query(`SELECT id, pbx_call_id FROM calls WHERE pbx_call_id = ANY($1::text[])`, [relatedPbxIds])
      : [];
    const idByPbx = new Map(related.map((r) => [r.pbx_call_id, r.id]));
    const legsByCall = new Map<string, LegRow[]>();
    for (const l of legs) legsByCall.set(l.call_id, [...(legsByCall.get(l.call_id) ?? []), l]);
    return rows.map((r) =>
      toCallRecordDto(
        r,
        legsByCall.get(r.id) ?? [],
        r.related_pbx_call_ids.map((p) => idByPbx.get(p)).filter((x): x is string => !!x),
      ),
    );
  }

  /**
   * How many legs and owned contacts a user has, as far as `list` needs to know (up to FEW_LEGS,
   * MANY_CONTACTS; beyond, PostgreSQL's estimate of the legs). Kept a minute: it only picks a plan.
   */
  const sizes = new Map<string, { at: number; legs: number; owned: number; legsEstimate: number | null }>();
  async function sizeOf(userId: string) {
    const known = sizes.get(userId);
    if (known && Date.now() - known.at < 60_000) return known;
    const [row] = (await ds.query(
      `SELECT ${legsCount('user_id', '$1', FEW_LEGS)} AS legs,
              (SELECT count(*)::int FROM (SELECT FROM contacts WHERE owner_id = $1 LIMIT ${MANY_CONTACTS}) x) AS owned,
              (SELECT s.most_common_freqs[array_position(s.most_common_vals::text::uuid[], $1::uuid)] * t.reltuples
                 FROM pg_stats s, pg_class t
                WHERE s.schemaname = current_schema() AND s.tablename = 'call_legs' AND s.attname = 'user_id'
                  AND t.oid = 'call_legs'::regclass) AS legs_estimate`,
      [userId],
    )) as { legs: number; owned: number; legs_estimate: number | null }[];
    const size = { at: Date.now(), legs: row!.legs, owned: row!.owned, legsEstimate: row!.legs_estimate };
    if (sizes.size >= 10_000) sizes.clear();
    sizes.set(userId, size);
    return size;
  }

  /** The first `limit` of `rows` (one more was asked for), and the cursor after them if there are more. */
  async function page(rows: CallRow[], limit: number) {
    const items = rows.slice(0, limit);
    const last = items[items.length - 1];
    return {
      items: await hydrate(ds.manager, items),
      nextCursor: rows.length > limit && last ? encodeCursor({ startedAt: last.started_at_text, id: last.id }) : null,
    };
  }

  return {
    /** One call the principal may see, or null (a forbidden call is indistinguishable from none). */
    async findVisible(p: Principal, id: string, m: EntityManager = ds.manager): Promise<CallRecordDto | null> {
      const params: unknown[] = [id];
      const rows: CallRow[] = await m.query(`${SELECT_CALL} WHERE c.id = $1 AND ${accessClause(p, params)}`, params);
      return (await hydrate(m, rows))[0] ?? null;
    },

    async findByIds(ids: string[], m: EntityManager = ds.manager): Promise<CallRecordDto[]> {
      if (!ids.length) return [];
      const rows: CallRow[] = await m.query(`${SELECT_CALL} WHERE c.id = ANY($1::uuid[])`, [ids]);
      return hydrate(m, rows);
    },

    /**
     * Newest first, keyset-paginated on (started_at, id).
     *
     * A manager's access rule and the agent filter are ORs of ways to reach a call (as agent, on a
     * leg, through an owned contact). As one WHERE, PostgreSQL walks all calls newest first testing
     * each, and builds a hash of all the user's legs first: ~100 ms for a full-time agent, seconds
     * for one with few calls among millions (5M calls, test/bench/db.bench.ts). So the page is the
     * newest `limit + 1` of a UNION of branches, each the newest `limit + 1` of some of the ways
     * with every other condition inside: a way with few calls is fetched whole (FEW_LEGS,
     * MANY_CONTACTS), the others share one newest-first walk. The newest N of a union are among
     * the newest N of each of its parts: the rows and their order are exactly those of the single
     * WHERE, whichever branches run.
     */
    async list(p: Principal, f: CallFilters, limit: number, cursor?: Cursor) {
      const params: unknown[] = [];
      const param = (value: unknown) => {
        params.push(value);
        return `$${params.length}`;
      };
      const where: string[] = [];
      const add = (sql: (n: string) => string, value: unknown) => where.push(sql(param(value)));
      // a manager filtering on their own calls: those are all visible to them, the filter suffices
      const own = f.agentUserId !== undefined && f.agentUserId.toLowerCase() === p.userId.toLowerCase();
      const access = seesEverything(p) || own ? undefined : param(p.userId);
      let agent: string | undefined;
      if (f.from) add((n) => `c.started_at >= ${n}`, f.from);
      if (f.to) add((n) => `c.started_at < ${n}`, f.to);
      if (f.direction) add((n) => `c.direction = ${n}`, f.direction);
      if (f.disposition) add((n) => `c.disposition = ${n}`, f.disposition);
      if (f.state) add((n) => `c.state = ${n}`, f.state);
      if (f.missed !== undefined) add((n) => `c.missed = ${n}`, f.missed);
      if (f.agentUserId) agent = param(f.agentUserId);
      const extension = f.agentExtension ? param(f.agentExtension) : undefined;
      if (f.contactId) add((n) => `c.contact_id = ${n}`, f.contactId);
      if (f.organizationId) add((n) => `c.organization_id = ${n}`, f.organizationId);
      // both: the number itself, or a number it may be part of
      if (f.externalNumber && f.numberDigits) {
        where.push(`(c.external_number = ${param(f.externalNumber)} OR c.external_number LIKE ${param(`%${f.numberDigits}%`)})`);
      } else if (f.externalNumber) add((n) => `c.external_number = ${n}`, f.externalNumber);
      else if (f.numberDigits) add((n) => `c.external_number LIKE ${n}`, `%${f.numberDigits}%`);
      if (cursor) where.push(`(c.started_at, c.id) < (${param(cursor.startedAt)}::timestamptz, ${param(cursor.id)}::uuid)`);
      const n = param(limit + 1);
      const order = 'ORDER BY c.started_at DESC, c.id DESC';
      if (!access && !agent && !extension) {
        const rows: CallRow[] = await ds.query(
          `${SELECT_CALL} WHERE ${where.length ? where.join(' AND ') : 'TRUE'} ${order} LIMIT ${n}`,
          params,
        );
        return page(rows, limit);
      }
      /** the newest calls meeting `conds` and the filters, by whichever index PostgreSQL picks */
      const walk = (...conds: string[]) =>
        `(SELECT c.id, c.started_at FROM calls c WHERE ${[...conds, ...where].join(' AND ')} ${order} LIMIT ${n})`;
      /**
       * (a0 OR a1 OR …) AND (b0 OR b1 OR …) as one walk per pair (a_i AND b_j), ways 1 of both being
       * legs (of a user, of an extension). The smaller list of legs is fetched whole (when not
       * many); the larger one is probed call by call from whatever the other way found (hashing a
       * large list for every page cost more). Both on a leg: the smaller list's calls that have a
       * leg of the other too. `never`: a pair that cannot hold.
       */
      const pairs = (a: string[], la: Legs, b: string[], lb: Legs, never?: [number, number]) => {
        const aSmaller = la.count <= lb.count;
        const [small, large] = aSmaller ? [la, lb] : [lb, la];
        const wa = a.with(1, legsWay(la, aSmaller && la.count < PAIR_FEW_LEGS));
        const wb = b.with(1, legsWay(lb, !aSmaller && lb.count < PAIR_FEW_LEGS));
        const both =
          small.count < PAIR_FEW_LEGS
            ? `c.id IN (SELECT s.call_id FROM call_legs s WHERE s.${small.column} = ${small.value}
                           AND EXISTS (SELECT 1 FROM call_legs g WHERE g.call_id = s.call_id AND g.${large.column} = ${large.value}) OFFSET 0)`
            : null;
        return wa.flatMap((x, i) =>
          wb.flatMap((y, j) => {
            if (never && i === never[0] && j === never[1]) return [];
            return [i === 1 && j === 1 && both ? walk(both) : walk(x, y)];
          }),
        );
      };
      let branches: string[];
      if (extension) {
        // The extension's ways: its calls as agent (by their index), and its legs (fetched whole
        // when few, else probed call by call newest first). A manager's ways pair with them; a
        // supervisor needs only the extension's count.
        const [size] = (await ds.query(
          access
            ? `SELECT ${legsCount('extension', '$1', PAIR_FEW_LEGS)} AS ext, ${legsCount('user_id', '$2', PAIR_FEW_LEGS)} AS me,
                      EXISTS (SELECT 1 FROM extensions WHERE number = $1 AND user_id = $2) AS mine`
            : `SELECT ${legsCount('extension', '$1', FEW_LEGS)} AS ext, 0 AS me, false AS mine`,
          access ? [f.agentExtension, p.userId] : [f.agentExtension],
        )) as { ext: number; me: number; mine: boolean }[];
        const legs: Legs = { column: 'extension', value: extension, count: size!.ext };
        const ways = [`c.agent_extension = ${extension}`, legsWay(legs, legs.count < FEW_LEGS)];
        if (!access) branches = ways.map((b) => walk(b));
        // the manager's own extension: nearly all its calls are theirs to see, access only filters
        else if (size!.mine) branches = ways.map((b) => walk(b, `(${accessWays(access).join(' OR ')})`));
        else {
          branches = pairs(accessWays(access), { column: 'user_id', value: access, count: size!.me }, ways, legs);
        }
      } else if (access && agent) {
        // a manager's ways paired with the agent's, but for "agent is me AND agent is the other
        // user", which never holds
        const [size] = (await ds.query(
          `SELECT ${legsCount('user_id', '$1', PAIR_FEW_LEGS)} AS me, ${legsCount('user_id', '$2', PAIR_FEW_LEGS)} AS agent`,
          [p.userId, f.agentUserId],
        )) as { me: number; agent: number }[];
        branches = pairs(
          accessWays(access),
          { column: 'user_id', value: access, count: size!.me },
          agentWays(agent),
          { column: 'user_id', value: agent, count: size!.agent },
          [0, 0],
        );
      } else {
        // One walk newest first over the ways with many calls (a call on any of them counts),
        // and a fetch-all branch for each way with few.
        const user = (access ?? agent)!;
        const size = await sizeOf((access ? p.userId : f.agentUserId)!);
        const ways = [`c.agent_user_id = ${user}`];
        branches = [];
        if (size.legs < FEW_LEGS) {
          // OFFSET 0 keeps PostgreSQL from walking all calls and probing these few per call
          branches.push(walk(legsWay({ column: 'user_id', value: user, count: size.legs }, true)));
        } else {
          // in an OR the EXISTS stays a subplan, hashed once; OFFSET 0 keeps it probed per call
          const probed = (size.legsEstimate ?? 0) > HASHED_LEGS ? ' OFFSET 0' : '';
          ways.push(`EXISTS (SELECT 1 FROM call_legs l WHERE l.call_id = c.id AND l.user_id = ${user}${probed})`);
        }
        if (access && size.owned < MANY_CONTACTS) {
          // the newest calls of each contact, by calls__idx__contact_id
          branches.push(`(SELECT x.id, x.started_at FROM contacts oc2 CROSS JOIN LATERAL ${walk('c.contact_id = oc2.id')} x
                          WHERE oc2.owner_id = ${user} ORDER BY x.started_at DESC, x.id DESC LIMIT ${n})`);
        } else if (access) {
          ways.push(`EXISTS (SELECT 1 FROM contacts oc2 WHERE oc2.id = c.contact_id AND oc2.owner_id = ${user})`);
        }
        // with one way only, PostgreSQL walks its own index (agent_user_id)
        branches.push(walk(ways.length > 1 ? `(${ways.join(' OR ')})` : ways[0]!));
      }
      const rows: CallRow[] = await ds.query(
        `${SELECT_CALL} WHERE c.id IN (SELECT v.id FROM (${branches.join(' UNION ')}) v ORDER BY v.started_at DESC, v.id DESC LIMIT ${n})
         ${order}`,
        params,
      );
      return page(rows, limit);
    },
  };
}
