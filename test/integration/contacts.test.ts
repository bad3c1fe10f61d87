import crypto from 'node:crypto';
import request from 'supertest';
import { createTestContext, type TestContext } from '../helpers/test-context';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.close());

// a letter first: an all-digit tag (2% of draws) would be searched as a phone number fragment
const unique = () => `t${crypto.randomBytes(4).toString('hex')}`;

type Agent = Awaited<ReturnType<TestContext['f']['login']>>['agent'];
const sessions = new Map<string, Promise<{ agent: Agent }>>();
/** A logged-in user of `role`, shared by the tests that only need someone with that role (logins cost a bcrypt each). */
function someone(role: 'admin' | 'supervisor' | 'manager'): Promise<{ agent: Agent }> {
  if (!sessions.has(role))
    sessions.set(
      role,
      ctx.f.login(role).then((l) => ({ agent: l.agent })),
    );
  return sessions.get(role)!;
}

/** A fresh Ukrainian mobile number in every form people type it. */
function number() {
  const e164 = ctx.f.phone(); // +38050XXXXXXX
  const s = e164.slice(6); // 7 digits
  const [a, b, c] = [s.slice(0, 3), s.slice(3, 5), s.slice(5, 7)];
  return {
    e164,
    national: `050${s}`,
    international: `+380 50 ${a}-${b}-${c}`,
    trunk8: `8 050 ${a} ${b} ${c}`,
    brackets: `(050) ${a} ${b} ${c}`,
    noPlus: `380${e164.slice(4)}`,
    digits: s,
  };
}
const ids = (items: { id: string }[]) => items.map((i) => i.id);

