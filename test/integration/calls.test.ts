import crypto from 'node:crypto';
import request from 'supertest';
import type { CallRecordDto } from '../../src/calls/call-record';
import { createTestContext, type TestContext } from '../helpers/test-context';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.close());

type Agent = Awaited<ReturnType<TestContext['f']['login']>>['agent'];
type CallFields = Parameters<TestContext['f']['call']>[0];

const unique = () => crypto.randomBytes(4).toString('hex');

const sessions = new Map<string, Promise<Agent>>();
/** A logged-in user of `role`, shared by the tests that only need someone with that role (logins cost a bcrypt each). */
function someone(role: 'admin' | 'supervisor' | 'manager'): Promise<Agent> {
  if (!sessions.has(role))
    sessions.set(
      role,
      ctx.f.login(role).then((l) => l.agent),
    );
  return sessions.get(role)!;
}
const at = (iso: string) => new Date(iso);
const ids = (items: { id: string }[]) => items.map((i) => i.id);

/** A call record, optionally linked to an organization (the factory sets contacts only). */
async function call(fields: CallFields & { organizationId?: string } = {}) {
  const { organizationId, ...rest } = fields;
  const id = await ctx.f.call(rest);
  if (organizationId) {
    await ctx.ds.query(`UPDATE calls SET organization_id = $2, contact_match = 'matched' WHERE id = $1`, [id, organizationId]);
  }
  return id;
}

async function listIds(agent: Agent | request.Agent, query: Record<string, string | number | boolean>) {
  const res = await agent.get('/api/calls').query(query);
  expect([res.status, res.body.error]).toEqual([200, undefined]);
  return ids(res.body.items);
}

async function outcomeId(agent: Agent, code: string): Promise<string> {
  const res = await agent.get('/api/outcomes');
  const o = res.body.items.find((x: { code: string | null }) => x.code === code);
  if (!o) throw new Error(`no outcome ${code}`);
  return o.id;
}

describe('the call record', () => {
  it('has the contract shape, with durations derived from the timestamps', async () => {
    const ext = ctx.f.extension();
    const { user, agent } = await ctx.f.login('manager', [ext]);
    const org = await ctx.f.organization();
    const contact = await ctx.f.contact({ organizationId: org.id });
    const external = ctx.f.phone();
    const startedAt = at('2024-03-01T10:00:00.000Z');
    const answeredAt = at('2024-03-01T10:00:04.500Z');
    const endedAt = at('2024-03-01T10:01:04.500Z');
    const pbxCallId = `1709287200.${crypto.randomInt(1e6)}`;
    const id = await call({
      pbxCallId,
      startedAt,
      answeredAt,
      endedAt,
      externalNumber: external,
      externalNumberRaw: `0${external.slice(4)}`,
      trackingNumber: '+380441234567',
      agentExtension: ext,
      agentUserId: user.id,
      hangupBy: 'customer',
      contactId: contact.id,
      organizationId: org.id,
    });
    const res = await agent.get(`/api/calls/${id}`);
    expect(res.status).toBe(200);
    const expected: CallRecordDto = {
      id,
      version: 1,
      pbxCallId,
      direction: 'inbound',
      state: 'ended',
      disposition: 'answered',
      missed: false,
      externalNumber: external,
      externalNumberRaw: `0${external.slice(4)}`,
      trackingNumber: '+380441234567',
      startedAt: '2024-03-01T10:00:00.000Z',
      answeredAt: '2024-03-01T10:00:04.500Z',
      endedAt: '2024-03-01T10:01:04.500Z',
      waitSeconds: 4.5,
      talkSeconds: 60,
      durationSeconds: 64.5,
      agent: { userId: user.id, extension: ext, name: user.name },
      legs: [
        {
          extension: ext,
          userId: user.id,
          ringingAt: '2024-03-01T10:00:00.000Z',
          answeredAt: '2024-03-01T10:00:04.500Z',
          endedAt: '2024-03-01T10:01:04.500Z',
          result: 'answered',
        },
      ],
      hangupBy: 'customer',
      contact: { id: contact.id, name: contact.name },
      organization: { id: org.id, name: org.name },
      contactMatch: 'matched',
      endReason: 'normal',
      relatedCallIds: [],
      recording: null,
      topic: null,
      outcome: null,
      notes: null,
    };
    expect(res.body).toEqual(expected);
  });

  it('an unanswered call waits until it ends and talks 0 s; a live call has no durations yet', async () => {
    const { user, agent } = await ctx.f.login('supervisor');
    const missed = await call({ startedAt: at('2024-03-02T09:00:00Z'), answeredAt: null, endedAt: at('2024-03-02T09:00:25Z') });
    const live = await call({
      state: 'talking',
      startedAt: at('2024-03-02T09:05:00Z'),
      answeredAt: at('2024-03-02T09:05:02Z'),
      endedAt: null,
      disposition: null,
      endReason: null,
      agentUserId: user.id,
    });
    const m = (await agent.get(`/api/calls/${missed}`)).body;
    expect(m).toMatchObject({
      missed: true,
      disposition: 'no-answer',
      answeredAt: null,
      agent: null,
      legs: [],
      waitSeconds: 25,
      talkSeconds: 0,
      durationSeconds: 25,
    });
    const l = (await agent.get(`/api/calls/${live}`)).body;
    expect(l).toMatchObject({
      state: 'talking',
      disposition: null,
      endedAt: null,
      waitSeconds: null,
      talkSeconds: null,
      durationSeconds: null,
    });
  });

  it('relatedCallIds are the ids of the linked records', async () => {
    const agent = await someone('admin');
    const first = await call();
    const [{ pbx_call_id }] = await ctx.ds.query(`SELECT pbx_call_id FROM calls WHERE id = $1`, [first]);
    const second = await call();
    await ctx.ds.query(`UPDATE calls SET related_pbx_call_ids = $2 WHERE id = $1`, [second, [pbx_call_id, 'no-such-linkedid']]);
    expect((await agent.get(`/api/calls/${second}`)).body.relatedCallIds).toEqual([first]);
  });

  it('404 for an unknown call, 400 for a malformed id', async () => {
    const agent = await someone('admin');
    const missing = await agent.get(`/api/calls/${crypto.randomUUID()}`);
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('not-found');
    const bad = await agent.get('/api/calls/12345');
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('id');
  });
});

