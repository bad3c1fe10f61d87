import type { DataSource } from 'typeorm';
import { decodeCursor, encodeCursor, STARTED_AT_TEXT, type CallsRepository } from '../calls/calls.repository';
import type { Principal } from '../users/principal';
import type { QueueItem, ReviewQueueQuery, ReviewSummary } from './reviews.dto';

/** Talk seconds of a call, as the DTO derives them: answer → end, 0 when never answered. */
const TALK_SECONDS = `coalesce(extract(epoch FROM c.ended_at - c.answered_at), 0)`;

/**
 * The supervisors' review queue: ended calls with a stored recording, newest first, keyset-paginated
 * on (started_at, id) with the cursor of GET /api/calls.
 *
 * Filters: `agent` matches the call's agent or any leg's user; `minDuration`/`maxDuration` are talk
 * seconds; the analytics filters (talk share, silence, overtalk, longest monologue) read the
 * recording's copies of its talk analytics, so a recording without analytics (mono) never matches
 * one; `reviewed=false` keeps the calls without a submitted review by anyone, `true` those with one.
 *
 * `sample=N` keeps N% of each agent's calls (rounded up; the calls without an agent form one group
 * of their own), chosen by ranking each agent's calls on md5(call id ‖ seed): the same filters and
 * seed give the same sample on every page and every day, another seed another sample. The sample is
 * drawn before `reviewed` applies, so reviewing a sampled call takes it out of a `reviewed=false`
 * queue without drawing another one in. The seed defaults to the empty string.
 */
export function createReviewQueue(deps: { ds: DataSource; calls: CallsRepository }) {
  const { ds, calls } = deps;

  async function summaries(p: Principal, callIds: string[]): Promise<Map<string, ReviewSummary>> {
    if (!callIds.length) return new Map();
    const rows: {
      call_id: string;
      id: string;
      state: ReviewSummary['state'];
      score: number | null;
      reviewer_name: string | null;
      submitted_at: Date | null;
    }[] = await ds.query(
      `SELECT DISTINCT ON (rv.call_id) rv.call_id, rv.id, rv.state, rv.score, u.name AS reviewer_name, rv.submitted_at
         FROM reviews rv LEFT JOIN users u ON u.id = rv.reviewer_id
        WHERE rv.call_id = ANY($1::uuid[]) AND (rv.reviewer_id = $2::uuid OR rv.state = 'submitted')
        ORDER BY rv.call_id, coalesce(rv.reviewer_id = $2::uuid, false) DESC, rv.submitted_at DESC NULLS LAST, rv.id`,
      [callIds, p.userId],
    );
    return new Map(
      rows.map((r) => [
        r.call_id,
        {
          id: r.id,
          state: r.state,
          score: r.score,
          reviewerName: r.reviewer_name,
          submittedAt: r.submitted_at ? r.submitted_at.toISOString() : null,
        },
      ]),
    );
  }

  return {
    async list(p: Principal, q: ReviewQueueQuery): Promise<{ items: QueueItem[]; nextCursor: string | null }> {
      const params: unknown[] = [];
      const param = (value: unknown) => {
        params.push(value);
        return `$${params.length}`;
      };
      const where = [`c.state = 'ended'`];
      const add = (sql: (n: string) => string, value: unknown) => {
        if (value !== undefined) where.push(sql(param(value)));
      };
      add((n) => `c.started_at >= ${n}::timestamptz`, q.from);
      add((n) => `c.started_at < ${n}::timestamptz`, q.to);
      add(
        (n) => `(c.agent_user_id = ${n}::uuid OR EXISTS (SELECT 1 FROM call_legs fl WHERE fl.call_id = c.id AND fl.user_id = ${n}::uuid))`,
        q.agent,
      );
      add((n) => `c.outcome_id = ${n}::uuid`, q.outcome);
      add((n) => `c.direction = ${n}`, q.direction);
      add((n) => `${TALK_SECONDS} >= ${n}`, q.minDuration);
      add((n) => `${TALK_SECONDS} <= ${n}`, q.maxDuration);
      add((n) => `r.agent_talk_share >= ${n}`, q.minTalkShare);
      add((n) => `r.agent_talk_share <= ${n}`, q.maxTalkShare);
      add((n) => `r.silence_share >= ${n}`, q.minSilence);
      add((n) => `r.silence_share <= ${n}`, q.maxSilence);
      add((n) => `r.overtalk_share >= ${n}`, q.minOvertalk);
      add((n) => `r.overtalk_share <= ${n}`, q.maxOvertalk);
      add((n) => `r.longest_monologue_seconds >= ${n}`, q.minMonologue);

      // applied after sampling (see above), with the page's cursor
      const after: string[] = [];
      if (q.reviewed !== undefined) {
        after.push(`${q.reviewed ? '' : 'NOT '}EXISTS (SELECT 1 FROM reviews rv WHERE rv.call_id = c.id AND rv.state = 'submitted')`);
      }
      if (q.cursor) {
        const cursor = decodeCursor(q.cursor);
        after.push(`(c.started_at, c.id) < (${param(cursor.startedAt)}::timestamptz, ${param(cursor.id)}::uuid)`);
      }
      const limit = param(q.limit + 1);
      const order = `ORDER BY c.started_at DESC, c.id DESC LIMIT ${limit}`;
      const filtered = `FROM calls c JOIN recordings r ON r.call_id = c.id AND r.state = 'stored' WHERE ${where.join(' AND ')}`;

      let sql: string;
      if (q.sample === undefined) {
        sql = `SELECT c.id, ${STARTED_AT_TEXT} AS started_at_text ${filtered} ${after.map((a) => `AND ${a}`).join(' ')} ${order}`;
      } else {
        const pct = param(q.sample);
        const seed = param(q.seed ?? '');
        sql = `
          WITH ranked AS (
            SELECT c.id,
                   row_number() OVER (PARTITION BY c.agent_user_id ORDER BY md5(c.id::text || ${seed}), c.id) AS rank,
                   count(*) OVER (PARTITION BY c.agent_user_id) AS total
              ${filtered})
          SELECT c.id, ${STARTED_AT_TEXT} AS started_at_text
            FROM ranked s JOIN calls c ON c.id = s.id
           WHERE s.rank <= ceil(s.total * ${pct}::numeric / 100) ${after.map((a) => `AND ${a}`).join(' ')}
           ${order}`;
      }
      const rows: { id: string; started_at_text: string }[] = await ds.query(sql, params);
      const page = rows.slice(0, q.limit);
      const byId = new Map((await calls.findByIds(page.map((r) => r.id))).map((c) => [c.id, c]));
      const reviews = await summaries(
        p,
        page.map((r) => r.id),
      );
      const last = page[page.length - 1];
      return {
        items: page.flatMap((r) => {
          const call = byId.get(r.id);
          return call ? [{ call, review: reviews.get(r.id) ?? null }] : [];
        }),
        nextCursor: rows.length > q.limit && last ? encodeCursor({ startedAt: last.started_at_text, id: last.id }) : null,
      };
    },
  };
}

export type ReviewQueue = ReturnType<typeof createReviewQueue>;
