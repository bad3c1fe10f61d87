import type { DataSource, EntityManager } from 'typeorm';
import type { AuditService } from '../audit/audit.service';
import type { CallRecordDto } from '../calls/call-record';
import { accessClause, decodeCursor, encodeCursor, type CallsRepository } from '../calls/calls.repository';
import { conflict, forbidden, invalid, notFound } from '../errors';
import { seesEverything, type Principal } from '../users/principal';
import type { Role } from '../users/user.entity';
import type { ReviewState } from './review.entity';
import type { CommentBody, CommentDto, ListReviewsQuery, ReviewDto, ReviewPatchBody } from './reviews.dto';
import { reviewScore, valueProblem, type CriterionKind } from './score';

interface ReviewRow {
  id: string;
  call_id: string;
  reviewer_id: string | null;
  reviewer_name: string | null;
  agent_user_id: string | null;
  agent_name: string | null;
  state: ReviewState;
  score: number | null;
  summary: string | null;
  created_at: Date;
  updated_at: Date;
  submitted_at: Date | null;
}

interface CommentRow {
  id: string;
  review_id: string;
  parent_id: string | null;
  author_id: string | null;
  author_name: string | null;
  author_role: Role | null;
  at_seconds: number | null;
  body: string;
  created_at: Date;
}

const toCommentDto = (c: CommentRow): CommentDto => ({
  id: c.id,
  parentId: c.parent_id,
  author: c.author_id ? { id: c.author_id, name: c.author_name ?? '', role: c.author_role ?? 'manager' } : null,
  atSeconds: c.at_seconds,
  body: c.body,
  createdAt: c.created_at.toISOString(),
});

