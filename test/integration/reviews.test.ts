import crypto from 'node:crypto';
import request from 'supertest';
import type { CallRecordDto } from '../../src/calls/call-record';
import type { CommentDto, CriterionDto, QueueItem, ReviewDto } from '../../src/reviews/reviews.dto';
import { createTestContext, type TestContext } from '../helpers/test-context';

/**
 * Reviews over real HTTP on the real app and database: the admin's scorecard criteria, a
 * supervisor's review of a call (draft → scores → submit), comments pinned to a moment of the
 * recording and the manager's replies, who may see and do what, and the supervisors' queue.
 */
let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.close());

type Agent = Awaited<ReturnType<TestContext['f']['login']>>['agent'];
type User = Awaited<ReturnType<TestContext['f']['login']>>['user'];
type CallFields = Parameters<TestContext['f']['call']>[0];

const unique = () => crypto.randomBytes(4).toString('hex');

const sessions = new Map<string, Promise<{ user: User; agent: Agent }>>();
/** A logged-in user of `role`, shared by the tests that need just someone with that role (a login costs a bcrypt). */
function someone(role: 'admin' | 'supervisor' | 'manager', key: string = role): Promise<{ user: User; agent: Agent }> {
  if (!sessions.has(key)) sessions.set(key, ctx.f.login(role));
  return sessions.get(key)!;
}

/** An API token of `userId`, made by an admin through the API. */
async function tokenOf(userId: string): Promise<string> {
  const { agent } = await someone('admin');
  const res = await agent.post('/api/tokens').send({ name: `t-${unique()}`, userId });
  expect(res.status).toBe(201);
  return res.body.token as string;
}

/** An ended call taken by `agentUserId` on their extension, with a stored recording of 57 s. */
async function recordedCall(
  agentUserId: string | null,
  fields: CallFields = {},
  recording: Parameters<TestContext['f']['recording']>[1] = {},
) {
  const id = await ctx.f.call({ agentUserId, agentExtension: agentUserId ? ctx.f.extension() : null, ...fields });
  await ctx.f.recording(id, recording);
  return id;
}

async function activeCriteria(agent: Agent): Promise<CriterionDto[]> {
  const res = await agent.get('/api/review-criteria');
  expect(res.status).toBe(200);
  return res.body.items as CriterionDto[];
}

/** A submitted review of `callId` by `reviewer` through the API, every active criterion answered with its best value. */
async function submittedReview(reviewer: Agent, callId: string): Promise<ReviewDto> {
  const started = await reviewer.post(`/api/calls/${callId}/reviews`);
  expect([200, 201]).toContain(started.status);
  const scores = (await activeCriteria(reviewer)).map((c) => ({ criterionId: c.id, value: c.kind === 'yes_no' ? 1 : 5 }));
  const res = await reviewer.patch(`/api/reviews/${started.body.id}`).send({ scores, submit: true });
  expect([res.status, res.body.error]).toEqual([200, undefined]);
  return res.body as ReviewDto;
}

async function auditOf(entityId: string) {
  const rows: { action: string; actor_user_id: string; details: Record<string, unknown> }[] = await ctx.ds.query(
    `SELECT action, actor_user_id, details FROM audit_log WHERE entity_id = $1 ORDER BY at`,
    [entityId],
  );
  return rows;
}