describe('GET /api/calls', () => {
  it.each([
    ['0', 'limit'],
    ['101', 'limit'],
    ['abc', 'limit'],
    ['1.5', 'limit'],
  ])('limit=%s → 400 naming %s', async (limit, field) => {
    const agent = await someone('manager');
    const res = await agent.get('/api/calls').query({ limit });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain(`${field}:`);
  });

  it('walks every visible call exactly once, newest first, across pages (ties broken by id)', async () => {
    const ext = ctx.f.extension();
    const { user, agent } = await ctx.f.login('manager', [ext]);
    const same = at('2024-04-01T12:00:00.000Z');
    const starts = [
      at('2024-04-01T10:00:00.000Z'),
      at('2024-04-01T11:00:00.000Z'),
      same,
      same,
      same,
      at('2024-04-01T13:00:00.000Z'),
      at('2024-04-01T11:30:00.000Z'),
    ];
    // sort key: the timestamp to the microsecond, then the id (both descending)
    const key = (startedAt: Date, micros: number, id: string) =>
      `${startedAt.toISOString().slice(0, 23)}${String(micros).padStart(3, '0')}|${id}`;
    const created: { id: string; key: string }[] = [];
    for (const startedAt of starts) {
      const id = await call({ startedAt, agentUserId: user.id, agentExtension: ext });
      created.push({ id, key: key(startedAt, 0, id) });
    }
    // two more at the same millisecond, a few microseconds apart (PostgreSQL keeps microseconds)
    for (const micros of [1, 2]) {
      const id = await call({ startedAt: same, agentUserId: user.id, agentExtension: ext });
      await ctx.ds.query(`UPDATE calls SET started_at = started_at + make_interval(secs => $2::float8 / 1000000) WHERE id = $1`, [
        id,
        micros,
      ]);
      created.push({ id, key: key(same, micros, id) });
    }
    const expected = created.sort((a, b) => (a.key < b.key ? 1 : -1)).map((c) => c.id);

    for (const limit of [2, 3, 100]) {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res: request.Response = await agent.get('/api/calls').query({ limit, ...(cursor && { cursor }) });
        expect([res.status, res.body.error]).toEqual([200, undefined]);
        expect(res.body.items.length).toBeLessThanOrEqual(limit);
        seen.push(...ids(res.body.items));
        cursor = res.body.nextCursor;
        pages += 1;
      } while (cursor && pages < 20);
      expect({ limit, seen }).toEqual({ limit, seen: expected });
      expect(pages).toBe(Math.ceil(expected.length / limit));
    }
  });

  const cursorOf = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  it.each([
    ['not base64 JSON', 'garbage'],
    ['an object', cursorOf({ x: 1 })],
    ['a word for a time', cursorOf(['yesterday', crypto.randomUUID()])],
    ['a bare number for a time', cursorOf(['1', crypto.randomUUID()])],
    ['February 30', cursorOf(['2024-02-30 10:00:00+00', crypto.randomUUID()])],
    ['hour 24', cursorOf(['2024-02-01T24:00:00Z', crypto.randomUUID()])],
    ['a bad id', cursorOf(['2024-01-01T00:00:00Z', 'not-a-uuid'])],
    ['dashes for an id', cursorOf(['2024-01-01T00:00:00Z', '-'.repeat(36)])],
    ['too long', 'x'.repeat(300)],
  ])('cursor: %s → 400', async (_what, cursor) => {
    const agent = await someone('manager');
    const res = await agent.get('/api/calls').query({ cursor });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain('cursor');
  });

  it('filters by from/to, direction, disposition, missed, agent, contact, organization and number', async () => {
    const [e1, e2, eO] = [ctx.f.extension(), ctx.f.extension(), ctx.f.extension()];
    const { user: me, agent } = await ctx.f.login('manager', [e1, e2]);
    const other = await ctx.f.user('manager', [eO]);
    const org = await ctx.f.organization();
    const contact = await ctx.f.contact({ ownerId: me.id, organizationId: org.id });
    const [n1, n2] = [ctx.f.phone(), ctx.f.phone()];

    const c1 = await call({ startedAt: at('2024-05-01T10:00:00Z'), externalNumber: n1, agentUserId: me.id, agentExtension: e1 });
    const c2 = await call({
      startedAt: at('2024-05-02T10:00:00Z'),
      externalNumber: n2,
      answeredAt: null,
      legs: [
        {
          extension: e1,
          ringingAt: at('2024-05-02T10:00:01Z'),
          answeredAt: null,
          endedAt: at('2024-05-02T10:00:30Z'),
          result: 'no-answer',
        },
      ],
      legUsers: [me.id],
    });
    const c3 = await call({
      startedAt: at('2024-05-03T10:00:00Z'),
      direction: 'outbound',
      answeredAt: null,
      disposition: 'busy',
      agentUserId: me.id,
      agentExtension: e1,
    });
    const c4 = await call({
      startedAt: at('2024-05-04T10:00:00Z'),
      direction: 'internal',
      externalNumber: null,
      agentUserId: me.id,
      agentExtension: e2,
    });
    const c5 = await call({
      startedAt: at('2024-05-05T10:00:00Z'),
      agentUserId: other.id,
      agentExtension: eO,
      contactId: contact.id,
      organizationId: org.id,
    });
    const all = [c5, c4, c3, c2, c1];

    expect(await listIds(agent, {})).toEqual(all);
    expect(await listIds(agent, { from: '2024-05-02T00:00:00Z', to: '2024-05-04T00:00:00Z' })).toEqual([c3, c2]);
    expect(await listIds(agent, { from: '2024-05-04T12:00:00+03:00' })).toEqual([c5, c4]);
    expect(await listIds(agent, { to: '2024-05-01T10:00:00Z' })).toEqual([]);
    expect(await listIds(agent, { direction: 'outbound' })).toEqual([c3]);
    expect(await listIds(agent, { direction: 'internal' })).toEqual([c4]);
    expect(await listIds(agent, { disposition: 'busy' })).toEqual([c3]);
    expect(await listIds(agent, { disposition: 'no-answer' })).toEqual([c2]);
    expect(await listIds(agent, { disposition: 'answered' })).toEqual([c5, c4, c1]);
    expect(await listIds(agent, { missed: true })).toEqual([c2]);
    expect(await listIds(agent, { missed: 'false' })).toEqual([c5, c4, c3, c1]);
    expect(await listIds(agent, { agent: me.id })).toEqual([c4, c3, c2, c1]);
    expect(await listIds(agent, { agent: e1 })).toEqual([c3, c2, c1]);
    expect(await listIds(agent, { agent: e2 })).toEqual([c4]);
    expect(await listIds(agent, { agent: other.id })).toEqual([c5]);
    expect(await listIds(agent, { agent: eO })).toEqual([c5]);
    expect(await listIds(agent, { contact: contact.id })).toEqual([c5]);
    expect(await listIds(agent, { organization: org.id })).toEqual([c5]);
    const national = `0${n1.slice(4)}`;
    for (const number of [n1, national, `8 ${national}`, `+380 ${n1.slice(4, 6)} ${n1.slice(6)}`, n1.slice(1)]) {
      expect(await listIds(agent, { number })).toEqual([c1]);
    }
    expect(await listIds(agent, { number: `${n2.slice(6, 9)}-${n2.slice(9)}` })).toEqual([c2]);
    expect(await listIds(agent, { direction: 'inbound', missed: false, agent: e1 })).toEqual([c1]);

    // a supervisor sees the same calls through the same filters
    const { agent: sup } = await ctx.f.login('supervisor');
    expect(await listIds(sup, { agent: me.id })).toEqual([c4, c3, c2, c1]);
    expect(await listIds(sup, { contact: contact.id })).toEqual([c5]);
  });

  it.each([
    [{ from: 'yesterday' }, 'from'],
    [{ to: '2024-05-01' }, 'to'],
    [{ direction: 'sideways' }, 'direction'],
    [{ disposition: 'maybe' }, 'disposition'],
    [{ missed: 'yes' }, 'missed'],
    [{ agent: 'bob' }, 'agent'],
    [{ contact: 'bob' }, 'contact'],
    [{ organization: '1' }, 'organization'],
    [{ number: 'abc' }, 'number'],
    [{ number: '12' }, 'number'],
    [{ sort: 'asc' }, 'sort'],
  ])('bad filter %p → 400 naming %s', async (query, field) => {
    const agent = await someone('manager');
    const res = await agent.get('/api/calls').query(query);
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain(field);
  });

  it('items are whole records, identical to GET /api/calls/:id', async () => {
    const ext = ctx.f.extension();
    const { user, agent } = await ctx.f.login('manager', [ext]);
    const contact = await ctx.f.contact({ ownerId: user.id });
    await call({ agentUserId: user.id, agentExtension: ext, contactId: contact.id });
    await call({
      answeredAt: null,
      legs: [{ extension: ext, ringingAt: new Date(), answeredAt: null, endedAt: new Date(), result: 'no-answer' }],
      legUsers: [user.id],
    });
    await call({ contactId: contact.id, direction: 'outbound' });
    const list = await agent.get('/api/calls');
    expect(list.body.items).toHaveLength(3);
    for (const item of list.body.items) {
      const one = await agent.get(`/api/calls/${item.id}`);
      expect(item).toEqual(one.body);
      expect(Object.keys(item).sort()).toEqual(Object.keys(one.body).sort());
    }
  });
});