describe('contacts CRUD', () => {
  it('stores phones typed in any form as E.164 and keeps what was typed', async () => {
    const { agent } = await someone('manager');
    const n = [number(), number(), number(), number(), number()];
    const typed = [n[0]!.national, n[1]!.international, n[2]!.trunk8, n[3]!.brackets, n[4]!.noPlus];
    const res = await agent
      .post('/api/contacts')
      .send({ firstName: 'Ivan', lastName: 'Franko', phones: typed.map((number, i) => ({ number, label: i === 0 ? 'mobile' : null })) });
    expect(res.status).toBe(201);
    const stored = await ctx.ds.query(`SELECT raw, e164, label FROM phones WHERE contact_id = $1 ORDER BY raw`, [res.body.id]);
    expect(new Map(stored.map((p: { raw: string; e164: string }) => [p.raw, p.e164]))).toEqual(
      new Map(typed.map((t, i) => [t, n[i]!.e164])),
    );
    expect(res.body.phones).toHaveLength(5);
    expect(res.body.phones.find((p: { number: string }) => p.number === typed[0])).toMatchObject({ e164: n[0]!.e164, label: 'mobile' });
    expect(res.body).toMatchObject({ firstName: 'Ivan', lastName: 'Franko', name: 'Ivan Franko', organization: null, tags: [] });
  });

  it('reads, updates (phones replace the old set) and deletes a contact', async () => {
    const { agent } = await someone('supervisor');
    const org = await ctx.f.organization();
    const [p1, p2] = [number(), number()];
    const created = await agent.post('/api/contacts').send({
      firstName: 'Lesya',
      organizationId: org.id,
      birthday: '1990-02-25',
      email: 'lesya@example.test',
      tags: ['vip'],
      phones: [{ number: p1.national }],
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      organization: { id: org.id, name: org.name },
      owner: null,
      birthday: '1990-02-25',
      email: 'lesya@example.test',
      tags: ['vip'],
    });
    const id = created.body.id as string;

    expect((await agent.get(`/api/contacts/${id}`)).body).toEqual(created.body);

    const patched = await agent
      .patch(`/api/contacts/${id}`)
      .send({ lastName: 'Ukrainka', organizationId: null, phones: [{ number: p2.brackets, label: 'work' }] });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ name: 'Lesya Ukrainka', organization: null, email: 'lesya@example.test' });
    expect(patched.body.phones).toEqual([expect.objectContaining({ number: p2.brackets, e164: p2.e164, label: 'work' })]);
    expect(await ctx.ds.query(`SELECT e164 FROM phones WHERE contact_id = $1`, [id])).toEqual([{ e164: p2.e164 }]);

    // a PATCH without phones keeps them
    const renamed = await agent.patch(`/api/contacts/${id}`).send({ firstName: 'Larysa' });
    expect(renamed.body.phones).toHaveLength(1);

    expect((await agent.delete(`/api/contacts/${id}`)).status).toBe(204);
    expect((await agent.get(`/api/contacts/${id}`)).status).toBe(404);
    expect(await ctx.ds.query(`SELECT id FROM phones WHERE contact_id = $1`, [id])).toEqual([]);
  });

  it('400 naming phones.N.number for a bad phone, and nothing is stored', async () => {
    const { agent } = await someone('manager');
    const name = `Bad ${unique()}`;
    const res = await agent
      .post('/api/contacts')
      .send({ firstName: name, phones: [{ number: number().national }, { number: '12-ab-34' }] });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain('phones.1.number');
    for (const bad of ['101', '+380 50 111 22 3']) {
      const r = await agent.post('/api/contacts').send({ firstName: name, phones: [{ number: bad }] });
      expect(r.status).toBe(400);
      expect(r.body.error.message).toContain('phones.0.number');
    }
    expect(await ctx.ds.query(`SELECT id FROM contacts WHERE first_name = $1`, [name])).toEqual([]);

    const c = await ctx.f.contact({ phones: [number().national] });
    const patch = await agent.patch(`/api/contacts/${c.id}`).send({ phones: [{ number: 'nope' }] });
    expect(patch.status).toBe(400);
    expect(patch.body.error.message).toContain('phones.0.number');
    expect((await agent.get(`/api/contacts/${c.id}`)).body.phones).toEqual(c.phones);
  });

  it('400 naming the field for unknown fields and bad values', async () => {
    const { agent } = await someone('manager');
    const cases: [Record<string, unknown>, string][] = [
      [{ firstName: 'X', nickname: 'y' }, 'nickname'],
      [{ firstName: '' }, 'firstName'],
      [{ firstName: 'X', email: 'nope' }, 'email'],
      [{ firstName: 'X', birthday: '25.02.1990' }, 'birthday'],
      [{ firstName: 'X', organizationId: 'abc' }, 'organizationId'],
      [{ firstName: 'X', organizationId: crypto.randomUUID() }, 'organizationId'],
      [{ firstName: 'X', ownerId: crypto.randomUUID() }, 'ownerId'],
      [{ firstName: 'X', phones: [{ number: number().national, kind: 'mobile' }] }, 'phones.0.kind'],
    ];
    for (const [body, field] of cases) {
      const res = await agent.post('/api/contacts').send(body);
      expect([res.status, res.body.error?.message]).toEqual([400, expect.stringContaining(`${field}:`)]);
    }
    const org = await agent.post('/api/organizations').send({ name: 'X', website: 'x' });
    expect(org.status).toBe(400);
    expect(org.body.error.message).toContain('website');
  });

  it('malformed JSON is a 400 that says so', async () => {
    const { agent } = await someone('manager');
    const res = await agent.post('/api/contacts').set('Content-Type', 'application/json').send('{"firstName": "Ivan",');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation');
    expect(res.body.error.message).toMatch(/JSON/);
  });

  it('404 for unknown contacts and organizations, 400 for malformed ids', async () => {
    const { agent } = await someone('admin');
    const id = crypto.randomUUID();
    const statuses = [
      (await agent.get(`/api/contacts/${id}`)).status,
      (await agent.patch(`/api/contacts/${id}`).send({ firstName: 'X' })).status,
      (await agent.delete(`/api/contacts/${id}`)).status,
      (await agent.get(`/api/organizations/${id}`)).status,
      (await agent.patch(`/api/organizations/${id}`).send({ name: 'X' })).status,
      (await agent.delete(`/api/organizations/${id}`)).status,
    ];
    expect(statuses).toEqual([404, 404, 404, 404, 404, 404]);
    expect((await agent.get('/api/contacts/xyz')).status).toBe(400);
    expect((await agent.get('/api/organizations/xyz')).status).toBe(400);
  });

  it('anonymous gets 401', async () => {
    const id = crypto.randomUUID();
    const statuses = [
      (await request(ctx.app).get('/api/contacts')).status,
      (await request(ctx.app).get('/api/contacts/lookup?phone=0501112233')).status,
      (await request(ctx.app).post('/api/contacts').send({ firstName: 'X' })).status,
      (await request(ctx.app).get(`/api/contacts/${id}`)).status,
      (await request(ctx.app).delete(`/api/contacts/${id}`)).status,
      (await request(ctx.app).get('/api/organizations')).status,
      (await request(ctx.app).post('/api/organizations').send({ name: 'X' })).status,
      (await request(ctx.app).patch(`/api/organizations/${id}`).send({ name: 'X' })).status,
    ];
    expect(statuses.every((s) => s === 401)).toBe(true);
  });
});