describe('review criteria', () => {
  it('an admin creates, lists in order, changes and deletes them; audited', async () => {
    const { agent: admin, user } = await someone('admin');
    const name = `Greets the customer ${unique()}`;
    const created = await admin.post('/api/review-criteria').send({ name, description: 'By name', kind: 'yes_no', weight: 2 });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: expect.any(String),
      name,
      description: 'By name',
      kind: 'yes_no',
      weight: 2,
      position: expect.any(Number),
      active: true,
    });
    const second = await admin.post('/api/review-criteria').send({ name: `Finds the need ${unique()}`, kind: 'scale', weight: 3 });
    expect(second.body.position).toBeGreaterThan(created.body.position);

    const list = (await admin.get('/api/review-criteria')).body.items as CriterionDto[];
    const mine = list.filter((c) => [created.body.id, second.body.id].includes(c.id));
    expect(mine.map((c) => c.id)).toEqual([created.body.id, second.body.id]);
    const positions = list.map((c) => c.position);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));

    const patched = await admin.patch(`/api/review-criteria/${created.body.id}`).send({ weight: 5, description: null });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ weight: 5, description: null, kind: 'yes_no', name });

    const removed = await admin.delete(`/api/review-criteria/${second.body.id}`);
    expect(removed.body).toEqual({ deleted: true, deactivated: false });
    expect((await admin.get('/api/review-criteria?all=true')).body.items.map((c: CriterionDto) => c.id)).not.toContain(second.body.id);

    expect((await auditOf(created.body.id)).map((a) => [a.action, a.actor_user_id])).toEqual([
      ['review-criterion.create', user.id],
      ['review-criterion.update', user.id],
    ]);
    expect((await auditOf(second.body.id)).map((a) => a.action)).toEqual(['review-criterion.create', 'review-criterion.delete']);
    await admin.delete(`/api/review-criteria/${created.body.id}`);
  });

  it('validates: kind, weight 1..100, a unique name; 404 for an unknown id', async () => {
    const { agent: admin } = await someone('admin');
    const bad = [
      [{ name: 'x', kind: 'stars', weight: 1 }, /kind/],
      [{ name: 'x', kind: 'scale', weight: 0 }, /weight: must be between 1 and 100/],
      [{ name: 'x', kind: 'scale', weight: 101 }, /weight: must be between 1 and 100/],
      [{ name: 'x', kind: 'scale', weight: 1.5 }, /weight: must be a whole number/],
      [{ name: '', kind: 'scale', weight: 1 }, /name/],
      [{ name: 'x', kind: 'scale' }, /weight/],
    ] as const;
    for (const [body, message] of bad) {
      const res = await admin.post('/api/review-criteria').send(body);
      expect([res.status, res.body.error.message]).toEqual([400, expect.stringMatching(message)]);
    }
    const name = `Unique ${unique()}`;
    expect((await admin.post('/api/review-criteria').send({ name, kind: 'scale', weight: 1 })).status).toBe(201);
    const dup = await admin.post('/api/review-criteria').send({ name: name.toUpperCase(), kind: 'yes_no', weight: 1 });
    expect([dup.status, dup.body.error.message]).toEqual([409, expect.stringContaining('already exists')]);
    const missing = await admin.patch(`/api/review-criteria/${crypto.randomUUID()}`).send({ weight: 3 });
    expect(missing.status).toBe(404);
    expect((await admin.patch(`/api/review-criteria/${crypto.randomUUID()}`).send({})).status).toBe(400);
    const created = (await admin.get('/api/review-criteria')).body.items.find((c: CriterionDto) => c.name === name);
    await admin.delete(`/api/review-criteria/${created.id}`);
  });

  it('only admins change them (403 for supervisors and managers, 401 anonymous); everyone reads the active ones', async () => {
    const { agent: admin } = await someone('admin');
    const c = (await admin.post('/api/review-criteria').send({ name: `Read ${unique()}`, kind: 'scale', weight: 1 })).body as CriterionDto;
    for (const role of ['supervisor', 'manager'] as const) {
      const { agent } = await someone(role);
      expect((await agent.post('/api/review-criteria').send({ name: `N ${unique()}`, kind: 'scale', weight: 1 })).status).toBe(403);
      expect((await agent.patch(`/api/review-criteria/${c.id}`).send({ weight: 9 })).status).toBe(403);
      expect((await agent.delete(`/api/review-criteria/${c.id}`)).status).toBe(403);
      const list = await agent.get('/api/review-criteria');
      expect(list.status).toBe(200);
      expect(list.body.items.map((x: CriterionDto) => x.id)).toContain(c.id);
    }
    expect((await request(ctx.app).get('/api/review-criteria')).status).toBe(401);
    expect((await request(ctx.app).post('/api/review-criteria').send({ name: 'x', kind: 'scale', weight: 1 })).status).toBe(401);
    await admin.delete(`/api/review-criteria/${c.id}`);
  });

  it('one used in a review is deactivated, not deleted: kept in the review, hidden from the scorecard, kind fixed', async () => {
    const { agent: admin } = await someone('admin');
    const { agent: supervisor } = await someone('supervisor');
    const { agent: manager } = await someone('manager');
    const c = (await admin.post('/api/review-criteria').send({ name: `Used ${unique()}`, kind: 'scale', weight: 4 })).body as CriterionDto;
    const callId = await recordedCall(null);
    const review = (await supervisor.post(`/api/calls/${callId}/reviews`)).body as ReviewDto;
    expect((await supervisor.patch(`/api/reviews/${review.id}`).send({ scores: [{ criterionId: c.id, value: 3 }] })).status).toBe(200);

    const kind = await admin.patch(`/api/review-criteria/${c.id}`).send({ kind: 'yes_no' });
    expect([kind.status, kind.body.error.message]).toEqual([409, expect.stringContaining('kind cannot change')]);
    const removed = await admin.delete(`/api/review-criteria/${c.id}`);
    expect([removed.status, removed.body]).toEqual([200, { deleted: false, deactivated: true }]);

    expect((await admin.get('/api/review-criteria')).body.items.map((x: CriterionDto) => x.id)).not.toContain(c.id);
    const all = (await admin.get('/api/review-criteria?all=true')).body.items as CriterionDto[];
    expect(all.find((x) => x.id === c.id)).toMatchObject({ active: false });
    // ?all=true is for admins: others still get the active ones
    expect((await manager.get('/api/review-criteria?all=true')).body.items.map((x: CriterionDto) => x.id)).not.toContain(c.id);
    const kept = (await supervisor.get(`/api/reviews/${review.id}`)).body as ReviewDto;
    expect(kept.scores).toEqual([{ criterionId: c.id, name: c.name, kind: 'scale', weight: 4, value: 3 }]);
    // reactivated through PATCH
    expect((await admin.patch(`/api/review-criteria/${c.id}`).send({ active: true })).body.active).toBe(true);
    expect((await auditOf(c.id)).map((a) => a.action)).toEqual([
      'review-criterion.create',
      'review-criterion.delete',
      'review-criterion.update',
    ]);
    await admin.patch(`/api/review-criteria/${c.id}`).send({ active: false });
  });
});