describe('who sees which calls', () => {
  it('a manager sees calls as agent, on any leg, and of contacts they own; not another manager’s (404, absent)', async () => {
    const [mine, theirs] = [ctx.f.extension(), ctx.f.extension()];
    const { user: me, agent } = await ctx.f.login('manager', [mine]);
    const other = await ctx.f.user('manager', [theirs]);
    const myContact = await ctx.f.contact({ ownerId: me.id });
    const theirContact = await ctx.f.contact({ ownerId: other.id });
    const t = (m: number) => new Date(Date.UTC(2024, 5, 1, 10, m));

    const asAgent = await call({ startedAt: t(1), agentUserId: me.id, agentExtension: mine });
    const onLeg = await call({
      startedAt: t(2),
      agentUserId: other.id,
      agentExtension: theirs,
      legs: [
        { extension: mine, ringingAt: t(2), answeredAt: null, endedAt: t(2), result: 'answered-elsewhere' },
        { extension: theirs, ringingAt: t(2), answeredAt: t(2), endedAt: t(3), result: 'answered' },
      ],
      legUsers: [me.id, other.id],
    });
    const ofMyContact = await call({ startedAt: t(3), agentUserId: other.id, agentExtension: theirs, contactId: myContact.id });
    const notMine = await call({ startedAt: t(4), agentUserId: other.id, agentExtension: theirs, contactId: theirContact.id });

    expect(await listIds(agent, {})).toEqual([ofMyContact, onLeg, asAgent]);
    for (const id of [asAgent, onLeg, ofMyContact]) expect((await agent.get(`/api/calls/${id}`)).status).toBe(200);
    const hidden = await agent.get(`/api/calls/${notMine}`);
    expect(hidden.status).toBe(404);
    // indistinguishable from a call that does not exist
    expect(hidden.body).toEqual((await agent.get(`/api/calls/${crypto.randomUUID()}`)).body);
    // filters do not widen what a manager sees
    expect(await listIds(agent, { agent: other.id })).toEqual([ofMyContact, onLeg]);
    expect(await listIds(agent, { contact: theirContact.id })).toEqual([]);
    // by extension (as the agent, or on a leg): their own, another's, one nobody has
    expect(await listIds(agent, { agent: mine })).toEqual([onLeg, asAgent]);
    expect(await listIds(agent, { agent: theirs })).toEqual([ofMyContact, onLeg]);
    expect(await listIds(agent, { agent: ctx.f.extension() })).toEqual([]);
    const { agent: supervisor } = await ctx.f.login('supervisor');
    expect(await listIds(supervisor, { agent: theirs })).toEqual([notMine, ofMyContact, onLeg]);
    expect(await listIds(supervisor, { agent: mine })).toEqual([onLeg, asAgent]);

    // a third manager sees none of them
    const { agent: third } = await ctx.f.login('manager');
    for (const id of [asAgent, onLeg, ofMyContact, notMine]) expect((await third.get(`/api/calls/${id}`)).status).toBe(404);
    expect(await listIds(third, {})).toEqual([]);
  });

  it.each(['supervisor', 'admin'] as const)('a %s sees every call', async (role) => {
    const { agent } = await ctx.f.login(role);
    const owner = await ctx.f.user('manager');
    const id = await call({ agentUserId: owner.id });
    expect((await agent.get(`/api/calls/${id}`)).status).toBe(200);
    expect(await listIds(agent, { agent: owner.id })).toEqual([id]);
  });

  it('anonymous gets 401', async () => {
    const id = await call();
    expect((await request(ctx.app).get('/api/calls')).status).toBe(401);
    expect((await request(ctx.app).get(`/api/calls/${id}`)).status).toBe(401);
    expect((await request(ctx.app).patch(`/api/calls/${id}`).send({ topic: 'x' })).status).toBe(401);
  });

  it("an API token works and follows its user's role", async () => {
    const admin = await someone('admin');
    const manager = await ctx.f.user('manager');
    const supervisor = await ctx.f.user('supervisor');
    const own = await call({ agentUserId: manager.id });
    const foreign = await call({ agentUserId: supervisor.id });
    const token = async (userId: string) => (await admin.post('/api/tokens').send({ name: `t-${unique()}`, userId })).body.token as string;
    const bearer = (t: string) => ({ Authorization: `Bearer ${t}` });

    const m = await token(manager.id);
    const list = await request(ctx.app).get('/api/calls').set(bearer(m));
    expect(list.status).toBe(200);
    expect(ids(list.body.items)).toEqual([own]);
    expect((await request(ctx.app).get(`/api/calls/${foreign}`).set(bearer(m))).status).toBe(404);
    const annotated = await request(ctx.app).patch(`/api/calls/${own}`).set(bearer(m)).send({ topic: 'via token' });
    expect([annotated.status, annotated.body.topic]).toEqual([200, 'via token']);

    const s = await token(supervisor.id);
    expect((await request(ctx.app).get(`/api/calls/${own}`).set(bearer(s))).status).toBe(200);
    expect((await request(ctx.app).get('/api/calls').set(bearer('ct_not-a-token'))).status).toBe(401);
  });
});