describe('contacts: who may do what', () => {
  it('a manager creating a contact becomes its personal manager; an explicit owner wins', async () => {
    const { user, agent } = await ctx.f.login('manager');
    const res = await agent.post('/api/contacts').send({ firstName: 'Mine' });
    expect(res.body.owner).toEqual({ id: user.id, name: user.name });
    const other = await ctx.f.user('manager');
    const given = await agent.post('/api/contacts').send({ firstName: 'Theirs', ownerId: other.id });
    expect(given.body.owner).toEqual({ id: other.id, name: other.name });
    const none = await agent.post('/api/contacts').send({ firstName: 'Nobody’s', ownerId: null });
    expect(none.body.owner).toBeNull();

    const { agent: sup } = await someone('supervisor');
    expect((await sup.post('/api/contacts').send({ firstName: 'Team' })).body.owner).toBeNull();
  });

  it('a manager cannot take over a contact they do not own (its calls would become visible); hand-over is theirs to give', async () => {
    const me = await ctx.f.login('manager');
    const other = await ctx.f.user('manager');
    const theirs = await ctx.f.contact({ ownerId: other.id });
    const unowned = await ctx.f.contact();
    const callId = await ctx.f.call({ agentUserId: other.id, contactId: theirs.id });

    for (const c of [theirs, unowned]) {
      const res = await me.agent.patch(`/api/contacts/${c.id}`).send({ ownerId: me.user.id });
      expect(res.status).toBe(403);
    }
    expect((await me.agent.patch(`/api/contacts/${theirs.id}`).send({ ownerId: null })).status).toBe(403);
    expect(
      await ctx.ds.query(`SELECT owner_id FROM contacts WHERE id = ANY($1::uuid[]) ORDER BY owner_id`, [[theirs.id, unowned.id]]),
    ).toEqual([{ owner_id: other.id }, { owner_id: null }]);
    expect((await me.agent.get(`/api/calls/${callId}`)).status).toBe(404);
    // other fields of any contact stay editable, and an unchanged owner is no reassignment
    const edited = await me.agent.patch(`/api/contacts/${theirs.id}`).send({ notes: 'called back', ownerId: other.id });
    expect([edited.status, edited.body.notes]).toEqual([200, 'called back']);

    // their own contact: a manager may hand it over
    const mine = await ctx.f.contact({ ownerId: me.user.id });
    const handed = await me.agent.patch(`/api/contacts/${mine.id}`).send({ ownerId: other.id });
    expect([handed.status, handed.body.owner?.id]).toEqual([200, other.id]);
    // a supervisor reassigns any
    const { agent: sup } = await someone('supervisor');
    const reassigned = await sup.patch(`/api/contacts/${theirs.id}`).send({ ownerId: me.user.id });
    expect([reassigned.status, reassigned.body.owner?.id]).toEqual([200, me.user.id]);
    expect((await me.agent.get(`/api/calls/${callId}`)).status).toBe(200);
  });

  it('a manager deletes only their own contacts (403 otherwise); supervisors and admins delete any', async () => {
    const me = await ctx.f.login('manager');
    const other = await ctx.f.user('manager');
    const mine = await ctx.f.contact({ ownerId: me.user.id });
    const theirs = await ctx.f.contact({ ownerId: other.id });
    const unowned = await ctx.f.contact();

    const refused = await me.agent.delete(`/api/contacts/${theirs.id}`);
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('forbidden');
    expect((await me.agent.delete(`/api/contacts/${unowned.id}`)).status).toBe(403);
    expect(await ctx.ds.query(`SELECT id FROM contacts WHERE id = ANY($1::uuid[]) ORDER BY id`, [[theirs.id, unowned.id]])).toHaveLength(2);
    expect((await me.agent.delete(`/api/contacts/${mine.id}`)).status).toBe(204);

    const { agent: sup } = await someone('supervisor');
    const { agent: admin } = await someone('admin');
    expect((await sup.delete(`/api/contacts/${theirs.id}`)).status).toBe(204);
    expect((await admin.delete(`/api/contacts/${unowned.id}`)).status).toBe(204);
    expect(await ctx.ds.query(`SELECT id FROM contacts WHERE id = ANY($1::uuid[])`, [[mine.id, theirs.id, unowned.id]])).toEqual([]);
  });

  it('organization delete: 403 for a manager, 204 for a supervisor; its contacts stay, unlinked', async () => {
    const { agent: manager } = await someone('manager');
    const { agent: sup } = await someone('supervisor');
    const org = await ctx.f.organization({ phones: [number().national] });
    const member = await ctx.f.contact({ organizationId: org.id });

    expect((await manager.delete(`/api/organizations/${org.id}`)).status).toBe(403);
    expect((await manager.get(`/api/organizations/${org.id}`)).status).toBe(200);
    expect((await sup.delete(`/api/organizations/${org.id}`)).status).toBe(204);
    expect((await sup.get(`/api/organizations/${org.id}`)).status).toBe(404);
    expect((await sup.get(`/api/contacts/${member.id}`)).body.organization).toBeNull();
    expect(await ctx.ds.query(`SELECT id FROM phones WHERE organization_id = $1`, [org.id])).toEqual([]);
  });
});