/** submitted_at as a cursor spells it (the cursor of GET /api/calls, on another timestamp) */
const SUBMITTED_AT_TEXT = `to_char(rv.submitted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

export type ReviewsService = ReturnType<typeof createReviewsService>;

/**
 * Reviews of calls. Who sees what:
 * - supervisors and admins: every review, drafts included; they create their own review of a call
 *   (one per call and reviewer) and comment on any review;
 * - a manager: the submitted reviews of the calls they may see (calls.repository's access rule), and
 *   may reply to them; anything else is a 404, as if it did not exist;
 * - only the reviewer or an admin changes a review. A submitted review stays editable by them (its
 *   updated_at moves, submitted_at keeps the first submission); its answers can change but not be
 *   cleared, so it keeps a complete scorecard. Submitting needs every active criterion answered.
 */
export function createReviewsService(deps: { ds: DataSource; calls: CallsRepository; audit: AuditService }) {
  const { ds, calls, audit } = deps;

  /** Review DTOs for `ids`, in that order. */
  async function dtos(ids: string[], m: EntityManager = ds.manager): Promise<ReviewDto[]> {
    if (!ids.length) return [];
    const rows: ReviewRow[] = await m.query(
      `SELECT rv.id, rv.call_id, rv.reviewer_id, ru.name AS reviewer_name, rv.agent_user_id, au.name AS agent_name,
              rv.state, rv.score, rv.summary, rv.created_at, rv.updated_at, rv.submitted_at
         FROM reviews rv
         LEFT JOIN users ru ON ru.id = rv.reviewer_id
         LEFT JOIN users au ON au.id = rv.agent_user_id
        WHERE rv.id = ANY($1::uuid[])`,
      [ids],
    );
    const scores: { review_id: string; criterion_id: string; value: number; name: string; kind: CriterionKind; weight: number }[] =
      await m.query(
        `SELECT s.review_id, s.criterion_id, s.value, rc.name, rc.kind, rc.weight
           FROM review_scores s JOIN review_criteria rc ON rc.id = s.criterion_id
          WHERE s.review_id = ANY($1::uuid[])
          ORDER BY rc.position, rc.created_at, rc.id`,
        [ids],
      );
    const comments: CommentRow[] = await m.query(
      `SELECT cm.id, cm.review_id, cm.parent_id, cm.author_id, u.name AS author_name, u.role AS author_role,
              cm.at_seconds, cm.body, cm.created_at
         FROM review_comments cm LEFT JOIN users u ON u.id = cm.author_id
        WHERE cm.review_id = ANY($1::uuid[])
        ORDER BY cm.created_at, cm.id`,
      [ids],
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.flatMap((id) => {
      const r = byId.get(id);
      if (!r) return [];
      return [
        {
          id: r.id,
          callId: r.call_id,
          state: r.state,
          score: r.score,
          summary: r.summary,
          reviewer: r.reviewer_id ? { id: r.reviewer_id, name: r.reviewer_name ?? '' } : null,
          agent: r.agent_user_id ? { id: r.agent_user_id, name: r.agent_name ?? '' } : null,
          scores: scores
            .filter((s) => s.review_id === id)
            .map((s) => ({ criterionId: s.criterion_id, name: s.name, kind: s.kind, weight: s.weight, value: s.value })),
          comments: comments.filter((c) => c.review_id === id).map(toCommentDto),
          createdAt: r.created_at.toISOString(),
          updatedAt: r.updated_at.toISOString(),
          submittedAt: r.submitted_at ? r.submitted_at.toISOString() : null,
        },
      ];
    });
  }

  /** The review if `p` may see it (managers: submitted, on a call they may see), else a 404. */
  async function visible(p: Principal, id: string, m: EntityManager = ds.manager, lock = false) {
    const [row] = (await m.query(`SELECT id, call_id, reviewer_id, state FROM reviews WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, [
      id,
    ])) as { id: string; call_id: string; reviewer_id: string | null; state: ReviewState }[];
    if (!row) throw notFound('Review');
    if (!seesEverything(p) && (row.state !== 'submitted' || !(await calls.findVisible(p, row.call_id, m)))) throw notFound('Review');
    return row;
  }

  async function callVisible(p: Principal, callId: string): Promise<CallRecordDto> {
    const call = await calls.findVisible(p, callId);
    if (!call) throw notFound('Call');
    return call;
  }

  return {
    /** The reviews of a call `p` may see (managers: the submitted ones), oldest first. */
    async forCall(p: Principal, callId: string): Promise<ReviewDto[]> {
      await callVisible(p, callId);
      const rows: { id: string }[] = await ds.query(
        `SELECT id FROM reviews WHERE call_id = $1 ${seesEverything(p) ? '' : `AND state = 'submitted'`} ORDER BY created_at, id`,
        [callId],
      );
      return dtos(rows.map((r) => r.id));
    },

    /** The caller's own review of the call: created as a draft, or the existing one. */
    async start(p: Principal, callId: string): Promise<{ review: ReviewDto; created: boolean }> {
      if (!seesEverything(p)) throw forbidden('Only supervisors and admins review calls');
      const call = await callVisible(p, callId);
      if (call.state !== 'ended') throw conflict('The call is still in progress: review it once it has ended');
      // the agent is the call's agent when the review starts
      const inserted: { id: string }[] = await ds.query(
        `INSERT INTO reviews (call_id, reviewer_id, agent_user_id) SELECT c.id, $2, c.agent_user_id FROM calls c WHERE c.id = $1
         ON CONFLICT ON CONSTRAINT reviews__uq__call_id_reviewer_id DO NOTHING RETURNING id`,
        [callId, p.userId],
      );
      const id =
        inserted[0]?.id ??
        ((await ds.query(`SELECT id FROM reviews WHERE call_id = $1 AND reviewer_id = $2`, [callId, p.userId])) as { id: string }[])[0]!.id;
      return { review: (await dtos([id]))[0]!, created: inserted.length > 0 };
    },

    async get(p: Principal, id: string): Promise<ReviewDto> {
      await visible(p, id);
      return (await dtos([id]))[0]!;
    },

    /** Submitted reviews `p` may see, newest submission first, each with its call. */
    async list(p: Principal, q: ListReviewsQuery): Promise<{ items: (ReviewDto & { call: CallRecordDto })[]; nextCursor: string | null }> {
      const params: unknown[] = [];
      const where = [`rv.state = 'submitted'`, accessClause(p, params)];
      if (q.agent) {
        params.push(q.agent);
        where.push(`rv.agent_user_id = $${params.length}::uuid`);
      }
      if (q.cursor) {
        const cursor = decodeCursor(q.cursor);
        params.push(cursor.startedAt, cursor.id);
        where.push(`(rv.submitted_at, rv.id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
      }
      params.push(q.limit + 1);
      const rows: { id: string; call_id: string; at_text: string }[] = await ds.query(
        `SELECT rv.id, rv.call_id, ${SUBMITTED_AT_TEXT} AS at_text
           FROM reviews rv JOIN calls c ON c.id = rv.call_id
          WHERE ${where.join(' AND ')}
          ORDER BY rv.submitted_at DESC, rv.id DESC LIMIT $${params.length}`,
        params,
      );
      const page = rows.slice(0, q.limit);
      const reviews = await dtos(page.map((r) => r.id));
      const callById = new Map((await calls.findByIds([...new Set(page.map((r) => r.call_id))])).map((c) => [c.id, c]));
      const last = page[page.length - 1];
      return {
        items: reviews.flatMap((r) => {
          const call = callById.get(r.callId);
          return call ? [{ ...r, call }] : [];
        }),
        nextCursor: rows.length > q.limit && last ? encodeCursor({ startedAt: last.at_text, id: last.id }) : null,
      };
    },

    /** Answers, summary, submission: by the reviewer or an admin. */
    async update(p: Principal, id: string, body: ReviewPatchBody): Promise<ReviewDto> {
      const outcome = await ds.transaction(async (m) => {
        const review = await visible(p, id, m, true);
        if (review.reviewer_id !== p.userId && p.role !== 'admin') throw forbidden('Only the reviewer or an admin may change a review');
        const wasSubmitted = review.state === 'submitted';
        if (body.scores?.length) {
          const ids = body.scores.map((s) => s.criterionId);
          const dup = ids.find((x, i) => ids.indexOf(x) !== i);
          if (dup) throw invalid(`Invalid body: scores: criterion ${dup} is given twice`);
          const criteria: { id: string; name: string; kind: CriterionKind; active: boolean; scored: boolean }[] = await m.query(
            `SELECT rc.id, rc.name, rc.kind, rc.active,
                    EXISTS (SELECT 1 FROM review_scores s WHERE s.review_id = $2 AND s.criterion_id = rc.id) AS scored
               FROM review_criteria rc WHERE rc.id = ANY($1::uuid[])`,
            [ids, id],
          );
          const byId = new Map(criteria.map((c) => [c.id, c]));
          for (const [i, s] of body.scores.entries()) {
            const c = byId.get(s.criterionId);
            if (!c) throw invalid(`Invalid body: scores.${i}.criterionId: no criterion ${s.criterionId}`);
            if (s.value === null) {
              if (wasSubmitted) throw invalid(`Invalid body: scores.${i}.value: a submitted review's answers can be changed, not cleared`);
              await m.query(`DELETE FROM review_scores WHERE review_id = $1 AND criterion_id = $2`, [id, c.id]);
              continue;
            }
            const problem = valueProblem(c.kind, s.value);
            if (problem) throw invalid(`Invalid body: scores.${i}.value: ${problem} ("${c.name}")`);
            if (!c.active && !c.scored) throw invalid(`Invalid body: scores.${i}.criterionId: "${c.name}" is no longer in use`);
            await m.query(
              `INSERT INTO review_scores (review_id, criterion_id, value) VALUES ($1, $2, $3)
               ON CONFLICT (review_id, criterion_id) DO UPDATE SET value = EXCLUDED.value`,
              [id, c.id, s.value],
            );
          }
        }
        if (body.submit) {
          const missing: { name: string }[] = await m.query(
            `SELECT rc.name FROM review_criteria rc
              WHERE rc.active AND NOT EXISTS (SELECT 1 FROM review_scores s WHERE s.review_id = $1 AND s.criterion_id = rc.id)
              ORDER BY rc.position, rc.created_at`,
            [id],
          );
          if (missing.length) {
            throw invalid(`Score every criterion before submitting; not scored: ${missing.map((x) => x.name).join(', ')}`, {
              missing: missing.map((x) => x.name),
            });
          }
        }
        const scored: { kind: CriterionKind; weight: number; value: number }[] = await m.query(
          `SELECT rc.kind, rc.weight, s.value FROM review_scores s JOIN review_criteria rc ON rc.id = s.criterion_id WHERE s.review_id = $1`,
          [id],
        );
        await m.query(
          `UPDATE reviews SET score = $2,
                  summary = CASE WHEN $3::boolean THEN $4 ELSE summary END,
                  state = CASE WHEN $5::boolean THEN 'submitted' ELSE state END,
                  submitted_at = CASE WHEN $5::boolean THEN coalesce(submitted_at, now()) ELSE submitted_at END,
                  updated_at = now()
            WHERE id = $1`,
          [id, reviewScore(scored), body.summary !== undefined, body.summary || null, body.submit === true],
        );
        return { review: (await dtos([id], m))[0]!, wasSubmitted };
      });
      const r = outcome.review;
      if (body.submit && !outcome.wasSubmitted) {
        await audit.record(p, 'review.submit', 'review', id, { callId: r.callId, score: r.score });
      } else if (outcome.wasSubmitted) {
        await audit.record(p, 'review.update', 'review', id, { callId: r.callId, score: r.score, fields: Object.keys(body) });
      }
      return r;
    },

    /** A remark, optionally at a moment of the recording (within its length) or a reply to another. */
    async comment(p: Principal, reviewId: string, body: CommentBody, ip: string | null = null): Promise<CommentDto> {
      const review = await visible(p, reviewId);
      const atSeconds = body.atSeconds ?? null;
      if (atSeconds !== null) {
        const [rec] = (await ds.query(`SELECT duration_seconds FROM recordings WHERE call_id = $1`, [review.call_id])) as {
          duration_seconds: number | null;
        }[];
        const length = rec?.duration_seconds ?? null;
        if (length !== null && atSeconds > length) {
          throw invalid(`Invalid body: atSeconds: must be between 0 and ${length} (the recording's length in seconds)`);
        }
      }
      if (body.parentId) {
        const parent = await ds.query(`SELECT 1 FROM review_comments WHERE id = $1 AND review_id = $2`, [body.parentId, reviewId]);
        if (!parent.length) throw invalid(`Invalid body: parentId: is not a comment of this review`);
      }
      const [row] = (await ds.query(
        `INSERT INTO review_comments (review_id, parent_id, author_id, at_seconds, body) VALUES ($1, $2, $3, $4, $5)
         RETURNING id, review_id, parent_id, author_id, at_seconds, body, created_at`,
        [reviewId, body.parentId ?? null, p.userId, atSeconds, body.body],
      )) as CommentRow[];
      await audit.record(
        p,
        'review.comment',
        'review',
        reviewId,
        { callId: review.call_id, commentId: row!.id, reply: !!body.parentId, atSeconds },
        ip,
      );
      return toCommentDto({ ...row!, author_name: p.name, author_role: p.role });
    },
  };
}