describe('PATCH /api/calls/:id', () => {
  it('annotates topic, outcome and notes, bumps the version and publishes the whole record', async () => {
    const { user, agent } = await ctx.f.login('manager');
    const id = await call({ agentUserId: user.id });
    const sale = await outcomeId(agent, 'sale');
    const pushed: CallRecordDto[] = [];
    const unsubscribe = ctx.parts.bus.subscribe((c) => {
      if (c.id === id) pushed.push(c);
    });
    try {
      const before = (await agent.get(`/api/calls/${id}`)).body as CallRecordDto;
      const res = await agent.patch(`/api/calls/${id}`).send({ topic: '  Delivery date  ', outcome: sale, notes: 'Wants Tuesday' });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ id, topic: 'Delivery date', outcome: { id: sale, name: 'Sale' }, notes: 'Wants Tuesday' });
      expect(res.body.version).toBeGreaterThan(before.version);
      expect(Number.isSafeInteger(res.body.version)).toBe(true);
      // nothing else changed
      expect({ ...res.body, version: 0, topic: null, outcome: null, notes: null }).toEqual({ ...before, version: 0 });
      expect(res.body).toEqual((await agent.get(`/api/calls/${id}`)).body);
      expect(pushed).toEqual([res.body]);
      const [row] = await ctx.ds.query(`SELECT annotated_by, annotated_at IS NOT NULL AS stamped FROM calls WHERE id = $1`, [id]);
      expect(row).toEqual({ annotated_by: user.id, stamped: true });

      const cleared = await agent.patch(`/api/calls/${id}`).send({ outcome: null, notes: '' });
      expect(cleared.body).toMatchObject({ topic: 'Delivery date', outcome: null, notes: null });
      expect(cleared.body.version).toBeGreaterThan(res.body.version);
      expect(pushed).toEqual([res.body, cleared.body]);
    } finally {
      unsubscribe();
    }
  });

  it('validates: unknown or inactive outcome, bad outcome id, empty body, unknown field → 400, nothing published', async () => {
    const { user, agent } = await ctx.f.login('manager');
    const admin = await someone('admin');
    const id = await call({ agentUserId: user.id });
    const [before] = await ctx.ds.query(`SELECT version::text AS version FROM calls WHERE id = $1`, [id]);
    const retired = (await admin.post('/api/outcomes').send({ name: `Retired ${unique()}`, active: false })).body.id as string;
    const pushed: string[] = [];
    const unsubscribe = ctx.parts.bus.subscribe((c) => pushed.push(c.id));
    try {
      const cases: [Record<string, unknown>, string][] = [
        [{ outcome: crypto.randomUUID() }, 'outcome'],
        [{ outcome: retired }, 'outcome'],
        [{ outcome: 'sale' }, 'outcome'],
        [{}, 'topic, outcome, notes'],
        [{ topic: 'x', rating: 5 }, 'rating'],
        [{ topic: 'x'.repeat(501) }, 'topic'],
      ];
      for (const [body, mention] of cases) {
        const res = await agent.patch(`/api/calls/${id}`).send(body);
        expect([res.status, res.body.error?.message]).toEqual([400, expect.stringContaining(mention)]);
      }
    } finally {
      unsubscribe();
    }
    expect(pushed.filter((x) => x === id)).toEqual([]);
    const [row] = await ctx.ds.query(`SELECT version::text AS version, outcome_id FROM calls WHERE id = $1`, [id]);
    expect(row).toEqual({ version: before.version, outcome_id: null });
  });

  it('404 for a call the manager cannot see (unchanged, nothing published) and for an unknown call', async () => {
    const { agent } = await ctx.f.login('manager');
    const other = await ctx.f.user('manager');
    const id = await call({ agentUserId: other.id });
    const pushed: string[] = [];
    const unsubscribe = ctx.parts.bus.subscribe((c) => pushed.push(c.id));
    try {
      expect((await agent.patch(`/api/calls/${id}`).send({ topic: 'sneaky' })).status).toBe(404);
      expect((await agent.patch(`/api/calls/${crypto.randomUUID()}`).send({ topic: 'x' })).status).toBe(404);
    } finally {
      unsubscribe();
    }
    expect(pushed).not.toContain(id);
    const [row] = await ctx.ds.query(`SELECT version::text AS version, topic FROM calls WHERE id = $1`, [id]);
    expect(row).toEqual({ version: '1', topic: null });
  });

  it('a supervisor may annotate any call', async () => {
    const { agent } = await ctx.f.login('supervisor');
    const id = await call({ agentUserId: (await ctx.f.user('manager')).id });
    const res = await agent.patch(`/api/calls/${id}`).send({ notes: 'reviewed' });
    expect([res.status, res.body.notes]).toEqual([200, 'reviewed']);
    expect(res.body.version).toBeGreaterThan(1);
  });
});