describe('organizations CRUD', () => {
  it('creates, reads with its contacts, updates and lists organizations', async () => {
    const { agent } = await someone('manager');
    const [p1, p2] = [number(), number()];
    const name = `Roshen ${unique()}`;
    const created = await agent
      .post('/api/organizations')
      .send({ name, notes: 'sweets', phones: [{ number: p1.trunk8, label: 'office' }] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name,
      notes: 'sweets',
      contacts: [],
      phones: [expect.objectContaining({ number: p1.trunk8, e164: p1.e164, label: 'office' })],
    });
    const id = created.body.id as string;
    const member = await ctx.f.contact({ firstName: 'Petro', organizationId: id });

    const got = await agent.get(`/api/organizations/${id}`);
    expect(got.body.contacts).toEqual([{ id: member.id, name: member.name }]);

    const patched = await agent.patch(`/api/organizations/${id}`).send({ name: `${name} Ltd`, phones: [{ number: p2.international }] });
    expect(patched.status).toBe(200);
    expect(patched.body.name).toBe(`${name} Ltd`);
    expect(patched.body.phones.map((p: { e164: string }) => p.e164)).toEqual([p2.e164]);
    expect(patched.body.notes).toBe('sweets');

    const bad = await agent.patch(`/api/organizations/${id}`).send({ phones: [{ number: 'abc' }] });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('phones.0.number');

    const byName = await agent.get('/api/organizations').query({ q: name.toUpperCase().slice(2) });
    expect(ids(byName.body.items)).toEqual([id]);
    expect(byName.body.items[0]).toEqual(patched.body);
  });

  it('finds organizations by any form of their own or their contacts’ phones, and by a digit fragment', async () => {
    const { agent } = await someone('manager');
    const [own, members] = [number(), number()];
    const org = await ctx.f.organization({ phones: [own.national] });
    await ctx.f.contact({ organizationId: org.id, phones: [members.national] });
    for (const q of [own.international, own.trunk8, members.brackets, members.noPlus, own.digits]) {
      const res = await agent.get('/api/organizations').query({ q });
      expect([q, ids(res.body.items)]).toEqual([q, expect.arrayContaining([org.id])]);
    }
  });
});