describe('a review: draft, scores, submission', () => {
  /** The four criteria of these tests, alone on the scorecard (earlier tests' and runs' criteria are retired). */
  async function scorecard() {
    await ctx.ds.query(`UPDATE review_criteria SET active = false WHERE active`);
    const { agent: admin } = await someone('admin');
    const make = async (name: string, kind: 'yes_no' | 'scale', weight: number) =>
      (await admin.post('/api/review-criteria').send({ name: `${name} ${unique()}`, kind, weight })).body as CriterionDto;
    return {
      greeted: await make('Greeted', 'yes_no', 2),
      need: await make('Found the need', 'scale', 3),
      solution: await make('Offered a solution', 'scale', 3),
      nextStep: await make('Agreed a next step', 'yes_no', 2),
    };
  }

  it('a supervisor starts one draft per call (201, then 200 with the same review), for the call’s agent', async () => {
    const { agent: supervisor, user: sup } = await someone('supervisor');
    const manager = await ctx.f.user('manager');
    const callId = await recordedCall(manager.id);
    const first = await supervisor.post(`/api/calls/${callId}/reviews`);
    expect(first.status).toBe(201);
    expect(first.body).toEqual({
      id: expect.any(String),
      callId,
      state: 'draft',
      score: null,
      summary: null,
      reviewer: { id: sup.id, name: sup.name },
      agent: { id: manager.id, name: manager.name },
      scores: [],
      comments: [],
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
      submittedAt: null,
    });
    const again = await supervisor.post(`/api/calls/${callId}/reviews`);
    expect([again.status, again.body.id]).toEqual([200, first.body.id]);
    // another reviewer has a review of their own
    const { agent: admin } = await someone('admin');
    const theirs = await admin.post(`/api/calls/${callId}/reviews`);
    expect(theirs.status).toBe(201);
    expect(theirs.body.id).not.toBe(first.body.id);
    expect((await ctx.ds.query(`SELECT count(*)::int AS n FROM reviews WHERE call_id = $1`, [callId]))[0].n).toBe(2);
  });

  it('no review of a call in progress (409) or of an unknown call (404)', async () => {
    const { agent: supervisor } = await someone('supervisor');
    const live = await ctx.f.call({ state: 'talking', endedAt: null });
    const res = await supervisor.post(`/api/calls/${live}/reviews`);
    expect([res.status, res.body.error.message]).toEqual([409, expect.stringContaining('in progress')]);
    expect((await supervisor.post(`/api/calls/${crypto.randomUUID()}/reviews`)).status).toBe(404);
  });

  it('scores: the weighted score over the answered criteria; submitting needs them all; then 100·Σ(w·f)/Σw', async () => {
    const c = await scorecard();
    const { agent: supervisor, user: sup } = await someone('supervisor');
    const callId = await recordedCall((await ctx.f.user('manager')).id);
    const review = (await supervisor.post(`/api/calls/${callId}/reviews`)).body as ReviewDto;

    // greeted: yes (2·1), need: 4 (3·0.75) → 100 · 4.25 / 5 = 85
    const partial = await supervisor.patch(`/api/reviews/${review.id}`).send({
      scores: [
        { criterionId: c.greeted.id, value: 1 },
        { criterionId: c.need.id, value: 4 },
      ],
      summary: '  Good start  ',
    });
    expect(partial.status).toBe(200);
    expect(partial.body).toMatchObject({ state: 'draft', score: 85, summary: 'Good start', submittedAt: null });
    expect(partial.body.scores).toEqual([
      { criterionId: c.greeted.id, name: c.greeted.name, kind: 'yes_no', weight: 2, value: 1 },
      { criterionId: c.need.id, name: c.need.name, kind: 'scale', weight: 3, value: 4 },
    ]);

    const early = await supervisor.patch(`/api/reviews/${review.id}`).send({ submit: true });
    expect(early.status).toBe(400);
    expect(early.body.error.message).toBe(`Score every criterion before submitting; not scored: ${c.solution.name}, ${c.nextStep.name}`);
    expect(early.body.error.details).toEqual({ missing: [c.solution.name, c.nextStep.name] });
    expect((await ctx.ds.query(`SELECT state FROM reviews WHERE id = $1`, [review.id]))[0].state).toBe('draft');

    // + solution: 1 (3·0), next step: no (2·0) → 100 · 4.25 / 10 = 42.5
    const submitted = await supervisor.patch(`/api/reviews/${review.id}`).send({
      scores: [
        { criterionId: c.solution.id, value: 1 },
        { criterionId: c.nextStep.id, value: 0 },
      ],
      submit: true,
    });
    expect([submitted.status, submitted.body.error]).toEqual([200, undefined]);
    expect(submitted.body).toMatchObject({ state: 'submitted', score: 42.5, submittedAt: expect.any(String) });
    expect(submitted.body.scores.map((s: { value: number }) => s.value)).toEqual([1, 4, 1, 0]);
    const [row] = await ctx.ds.query(`SELECT state, score, submitted_at FROM reviews WHERE id = $1`, [review.id]);
    expect(row).toMatchObject({ state: 'submitted', score: 42.5 });
    expect((await auditOf(review.id)).map((a) => [a.action, a.actor_user_id, a.details])).toEqual([
      ['review.submit', sup.id, { callId, score: 42.5 }],
    ]);

    // the reviewer may still change answers (not clear them); submittedAt stays, updatedAt moves
    await new Promise((r) => setTimeout(r, 5));
    const edited = await supervisor.patch(`/api/reviews/${review.id}`).send({ scores: [{ criterionId: c.nextStep.id, value: 1 }] });
    expect(edited.body).toMatchObject({ state: 'submitted', score: 62.5, submittedAt: submitted.body.submittedAt });
    expect(Date.parse(edited.body.updatedAt)).toBeGreaterThan(Date.parse(submitted.body.updatedAt));
    const cleared = await supervisor.patch(`/api/reviews/${review.id}`).send({ scores: [{ criterionId: c.nextStep.id, value: null }] });
    expect([cleared.status, cleared.body.error.message]).toEqual([400, expect.stringContaining('changed, not cleared')]);
    expect((await auditOf(review.id)).map((a) => a.action)).toEqual(['review.submit', 'review.update']);
  });

  it('rejects answers out of range for the kind, unknown or retired criteria, and the same criterion twice', async () => {
    const c = await scorecard();
    const { agent: supervisor } = await someone('supervisor');
    const review = (await supervisor.post(`/api/calls/${await recordedCall(null)}/reviews`)).body as ReviewDto;
    const retired = (await ctx.ds.query(`SELECT id FROM review_criteria WHERE NOT active LIMIT 1`))[0].id as string;
    const cases = [
      [[{ criterionId: c.greeted.id, value: 2 }], /scores\.0\.value: must be 0 \(no\) or 1 \(yes\)/],
      [[{ criterionId: c.need.id, value: 0 }], /scores\.0\.value: must be between 1 and 5/],
      [[{ criterionId: c.need.id, value: 6 }], /scores\.0\.value/],
      [[{ criterionId: c.need.id, value: 2.5 }], /scores\.0\.value: must be a whole number/],
      [[{ criterionId: crypto.randomUUID(), value: 1 }], /scores\.0\.criterionId: no criterion/],
      [[{ criterionId: retired, value: 1 }], /no longer in use/],
      [
        [
          { criterionId: c.need.id, value: 2 },
          { criterionId: c.need.id, value: 3 },
        ],
        /given twice/,
      ],
    ] as const;
    for (const [scores, message] of cases) {
      const res = await supervisor.patch(`/api/reviews/${review.id}`).send({ scores });
      expect([res.status, res.body.error?.message]).toEqual([400, expect.stringMatching(message)]);
    }
    expect((await supervisor.patch(`/api/reviews/${review.id}`).send({})).status).toBe(400);
    expect((await supervisor.patch(`/api/reviews/${review.id}`).send({ submit: false })).status).toBe(400);
    expect((await ctx.ds.query(`SELECT count(*)::int AS n FROM review_scores WHERE review_id = $1`, [review.id]))[0].n).toBe(0);
    // a draft's answer can be cleared
    await supervisor.patch(`/api/reviews/${review.id}`).send({ scores: [{ criterionId: c.need.id, value: 3 }] });
    const cleared = await supervisor.patch(`/api/reviews/${review.id}`).send({ scores: [{ criterionId: c.need.id, value: null }] });
    expect(cleared.body).toMatchObject({ scores: [], score: null });
  });

  it('only the reviewer or an admin changes it: another supervisor 403, a manager of the call 403, another manager 404', async () => {
    const { agent: supervisor } = await someone('supervisor');
    const other = await someone('supervisor', 'supervisor2');
    const { agent: admin } = await someone('admin');
    const owner = await ctx.f.login('manager', [ctx.f.extension()]);
    const stranger = await someone('manager');
    const callId = await recordedCall(owner.user.id);
    const review = await submittedReview(supervisor, callId);
    expect((await other.agent.patch(`/api/reviews/${review.id}`).send({ summary: 'mine now' })).status).toBe(403);
    expect((await owner.agent.patch(`/api/reviews/${review.id}`).send({ summary: 'better' })).status).toBe(403);
    expect((await stranger.agent.patch(`/api/reviews/${review.id}`).send({ summary: 'x' })).status).toBe(404);
    expect((await request(ctx.app).patch(`/api/reviews/${review.id}`).send({ summary: 'x' })).status).toBe(401);
    const byAdmin = await admin.patch(`/api/reviews/${review.id}`).send({ summary: 'Checked by admin' });
    expect([byAdmin.status, byAdmin.body.summary]).toEqual([200, 'Checked by admin']);
    expect((await supervisor.patch(`/api/reviews/${review.id}`).send({ summary: null })).body.summary).toBeNull();
  });
});