describe('outcomes', () => {
  const SEEDED = ['sale', 'consultation', 'complaint', 'callback-needed', 'wrong-number', 'spam'];

  it.each(['manager', 'supervisor', 'admin'] as const)('the six seeded outcomes are listed for a %s, in order', async (role) => {
    const agent = await someone(role);
    const res = await agent.get('/api/outcomes');
    expect(res.status).toBe(200);
    const seeded = res.body.items.filter((o: { code: string | null }) => o.code !== null);
    expect(seeded.map((o: { code: string }) => o.code)).toEqual(SEEDED);
    expect(seeded[0]).toEqual({ id: expect.any(String), code: 'sale', name: 'Sale', active: true, sortOrder: 10 });
  });

  it('anonymous gets 401', async () => {
    expect((await request(ctx.app).get('/api/outcomes')).status).toBe(401);
    expect((await request(ctx.app).post('/api/outcomes').send({ name: 'x' })).status).toBe(401);
  });

  it('admin creates, renames, deactivates and deletes an outcome', async () => {
    const agent = await someone('admin');
    const manager = await someone('manager');
    const name = `Deal ${unique()}`;
    const created = await agent.post('/api/outcomes').send({ name });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ id: expect.any(String), code: null, name, active: true, sortOrder: expect.any(Number) });
    const id = created.body.id as string;
    expect(ids((await manager.get('/api/outcomes')).body.items)).toContain(id);

    const renamed = await agent.patch(`/api/outcomes/${id}`).send({ name: `${name} closed`, sortOrder: 5 });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ id, name: `${name} closed`, sortOrder: 5, active: true });

    const deactivated = await agent.patch(`/api/outcomes/${id}`).send({ active: false });
    expect(deactivated.body.active).toBe(false);
    expect(ids((await manager.get('/api/outcomes')).body.items)).not.toContain(id);
    expect(ids((await manager.get('/api/outcomes?all=true')).body.items)).not.toContain(id);
    expect(ids((await agent.get('/api/outcomes')).body.items)).not.toContain(id);
    expect(ids((await agent.get('/api/outcomes?all=true')).body.items)).toContain(id);

    const unchanged = await agent.patch(`/api/outcomes/${id}`).send({});
    expect([unchanged.status, unchanged.body.name]).toEqual([200, `${name} closed`]);

    const removed = await agent.delete(`/api/outcomes/${id}`);
    expect(removed.status).toBe(200);
    expect(removed.body).toEqual({ deleted: true, deactivated: false });
    expect(await ctx.ds.query(`SELECT id FROM outcomes WHERE id = $1`, [id])).toEqual([]);
  });

  it('a duplicate name (any case) is a 409, on create and on rename', async () => {
    const agent = await someone('admin');
    expect((await agent.post('/api/outcomes').send({ name: 'sale' })).status).toBe(409);
    const name = `Dup ${unique()}`;
    const first = await agent.post('/api/outcomes').send({ name });
    const dup = await agent.post('/api/outcomes').send({ name: name.toUpperCase() });
    expect(dup.status).toBe(409);
    expect(dup.body.error.code).toBe('conflict');
    const rename = await agent.patch(`/api/outcomes/${first.body.id}`).send({ name: 'Spam' });
    expect(rename.status).toBe(409);
    expect((await agent.patch(`/api/outcomes/${first.body.id}`).send({ name })).status).toBe(200);
  });

  it('validates bodies and ids', async () => {
    const agent = await someone('admin');
    for (const [body, field] of [
      [{ name: '' }, 'name'],
      [{ name: 'x', sortOrder: -1 }, 'sortOrder'],
      [{ name: 'x', code: 'x' }, 'code'],
      [{}, 'name'],
    ] as const) {
      const res = await agent.post('/api/outcomes').send(body);
      expect([res.status, res.body.error?.message]).toEqual([400, expect.stringContaining(field)]);
    }
    expect((await agent.patch(`/api/outcomes/${crypto.randomUUID()}`).send({ name: 'x' })).status).toBe(404);
    expect((await agent.delete(`/api/outcomes/${crypto.randomUUID()}`)).status).toBe(404);
    expect((await agent.delete('/api/outcomes/sale')).status).toBe(400);
  });

  it.each(['manager', 'supervisor'] as const)('a %s gets 403 on outcome changes', async (role) => {
    const agent = await someone(role);
    const admin = await someone('admin');
    const target = (await admin.post('/api/outcomes').send({ name: `Target ${unique()}` })).body.id as string;
    const statuses = [
      (await agent.post('/api/outcomes').send({ name: `X ${unique()}` })).status,
      (await agent.patch(`/api/outcomes/${target}`).send({ name: 'hijacked' })).status,
      (await agent.delete(`/api/outcomes/${target}`)).status,
    ];
    expect(statuses).toEqual([403, 403, 403]);
    const [row] = await ctx.ds.query(`SELECT name FROM outcomes WHERE id = $1`, [target]);
    expect(row.name).toMatch(/^Target /);
  });

  it('deleting an outcome used by a call deactivates it; the call keeps its annotation', async () => {
    const admin = await someone('admin');
    const { user, agent } = await ctx.f.login('manager');
    const name = `Used ${unique()}`;
    const id = (await admin.post('/api/outcomes').send({ name })).body.id as string;
    const callId = await call({ agentUserId: user.id });
    expect((await agent.patch(`/api/calls/${callId}`).send({ outcome: id })).status).toBe(200);

    const res = await admin.delete(`/api/outcomes/${id}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ deleted: false, deactivated: true });
    const [row] = await ctx.ds.query(`SELECT active FROM outcomes WHERE id = $1`, [id]);
    expect(row.active).toBe(false);
    expect((await agent.get(`/api/calls/${callId}`)).body.outcome).toEqual({ id, name });
    expect(ids((await agent.get('/api/outcomes')).body.items)).not.toContain(id);
    // an inactive outcome cannot be chosen again
    expect((await agent.patch(`/api/calls/${callId}`).send({ outcome: id })).status).toBe(400);
  });
});

describe('calls follow their number when it gets a contact', () => {
  it('links past calls of a number to a contact created later, and unlinks them when it is deleted', async () => {
    const admin = await ctx.f.login('admin');
    const number = ctx.f.phone();
    const before = await ctx.f.call({ externalNumber: number, startedAt: new Date(Date.now() - 3_600_000) });
    const updates: string[] = [];
    const unsubscribe = ctx.parts.bus.subscribe((c) => updates.push(c.id));
    const { user: manager, agent } = await ctx.f.login('manager');
    expect((await agent.get(`/api/calls/${before}`)).status).toBe(404);
    const created = await agent.post('/api/contacts').send({ firstName: 'Пізніше', phones: [{ number }] });
    expect(created.status).toBe(201);
    unsubscribe();
    const linked = await admin.agent.get(`/api/calls/${before}`);
    expect(linked.body).toMatchObject({ contact: { id: created.body.id, name: 'Пізніше' }, contactMatch: 'matched' });
    expect(updates).toContain(before);
    // the manager owns the new contact, so the past call is now theirs to see
    expect(manager.id).toBe(created.body.owner.id);
    expect((await agent.get(`/api/calls/${before}`)).status).toBe(200);
    const byContact = await admin.agent.get(`/api/calls?contact=${created.body.id}`);
    expect(byContact.body.items.map((c: { id: string }) => c.id)).toEqual([before]);

    expect((await agent.delete(`/api/contacts/${created.body.id}`)).status).toBe(204);
    const unlinked = await admin.agent.get(`/api/calls/${before}`);
    expect(unlinked.body).toMatchObject({ contact: null, contactMatch: 'none' });
  });
});