describe('contact search', () => {
  it('by name: case-insensitive and partial; by email; by organization name', async () => {
    const { agent } = await someone('manager');
    const tag = unique();
    const org = await ctx.f.organization({ name: `Orgname${tag}` });
    const c = await agent
      .post('/api/contacts')
      .send({ firstName: `Taras${tag}`, lastName: 'Shevchenko', email: `kobzar${tag}@example.test`, organizationId: org.id });
    const other = await ctx.f.contact({ firstName: `Someone${tag}` });
    for (const q of [`TARAS${tag}`, `aras${tag} shev`, `KOBZAR${tag}`, `orgname${tag}`]) {
      const res = await agent.get('/api/contacts').query({ q });
      expect([q, ids(res.body.items)]).toEqual([q, [c.body.id]]);
    }
    const both = await agent.get('/api/contacts').query({ q: tag });
    expect(ids(both.body.items).sort()).toEqual([c.body.id, other.id].sort());
  });

  it('a LIKE wildcard in the search term is literal', async () => {
    const { agent } = await someone('manager');
    const tag = unique();
    await ctx.f.contact({ firstName: `Wild${tag}x` });
    const res = await agent.get('/api/contacts').query({ q: `Wild${tag}%` });
    expect(res.body.items).toEqual([]);
    const under = await agent.get('/api/contacts').query({ q: `Wild${tag}_` });
    expect(under.body.items).toEqual([]);
  });

  it('by any form of a phone number, and by a digit fragment', async () => {
    const { agent } = await someone('manager');
    const n = number();
    const c = await ctx.f.contact({ phones: [n.national] });
    for (const q of [n.national, n.international, n.trunk8, n.brackets, n.noPlus, n.e164]) {
      const res = await agent.get('/api/contacts').query({ q });
      expect([q, ids(res.body.items)]).toEqual([q, [c.id]]);
    }
    const fragment = await agent.get('/api/contacts').query({ q: `${n.digits.slice(0, 3)} ${n.digits.slice(3)}` });
    expect(ids(fragment.body.items)).toContain(c.id);
    const wrong = await agent.get('/api/contacts').query({ q: number().national });
    expect(ids(wrong.body.items)).not.toContain(c.id);
  });

  it('filters by owner and organization, paginates with nextOffset, validates the query', async () => {
    const { user, agent } = await ctx.f.login('manager');
    const org = await ctx.f.organization();
    const created = [];
    for (let i = 0; i < 3; i++)
      created.push(await ctx.f.contact({ firstName: `P${i}`, ownerId: user.id, organizationId: i < 2 ? org.id : null }));
    const mine = await agent.get('/api/contacts').query({ ownerId: user.id });
    expect(ids(mine.body.items)).toEqual(ids(created));
    expect(mine.body.nextOffset).toBeNull();
    const inOrg = await agent.get('/api/contacts').query({ organizationId: org.id });
    expect(ids(inOrg.body.items)).toEqual(ids(created.slice(0, 2)));

    const page1 = await agent.get('/api/contacts').query({ ownerId: user.id, limit: 2 });
    expect(ids(page1.body.items)).toEqual(ids(created.slice(0, 2)));
    expect(page1.body.nextOffset).toBe(2);
    const page2 = await agent.get('/api/contacts').query({ ownerId: user.id, limit: 2, offset: 2 });
    expect(ids(page2.body.items)).toEqual(ids(created.slice(2)));
    expect(page2.body.nextOffset).toBeNull();

    for (const [query, field] of [
      [{ limit: '0' }, 'limit'],
      [{ limit: '101' }, 'limit'],
      [{ offset: '-1' }, 'offset'],
      [{ ownerId: 'me' }, 'ownerId'],
      [{ sort: 'name' }, 'sort'],
    ] as const) {
      const res = await agent.get('/api/contacts').query(query);
      expect([res.status, res.body.error?.message]).toEqual([400, expect.stringContaining(field)]);
    }
  });
});