describe('comments at a moment of the recording, and replies', () => {
  it('the reviewer comments at 12.5 s; the call’s manager replies; GET shows the thread in order with authors', async () => {
    const { agent: supervisor, user: sup } = await someone('supervisor');
    const owner = await ctx.f.login('manager', [ctx.f.extension()]);
    const callId = await recordedCall(owner.user.id, {}, { durationSeconds: 57 });
    const review = await submittedReview(supervisor, callId);

    const remark = await supervisor
      .post(`/api/reviews/${review.id}/comments`)
      .send({ body: 'Interrupted the customer here', atSeconds: 12.5 });
    expect(remark.status).toBe(201);
    expect(remark.body).toEqual({
      id: expect.any(String),
      parentId: null,
      author: { id: sup.id, name: sup.name, role: 'supervisor' },
      atSeconds: 12.5,
      body: 'Interrupted the customer here',
      createdAt: expect.any(String),
    });
    const reply = await owner.agent.post(`/api/reviews/${review.id}/comments`).send({ body: 'The line was bad', parentId: remark.body.id });
    expect(reply.status).toBe(201);
    expect(reply.body).toMatchObject({ parentId: remark.body.id, atSeconds: null, author: { id: owner.user.id, role: 'manager' } });
    const atEnd = await supervisor.post(`/api/reviews/${review.id}/comments`).send({ body: 'Good close', atSeconds: 57 });
    expect(atEnd.status).toBe(201);

    const got = (await owner.agent.get(`/api/reviews/${review.id}`)).body as ReviewDto;
    expect(got.comments.map((c: CommentDto) => [c.body, c.parentId, c.author?.role])).toEqual([
      ['Interrupted the customer here', null, 'supervisor'],
      ['The line was bad', remark.body.id, 'manager'],
      ['Good close', null, 'supervisor'],
    ]);
    const audited = (await auditOf(review.id)).filter((a) => a.action === 'review.comment');
    expect(audited.map((a) => [a.actor_user_id, a.details.reply, a.details.atSeconds])).toEqual([
      [sup.id, false, 12.5],
      [owner.user.id, true, null],
      [sup.id, false, 57],
    ]);
  });

  it('atSeconds within the recording (400 beyond it or below 0), a parent from the same review, a body of 1..4000', async () => {
    const { agent: supervisor } = await someone('supervisor');
    const callId = await recordedCall(null, {}, { durationSeconds: 30.5 });
    const review = (await supervisor.post(`/api/calls/${callId}/reviews`)).body as ReviewDto;
    const elsewhere = (await supervisor.post(`/api/calls/${await recordedCall(null)}/reviews`)).body as ReviewDto;
    const foreign = (await supervisor.post(`/api/reviews/${elsewhere.id}/comments`).send({ body: 'other' })).body as CommentDto;

    const cases = [
      [{ body: 'late', atSeconds: 31 }, "Invalid body: atSeconds: must be between 0 and 30.5 (the recording's length in seconds)"],
      [{ body: 'early', atSeconds: -1 }, 'Invalid body: atSeconds: must be 0 or more'],
      [{ body: 'reply', parentId: foreign.id }, 'Invalid body: parentId: is not a comment of this review'],
      [{ body: '   ' }, 'Invalid body: body: must not be empty'],
      [{ body: 'x'.repeat(4001) }, 'Invalid body: body: must be at most 4000 characters'],
    ] as const;
    for (const [body, message] of cases) {
      const res = await supervisor.post(`/api/reviews/${review.id}/comments`).send(body);
      expect([res.status, res.body.error.message]).toEqual([400, message]);
    }
    // a recording of unknown length takes any moment
    const unknown = await recordedCall(null, {}, { durationSeconds: null });
    const r2 = (await supervisor.post(`/api/calls/${unknown}/reviews`)).body as ReviewDto;
    expect((await supervisor.post(`/api/reviews/${r2.id}/comments`).send({ body: 'ok', atSeconds: 999 })).status).toBe(201);
    expect((await ctx.ds.query(`SELECT count(*)::int AS n FROM review_comments WHERE review_id = $1`, [review.id]))[0].n).toBe(0);
  });
});

