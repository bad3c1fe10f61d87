import type { DataSource, EntityManager } from 'typeorm';
import { invalid } from '../errors';
import { seesEverything, type Principal } from '../users/principal';
import type { CallRecordDto } from './call-record';
import { toCallRecordDto, type CallRow, type LegRow } from './call.dto';

/** The columns every call query selects: the row and the names it shows. */
const SELECT_CALL = `
  SELECT c.id, c.version, c.pbx_call_id, c.direction, c.state, c.disposition, c.missed,
         c.external_number, c.external_number_raw, c.tracking_number,
         c.started_at, to_char(c.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS started_at_text, c.answered_at, c.ended_at,
         c.agent_extension, c.agent_user_id, au.name AS agent_name, c.hangup_by, c.end_reason,
         c.contact_id, trim(ct.first_name || ' ' || coalesce(ct.last_name, '')) AS contact_name,
         c.organization_id, org.name AS organization_name, c.contact_match, c.related_pbx_call_ids,
         c.recording_file, r.id AS recording_id, r.state AS recording_state, r.duration_seconds AS recording_duration,
         c.topic, c.outcome_id, oc.name AS outcome_name, c.notes
    FROM calls c
    LEFT JOIN users au ON au.id = c.agent_user_id
    LEFT JOIN contacts ct ON ct.id = c.contact_id
    LEFT JOIN organizations org ON org.id = c.organization_id
    LEFT JOIN recordings r ON r.call_id = c.id
    LEFT JOIN outcomes oc ON oc.id = c.outcome_id`;

/**
 * The access rule, in SQL, for every query that returns calls: supervisors and admins see all; a
 * manager sees the calls of their own extensions (as agent or on any leg) and of contacts they own.
 */
function accessClause(p: Principal, params: unknown[]): string {
  if (seesEverything(p)) return 'TRUE';
  params.push(p.userId);
  const me = `$${params.length}`;
  return `(c.agent_user_id = ${me}
           OR EXISTS (SELECT 1 FROM call_legs l WHERE l.call_id = c.id AND l.user_id = ${me})
           OR EXISTS (SELECT 1 FROM contacts oc2 WHERE oc2.id = c.contact_id AND oc2.owner_id = ${me}))`;
}

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

    /** Newest first, keyset-paginated on (started_at, id). */
    async list(p: Principal, f: CallFilters, limit: number, cursor?: Cursor) {
      const params: unknown[] = [];
      const where: string[] = [accessClause(p, params)];
      const add = (sql: (n: string) => string, value: unknown) => {
        params.push(value);
        where.push(sql(`$${params.length}`));
      };
      if (f.from) add((n) => `c.started_at >= ${n}`, f.from);
      if (f.to) add((n) => `c.started_at < ${n}`, f.to);
      if (f.direction) add((n) => `c.direction = ${n}`, f.direction);
      if (f.disposition) add((n) => `c.disposition = ${n}`, f.disposition);
      if (f.state) add((n) => `c.state = ${n}`, f.state);
      if (f.missed !== undefined) add((n) => `c.missed = ${n}`, f.missed);
      if (f.agentUserId) {
        add((n) => `(c.agent_user_id = ${n} OR EXISTS (SELECT 1 FROM call_legs fl WHERE fl.call_id = c.id AND fl.user_id = ${n}))`, f.agentUserId);
      }
      if (f.agentExtension) {
        add((n) => `(c.agent_extension = ${n} OR EXISTS (SELECT 1 FROM call_legs fl WHERE fl.call_id = c.id AND fl.extension = ${n}))`, f.agentExtension);
      }
      if (f.contactId) add((n) => `c.contact_id = ${n}`, f.contactId);
      if (f.organizationId) add((n) => `c.organization_id = ${n}`, f.organizationId);
      if (f.externalNumber) add((n) => `c.external_number = ${n}`, f.externalNumber);
      if (f.numberDigits) add((n) => `c.external_number LIKE ${n}`, `%${f.numberDigits}%`);
      if (cursor) {
        params.push(cursor.startedAt, cursor.id);
        where.push(`(c.started_at, c.id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
      }
      params.push(limit + 1);
      const rows: CallRow[] = await ds.query(
        `${SELECT_CALL} WHERE ${where.join(' AND ')} ORDER BY c.started_at DESC, c.id DESC LIMIT $${params.length}`,
        params,
      );
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      return {
        items: await hydrate(ds.manager, page),
        nextCursor: rows.length > limit && last ? encodeCursor({ startedAt: last.started_at_text, id: last.id }) : null,
      };
    },
  };
}