describe('GET /api/contacts/lookup', () => {
  it('finds the contact with its organization, from any form of the number', async () => {
    const { agent } = await someone('manager');
    const n = number();
    const org = await ctx.f.organization();
    const c = await ctx.f.contact({ organizationId: org.id, phones: [n.national] });
    for (const phone of [n.international, n.trunk8, n.brackets, n.noPlus]) {
      const res = await agent.get('/api/contacts/lookup').query({ phone });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        phone: n.e164,
        match: 'matched',
        contact: c,
        organization: { id: org.id, name: org.name },
        candidates: [],
      });
    }
  });

  it('a contact’s number also listed as its own organization’s phone still matches the contact', async () => {
    const { agent } = await someone('manager');
    const n = number();
    const org = await ctx.f.organization({ phones: [n.national] });
    const c = await ctx.f.contact({ organizationId: org.id, phones: [n.national] });
    const res = await agent.get('/api/contacts/lookup').query({ phone: n.e164 });
    expect(res.body).toMatchObject({ match: 'matched', contact: { id: c.id }, organization: { id: org.id } });
  });

  it('matches an organization by its own phones', async () => {
    const { agent } = await someone('manager');
    const n = number();
    const org = await ctx.f.organization({ phones: [n.brackets] });
    const res = await agent.get('/api/contacts/lookup').query({ phone: n.national });
    expect(res.body).toEqual({
      phone: n.e164,
      match: 'matched',
      contact: null,
      organization: { id: org.id, name: org.name },
      candidates: [],
    });
  });

  it('is ambiguous when two contacts share the number: never picks one, lists both', async () => {
    const { agent } = await someone('manager');
    const n = number();
    const a = await ctx.f.contact({ firstName: 'Andriy', phones: [n.national] });
    const b = await ctx.f.contact({ firstName: 'Bohdan', phones: [n.trunk8] });
    const res = await agent.get('/api/contacts/lookup').query({ phone: n.international });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ phone: n.e164, match: 'ambiguous', contact: null, organization: null });
    expect(res.body.candidates).toHaveLength(2);
    expect(res.body.candidates).toEqual(
      expect.arrayContaining([
        { contactId: a.id, organizationId: null, name: a.name },
        { contactId: b.id, organizationId: null, name: b.name },
      ]),
    );
  });

  it('none for a number nobody has', async () => {
    const { agent } = await someone('manager');
    const n = number();
    const res = await agent.get('/api/contacts/lookup').query({ phone: n.national });
    expect(res.body).toEqual({ phone: n.e164, match: 'none', contact: null, organization: null, candidates: [] });
  });

  it.each([
    ['garbage', 'abc'],
    ['an extension', '101'],
    ['an empty phone', ''],
    ['a too short number', '+380 50 111'],
  ])('400 for %s', async (_what, phone) => {
    const { agent } = await someone('manager');
    const res = await agent.get('/api/contacts/lookup').query({ phone });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain('phone');
  });

  it('400 without the phone parameter', async () => {
    const { agent } = await someone('manager');
    const res = await agent.get('/api/contacts/lookup');
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain('phone');
  });
});