describe('who sees and does what with reviews', () => {
  /**
   * A call of the owner manager with a submitted review (supervisor) and a draft (admin). The
   * matrix: owner manager, another manager, supervisor, admin, anonymous, and API tokens of the
   * owner and of the other manager.
   */
  async function scene() {
    const supervisor = await someone('supervisor');
    const admin = await someone('admin');
    const owner = await ctx.f.login('manager', [ctx.f.extension()]);
    const other = await ctx.f.login('manager', [ctx.f.extension()]);
    const callId = await recordedCall(owner.user.id);
    const submitted = await submittedReview(supervisor.agent, callId);
    const draft = (await admin.agent.post(`/api/calls/${callId}/reviews`)).body as ReviewDto;
    const ownerToken = await tokenOf(owner.user.id);
    const otherToken = await tokenOf(other.user.id);
    const bearer = (token: string) => ({
      get: (url: string) => request(ctx.app).get(url).set('Authorization', `Bearer ${token}`),
      post: (url: string) => request(ctx.app).post(url).set('Authorization', `Bearer ${token}`),
    });
    return { supervisor, admin, owner, other, callId, submitted, draft, ownerToken: bearer(ownerToken), otherToken: bearer(otherToken) };
  }

  it('GET /api/calls/:id/reviews and /api/reviews/:id: managers see the submitted reviews of calls they may see, only', async () => {
    const s = await scene();
    const url = `/api/calls/${s.callId}/reviews`;
    const idsOf = (res: request.Response) => (res.body.items as ReviewDto[]).map((r) => r.id).sort();
    const both = [s.submitted.id, s.draft.id].sort();

    const owner = await s.owner.agent.get(url);
    expect([owner.status, idsOf(owner)]).toEqual([200, [s.submitted.id]]);
    expect((await s.other.agent.get(url)).status).toBe(404);
    expect(idsOf(await s.supervisor.agent.get(url))).toEqual(both);
    expect(idsOf(await s.admin.agent.get(url))).toEqual(both);
    expect((await request(ctx.app).get(url)).status).toBe(401);
    expect(idsOf(await s.ownerToken.get(url))).toEqual([s.submitted.id]);
    expect((await s.otherToken.get(url)).status).toBe(404);

    const one = `/api/reviews/${s.submitted.id}`;
    const draft = `/api/reviews/${s.draft.id}`;
    expect((await s.owner.agent.get(one)).status).toBe(200);
    expect((await s.owner.agent.get(draft)).status).toBe(404);
    expect((await s.other.agent.get(one)).status).toBe(404);
    expect((await s.supervisor.agent.get(draft)).status).toBe(200);
    expect((await s.admin.agent.get(one)).status).toBe(200);
    expect((await request(ctx.app).get(one)).status).toBe(401);
    expect((await s.ownerToken.get(one)).status).toBe(200);
    expect((await s.ownerToken.get(draft)).status).toBe(404);
    expect((await s.otherToken.get(one)).status).toBe(404);
  });

  it('comments: the owner manager replies (session or token) to the submitted review only; another manager 404; anonymous 401', async () => {
    const s = await scene();
    const on = (id: string) => `/api/reviews/${id}/comments`;
    expect((await s.owner.agent.post(on(s.submitted.id)).send({ body: 'Thanks' })).status).toBe(201);
    expect((await s.ownerToken.post(on(s.submitted.id)).send({ body: 'Via the API' })).status).toBe(201);
    expect((await s.owner.agent.post(on(s.draft.id)).send({ body: 'Peek' })).status).toBe(404);
    expect((await s.other.agent.post(on(s.submitted.id)).send({ body: 'Nosy' })).status).toBe(404);
    expect((await s.otherToken.post(on(s.submitted.id)).send({ body: 'Nosy' })).status).toBe(404);
    expect((await request(ctx.app).post(on(s.submitted.id)).send({ body: 'Anon' })).status).toBe(401);
    // supervisors and admins comment on any review, drafts included
    expect((await s.supervisor.agent.post(on(s.draft.id)).send({ body: 'Note for the admin' })).status).toBe(201);
    expect((await s.admin.agent.post(on(s.submitted.id)).send({ body: 'Agreed', atSeconds: 3 })).status).toBe(201);
    const bodies = (await s.owner.agent.get(`/api/reviews/${s.submitted.id}`)).body.comments.map((c: CommentDto) => c.body);
    expect(bodies).toEqual(['Thanks', 'Via the API', 'Agreed']);
  });

  it('starting a review and the queue are for supervisors and admins: managers 403, anonymous 401', async () => {
    const s = await scene();
    expect((await s.owner.agent.post(`/api/calls/${s.callId}/reviews`)).status).toBe(403);
    expect((await s.ownerToken.post(`/api/calls/${s.callId}/reviews`)).status).toBe(403);
    expect((await request(ctx.app).post(`/api/calls/${s.callId}/reviews`)).status).toBe(401);
    expect((await s.owner.agent.get('/api/reviews/queue')).status).toBe(403);
    expect((await s.ownerToken.get('/api/reviews/queue')).status).toBe(403);
    expect((await request(ctx.app).get('/api/reviews/queue')).status).toBe(401);
    expect((await s.supervisor.agent.get(`/api/reviews/queue?agent=${s.owner.user.id}`)).status).toBe(200);
    const adminToken = await tokenOf(s.admin.user.id);
    const res = await request(ctx.app).get(`/api/reviews/queue?agent=${s.owner.user.id}`).set('Authorization', `Bearer ${adminToken}`);
    expect(res.status).toBe(200);
  });

  it('GET /api/reviews: submitted reviews I may see, newest first, with the call, by agent, paginated', async () => {
    const s = await scene();
    const later1 = await submittedReview(s.supervisor.agent, await recordedCall(s.owner.user.id));
    const later2 = await submittedReview(s.admin.agent, await recordedCall(s.owner.user.id));
    const mine = await s.owner.agent.get('/api/reviews').query({ limit: 100 });
    const mineIds = (mine.body.items as ReviewDto[]).map((r) => r.id);
    expect(mineIds.slice(0, 3)).toEqual([later2.id, later1.id, s.submitted.id]);
    expect(mineIds).not.toContain(s.draft.id);
    expect(mine.body.items[0].call).toMatchObject({ id: later2.callId, agent: { userId: s.owner.user.id } });
    expect(((await s.other.agent.get('/api/reviews')).body.items as ReviewDto[]).map((r) => r.id)).not.toContain(s.submitted.id);

    const page1 = await s.supervisor.agent.get('/api/reviews').query({ agent: s.owner.user.id, limit: 2 });
    expect(page1.body.items.map((r: ReviewDto) => r.id)).toEqual([later2.id, later1.id]);
    const page2 = await s.supervisor.agent.get('/api/reviews').query({ agent: s.owner.user.id, limit: 2, cursor: page1.body.nextCursor });
    expect([page2.body.items.map((r: ReviewDto) => r.id), page2.body.nextCursor]).toEqual([[s.submitted.id], null]);
    expect((await s.supervisor.agent.get('/api/reviews').query({ cursor: 'nope' })).status).toBe(400);
    expect((await request(ctx.app).get('/api/reviews')).status).toBe(401);
    expect((await s.ownerToken.get('/api/reviews')).body.items.map((r: ReviewDto) => r.id)).toContain(s.submitted.id);
  });
});

describe('the review queue', () => {
  const queue = async (query: Record<string, string | number | boolean>) => {
    const { agent } = await someone('supervisor');
    const res = await agent.get('/api/reviews/queue').query(query);
    expect([res.status, res.body.error]).toEqual([200, undefined]);
    return res.body as { items: QueueItem[]; nextCursor: string | null };
  };
  const callIds = (page: { items: QueueItem[] }) => page.items.map((i) => i.call.id);
  const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000);

  it('lists ended calls with a stored recording, newest first, as call records with their review', async () => {
    const agentUser = await ctx.f.user('manager');
    const stored = await recordedCall(agentUser.id, { startedAt: minutesAgo(10) });
    const older = await recordedCall(agentUser.id, { startedAt: minutesAgo(20) });
    await recordedCall(agentUser.id, { startedAt: minutesAgo(5) }, { state: 'pending' });
    await recordedCall(agentUser.id, { startedAt: minutesAgo(6) }, { state: 'failed' });
    await ctx.f.call({ agentUserId: agentUser.id, startedAt: minutesAgo(7) }); // no recording
    await recordedCall(agentUser.id, { startedAt: minutesAgo(1), state: 'talking', endedAt: null }); // still live
    const page = await queue({ agent: agentUser.id });
    expect(callIds(page)).toEqual([stored, older]);
    const item = page.items[0]!;
    expect(item.review).toBeNull();
    expect(item.call as CallRecordDto).toMatchObject({
      id: stored,
      state: 'ended',
      agent: { userId: agentUser.id },
      recording: { state: 'stored', durationSeconds: 57, url: `/api/calls/${stored}/recording` },
    });
  });

  it('filters: agent (as agent or on a leg), period, outcome, direction, talk seconds', async () => {
    const a = await ctx.f.user('manager');
    const b = await ctx.f.user('manager');
    const { agent: admin } = await someone('admin');
    const outcome = (await admin.post('/api/outcomes').send({ name: `Sale ${unique()}` })).body.id as string;
    const t0 = Date.now() - 3 * 3_600_000;
    const at = (min: number) => new Date(t0 + min * 60_000);
    // talk seconds: answered 3 s after the start, ended 60 s after (57 s of talk) unless said otherwise
    const c1 = await recordedCall(a.id, { startedAt: at(0), direction: 'inbound' });
    const c2 = await recordedCall(a.id, { startedAt: at(10), direction: 'outbound', endedAt: at(10 + 5) }); // 297 s
    const c3 = await recordedCall(b.id, {
      startedAt: at(20),
      legs: [
        { extension: ctx.f.extension(), ringingAt: at(20), answeredAt: null, endedAt: at(20.1), result: 'no-answer' },
        { extension: ctx.f.extension(), ringingAt: at(20), answeredAt: at(20.05), endedAt: at(21), result: 'answered' },
      ],
      legUsers: [a.id, b.id],
    });
    const c4 = await recordedCall(a.id, { startedAt: at(30), answeredAt: null, disposition: 'no-answer' }); // 0 s of talk
    await ctx.ds.query(`UPDATE calls SET outcome_id = $2 WHERE id = $1`, [c2, outcome]);

    expect(callIds(await queue({ agent: a.id }))).toEqual([c4, c3, c2, c1]);
    expect(callIds(await queue({ agent: b.id }))).toEqual([c3]);
    expect(callIds(await queue({ agent: a.id, from: at(5).toISOString(), to: at(25).toISOString() }))).toEqual([c3, c2]);
    expect(callIds(await queue({ agent: a.id, outcome }))).toEqual([c2]);
    expect(callIds(await queue({ agent: a.id, direction: 'outbound' }))).toEqual([c2]);
    expect(callIds(await queue({ agent: a.id, minDuration: 100 }))).toEqual([c2]);
    expect(callIds(await queue({ agent: a.id, maxDuration: 60 }))).toEqual([c4, c3, c1]);
    expect(callIds(await queue({ agent: a.id, minDuration: 57, maxDuration: 57 }))).toEqual([c3, c1]);
    expect(callIds(await queue({ agent: a.id, maxDuration: 0 }))).toEqual([c4]);

    const { agent: supervisor } = await someone('supervisor');
    for (const [query, message] of [
      [{ sample: 0 }, /sample: must be between 1 and 100/],
      [{ sample: 101 }, /sample/],
      [{ minTalkShare: 1.5 }, /minTalkShare: must be between 0 and 1/],
      [{ agent: 'bob' }, /agent: must be a user id/],
      [{ reviewed: 'maybe' }, /reviewed/],
      [{ limit: 0 }, /limit/],
      [{ cursor: 'garbage' }, /cursor/],
      [{ colour: 'red' }, /unknown field/],
    ] as const) {
      const res = await supervisor.get('/api/reviews/queue').query(query);
      expect([res.status, res.body.error?.message]).toEqual([400, expect.stringMatching(message)]);
    }
  });

  it('reviewed=false: calls without a submitted review by anyone (a draft does not count); reviewed=true: the others', async () => {
    const a = await ctx.f.user('manager');
    const { user: sup } = await someone('supervisor');
    const { user: adminUser } = await someone('admin');
    const none = await recordedCall(a.id, { startedAt: minutesAgo(30) });
    const drafted = await recordedCall(a.id, { startedAt: minutesAgo(31) });
    const done = await recordedCall(a.id, { startedAt: minutesAgo(32) });
    const byOther = await recordedCall(a.id, { startedAt: minutesAgo(33) });
    const draftId = await ctx.f.review({ callId: drafted, reviewerId: sup.id, agentUserId: a.id, state: 'draft' });
    const doneId = await ctx.f.review({ callId: done, reviewerId: sup.id, agentUserId: a.id, score: 80 });
    const otherId = await ctx.f.review({ callId: byOther, reviewerId: adminUser.id, agentUserId: a.id, score: 55.5 });

    expect(callIds(await queue({ agent: a.id, reviewed: false }))).toEqual([none, drafted]);
    const reviewed = await queue({ agent: a.id, reviewed: true });
    expect(callIds(reviewed)).toEqual([done, byOther]);
    // the summary: my own review when I have one, else the latest submitted one
    expect(reviewed.items.map((i) => i.review)).toEqual([
      { id: doneId, state: 'submitted', score: 80, reviewerName: sup.name, submittedAt: expect.any(String) },
      { id: otherId, state: 'submitted', score: 55.5, reviewerName: adminUser.name, submittedAt: expect.any(String) },
    ]);
    const all = await queue({ agent: a.id });
    expect(all.items.find((i) => i.call.id === drafted)!.review).toEqual({
      id: draftId,
      state: 'draft',
      score: null,
      reviewerName: sup.name,
      submittedAt: null,
    });
  });

  it('analytics filters: agent talk share, silence, overtalk, longest monologue; recordings without analytics never match', async () => {
    const a = await ctx.f.user('manager');
    const talky = await recordedCall(
      a.id,
      { startedAt: minutesAgo(40) },
      { channels: 2, agentTalkShare: 0.8, silenceShare: 0.05, overtalkShare: 0.12, longestMonologueSeconds: 95 },
    );
    const quiet = await recordedCall(
      a.id,
      { startedAt: minutesAgo(41) },
      { channels: 2, agentTalkShare: 0.3, silenceShare: 0.4, overtalkShare: 0.01, longestMonologueSeconds: 12 },
    );
    const mono = await recordedCall(a.id, { startedAt: minutesAgo(42) }, { channels: 1 });
    expect(callIds(await queue({ agent: a.id }))).toEqual([talky, quiet, mono]);
    expect(callIds(await queue({ agent: a.id, minTalkShare: 0.7 }))).toEqual([talky]);
    expect(callIds(await queue({ agent: a.id, maxTalkShare: 0.5 }))).toEqual([quiet]);
    expect(callIds(await queue({ agent: a.id, minSilence: 0.3 }))).toEqual([quiet]);
    expect(callIds(await queue({ agent: a.id, maxSilence: 0.1 }))).toEqual([talky]);
    expect(callIds(await queue({ agent: a.id, minOvertalk: 0.1 }))).toEqual([talky]);
    expect(callIds(await queue({ agent: a.id, maxOvertalk: 0.1 }))).toEqual([quiet]);
    expect(callIds(await queue({ agent: a.id, minMonologue: 60 }))).toEqual([talky]);
    expect(callIds(await queue({ agent: a.id, minTalkShare: 0, maxTalkShare: 1 }))).toEqual([talky, quiet]);
  });

  it('pages with a cursor, newest first, none twice', async () => {
    const a = await ctx.f.user('manager');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await recordedCall(a.id, { startedAt: minutesAgo(50 + i) }));
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: QueueItem[]; nextCursor: string | null } = await queue({ agent: a.id, limit: 2, ...(cursor && { cursor }) });
      seen.push(...callIds(page));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(ids);
  });

  it('sample=50 keeps half of each agent’s calls (rounded up), the same for the same seed, another for another seed', async () => {
    const a = await ctx.f.user('manager');
    const b = await ctx.f.user('manager');
    // a stretch of time of its own, so other tests' calls stay out of it
    const t0 = Date.UTC(1971, 0, 1) + crypto.randomInt(0, 3000) * 86_400_000;
    const window = { from: new Date(t0).toISOString(), to: new Date(t0 + 3_600_000).toISOString() };
    const aCalls = new Set<string>();
    const bCalls = new Set<string>();
    for (let i = 0; i < 20; i++) aCalls.add(await recordedCall(a.id, { startedAt: new Date(t0 + i * 60_000) }));
    for (let i = 0; i < 10; i++) bCalls.add(await recordedCall(b.id, { startedAt: new Date(t0 + i * 60_000 + 30_000) }));

    const sampled = async (query: Record<string, string | number | boolean>) => {
      const ids: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { items: QueueItem[]; nextCursor: string | null } = await queue({
          ...window,
          limit: 7,
          ...query,
          ...(cursor && { cursor }),
        });
        ids.push(...callIds(page));
        cursor = page.nextCursor;
      } while (cursor);
      return ids;
    };
    const all = await sampled({});
    expect(all.length).toBe(30);
    const s1 = await sampled({ sample: 50, seed: 'week-45' });
    expect([s1.filter((id) => aCalls.has(id)).length, s1.filter((id) => bCalls.has(id)).length]).toEqual([10, 5]);
    expect(new Set(s1).size).toBe(15);
    expect(await sampled({ sample: 50, seed: 'week-45' })).toEqual(s1);
    const s2 = await sampled({ sample: 50, seed: 'week-46' });
    expect(s2.length).toBe(15);
    expect([...s2].sort()).not.toEqual([...s1].sort());
    // rounded up: 10% of 10 calls is 1, 10% of 20 is 2; 1% of each is 1
    expect((await sampled({ sample: 10, seed: 'x' })).length).toBe(3);
    expect((await sampled({ sample: 1, seed: 'x' })).length).toBe(2);
    expect(await sampled({ sample: 100, seed: 'x' })).toEqual(all);
    // with the agent filter: half of that agent's calls, the same ones
    const onlyA = await sampled({ sample: 50, seed: 'week-45', agent: a.id });
    expect(onlyA).toEqual(s1.filter((id) => aCalls.has(id)));
    // no seed: a fixed default, stable too
    expect(await sampled({ sample: 50 })).toEqual(await sampled({ sample: 50 }));

    // reviewing a sampled call takes it out of reviewed=false without drawing another one in
    const { user: sup } = await someone('supervisor');
    await ctx.f.review({ callId: s1[0]!, reviewerId: sup.id, agentUserId: aCalls.has(s1[0]!) ? a.id : b.id, score: 70 });
    expect(await sampled({ sample: 50, seed: 'week-45', reviewed: false })).toEqual(s1.slice(1));
  });
});
