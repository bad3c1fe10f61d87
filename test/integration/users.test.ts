import crypto from 'node:crypto';
import request from 'supertest';
import { createTestContext, loginAgent, type TestContext } from '../helpers/test-context';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.close());

const unique = () => crypto.randomBytes(4).toString('hex');

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
const newUser = (fields: Record<string, unknown> = {}) => ({
  email: `user-${unique()}@example.test`,
  name: `User ${unique()}`,
  password: `pw-${unique()}-long`,
  role: 'manager',
  extensions: [ctx.f.extension()],
  ...fields,
});

describe('users: admin CRUD with extensions', () => {
  it('creates, reads, lists, updates and deletes a user with extensions', async () => {
    const admin = await someone('admin');
    const body = newUser();
    const ext = body.extensions[0] as string;

    const created = await admin.agent.post('/api/users').send(body);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      email: body.email,
      name: body.name,
      role: 'manager',
      locale: 'uk',
      active: true,
      extensions: [ext],
    });
    expect(created.body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.body.password).toBeUndefined();
    expect(created.body.passwordHash).toBeUndefined();
    const id = created.body.id as string;

    // database state: the extension row belongs to the user, the password is hashed
    const [row] = await ctx.ds.query(`SELECT password_hash FROM users WHERE id = $1`, [id]);
    expect(row.password_hash).not.toContain(body.password);
    const extRows = await ctx.ds.query(`SELECT user_id FROM extensions WHERE number = $1`, [ext]);
    expect(extRows).toEqual([{ user_id: id }]);

    const got = await admin.agent.get(`/api/users/${id}`);
    expect(got.status).toBe(200);
    expect(got.body).toEqual(created.body);

    const list = await admin.agent.get('/api/users');
    expect(list.status).toBe(200);
    expect(list.body.items.find((u: { id: string }) => u.id === id)).toEqual(created.body);

    // the new user can log in with the given password
    await loginAgent(ctx.app, body.email, body.password);

    const ext2 = ctx.f.extension();
    const patched = await admin.agent
      .patch(`/api/users/${id}`)
      .send({ name: 'Renamed', role: 'supervisor', locale: 'en', extensions: [ext2, ext] });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ id, name: 'Renamed', role: 'supervisor', locale: 'en', extensions: [ext, ext2].sort() });

    expect((await admin.agent.delete(`/api/users/${id}`)).status).toBe(204);
    expect((await admin.agent.get(`/api/users/${id}`)).status).toBe(404);
    expect(await ctx.ds.query(`SELECT id FROM users WHERE id = $1`, [id])).toEqual([]);
  });

  it('stores the email lowercased and refuses a duplicate email in any case (409)', async () => {
    const admin = await someone('admin');
    const body = newUser({ email: `Mixed-${unique()}@Example.TEST`, extensions: [] });
    const created = await admin.agent.post('/api/users').send(body);
    expect(created.status).toBe(201);
    expect(created.body.email).toBe((body.email as string).toLowerCase());

    const dup = await admin.agent.post('/api/users').send(newUser({ email: (body.email as string).toUpperCase(), extensions: [] }));
    expect(dup.status).toBe(409);
    expect(dup.body.error.code).toBe('conflict');
    expect(dup.body.error.message).toContain((body.email as string).toLowerCase());

    // changing another user's email to a taken one is a conflict too
    const other = await ctx.f.user('manager');
    const clash = await admin.agent.patch(`/api/users/${other.id}`).send({ email: body.email });
    expect(clash.status).toBe(409);
  });

  it('refuses an extension owned by someone else (409) and leaves both users unchanged', async () => {
    const admin = await someone('admin');
    const ext = ctx.f.extension();
    const owner = await ctx.f.user('manager', [ext]);

    const res = await admin.agent.post('/api/users').send(newUser({ extensions: [ext] }));
    expect(res.status).toBe(409);
    expect(res.body.error.message).toContain(ext);

    const other = await ctx.f.user('manager');
    const patch = await admin.agent.patch(`/api/users/${other.id}`).send({ extensions: [ext] });
    expect(patch.status).toBe(409);
    expect((await admin.agent.get(`/api/users/${owner.id}`)).body.extensions).toEqual([ext]);
    expect((await admin.agent.get(`/api/users/${other.id}`)).body.extensions).toEqual([]);
  });

  it.each([
    ['email', { email: 'not-an-email' }],
    ['password', { password: 'short' }],
    ['role', { role: 'superuser' }],
    ['extensions.0', { extensions: ['1'] }],
    ['extensions.0', { extensions: ['10a'] }],
    ['isAdmin', { isAdmin: true }],
  ])('400 naming the field %s for a bad body', async (field, override) => {
    const admin = await someone('admin');
    const res = await admin.agent.post('/api/users').send(newUser(override));
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation');
    expect(res.body.error.message).toContain(`${field}:`);
    expect(res.body.error.details.problems[0].field).toBe(field);
  });

  it('400 naming the missing field', async () => {
    const admin = await someone('admin');
    const { name: _name, ...body } = newUser();
    const res = await admin.agent.post('/api/users').send(body);
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain('name:');
  });

  it('PATCH validates like POST', async () => {
    const admin = await someone('admin');
    const user = await ctx.f.user('manager');
    const bad = await admin.agent.patch(`/api/users/${user.id}`).send({ password: 'short' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('password:');
    const unknown = await admin.agent.patch(`/api/users/${user.id}`).send({ passwordHash: 'x' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toContain('passwordHash');
  });

  it('an empty PATCH changes nothing and answers 200', async () => {
    const admin = await someone('admin');
    const user = await ctx.f.user('manager', [ctx.f.extension()]);
    const res = await admin.agent.patch(`/api/users/${user.id}`).send({});
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: user.id, name: user.name, extensions: user.extensions });
  });

  it('404 on an unknown uuid, 400 on a malformed one', async () => {
    const admin = await someone('admin');
    const missing = crypto.randomUUID();
    for (const res of [
      await admin.agent.get(`/api/users/${missing}`),
      await admin.agent.patch(`/api/users/${missing}`).send({ name: 'x' }),
      await admin.agent.delete(`/api/users/${missing}`),
    ]) {
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('not-found');
    }
    for (const res of [
      await admin.agent.get('/api/users/not-a-uuid'),
      await admin.agent.patch('/api/users/not-a-uuid').send({ name: 'x' }),
      await admin.agent.delete('/api/users/123'),
    ]) {
      expect(res.status).toBe(400);
      expect(res.body.error.message).toContain('id:');
    }
  });

  it.each(['supervisor', 'manager'] as const)('a %s gets 403 on every users route', async (role) => {
    const { agent } = await someone(role);
    const target = await ctx.f.user('manager');
    const responses = [
      await agent.get('/api/users'),
      await agent.post('/api/users').send(newUser()),
      await agent.get(`/api/users/${target.id}`),
      await agent.patch(`/api/users/${target.id}`).send({ role: 'admin' }),
      await agent.delete(`/api/users/${target.id}`),
    ];
    expect(responses.map((r) => r.status)).toEqual([403, 403, 403, 403, 403]);
    const [row] = await ctx.ds.query(`SELECT role FROM users WHERE id = $1`, [target.id]);
    expect(row.role).toBe('manager');
  });

  it('anonymous gets 401 on every users route', async () => {
    const id = crypto.randomUUID();
    const responses = [
      await request(ctx.app).get('/api/users'),
      await request(ctx.app).post('/api/users').send(newUser()),
      await request(ctx.app).get(`/api/users/${id}`),
      await request(ctx.app).patch(`/api/users/${id}`).send({ name: 'x' }),
      await request(ctx.app).delete(`/api/users/${id}`),
    ];
    expect(responses.map((r) => r.status)).toEqual([401, 401, 401, 401, 401]);
    expect(responses[0]!.body.error.code).toBe('unauthenticated');
  });
});

describe('users: an admin and their own account', () => {
  it('cannot demote, deactivate or delete themselves, but can rename themselves', async () => {
    const { user, agent } = await ctx.f.login('admin');
    const demote = await agent.patch(`/api/users/${user.id}`).send({ role: 'manager' });
    expect(demote.status).toBe(400);
    expect(demote.body.error.message).toMatch(/own role/);
    expect((await agent.patch(`/api/users/${user.id}`).send({ active: false })).status).toBe(400);
    expect((await agent.delete(`/api/users/${user.id}`)).status).toBe(400);
    const [row] = await ctx.ds.query(`SELECT role, active FROM users WHERE id = $1`, [user.id]);
    expect(row).toEqual({ role: 'admin', active: true });
    expect((await agent.get('/api/me')).status).toBe(200);

    const renamed = await agent.patch(`/api/users/${user.id}`).send({ name: 'Still Admin', role: 'admin' });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ name: 'Still Admin', role: 'admin' });
  });

  it('another admin can demote and delete an admin', async () => {
    const admin = await someone('admin');
    const other = await ctx.f.user('admin');
    expect((await admin.agent.patch(`/api/users/${other.id}`).send({ role: 'manager' })).body.role).toBe('manager');
    expect((await admin.agent.delete(`/api/users/${other.id}`)).status).toBe(204);
  });
});

describe('users: passwords and sessions', () => {
  it("a password change ends that user's sessions; the new password works and the old does not", async () => {
    const admin = await someone('admin');
    const { user, agent } = await ctx.f.login('manager');
    const bystander = await ctx.f.login('manager');
    expect((await agent.get('/api/me')).status).toBe(200);

    const newPassword = `new-${unique()}-password`;
    const res = await admin.agent.patch(`/api/users/${user.id}`).send({ password: newPassword });
    expect(res.status).toBe(200);
    expect(await ctx.ds.query(`SELECT id FROM sessions WHERE user_id = $1`, [user.id])).toEqual([]);

    expect((await agent.get('/api/me')).status).toBe(401);
    expect((await bystander.agent.get('/api/me')).status).toBe(200);
    expect((await admin.agent.get('/api/me')).status).toBe(200);
    const old = await request(ctx.app).post('/api/auth/login').send({ email: user.email, password: user.password });
    expect(old.status).toBe(401);
    await loginAgent(ctx.app, user.email, newPassword);
  });

  it('a change of name only keeps the sessions', async () => {
    const admin = await someone('admin');
    const { user, agent } = await ctx.f.login('manager');
    expect((await admin.agent.patch(`/api/users/${user.id}`).send({ name: 'New Name' })).status).toBe(200);
    const me = await agent.get('/api/me');
    expect(me.status).toBe(200);
    expect(me.body.user.name).toBe('New Name');
  });
});

describe('GET/PATCH /api/me', () => {
  it('returns the logged-in user with their extensions and how they authenticated', async () => {
    const ext = ctx.f.extension();
    const { user, agent } = await ctx.f.login('supervisor', [ext]);
    const res = await agent.get('/api/me');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      via: 'session',
      user: {
        id: user.id,
        email: user.email,
        name: user.name,
        role: 'supervisor',
        locale: 'uk',
        active: true,
        extensions: [ext],
        createdAt: user.createdAt,
      },
    });
  });

  it('changes my name and language, and nothing else', async () => {
    const { user, agent } = await ctx.f.login('manager');
    const res = await agent.patch('/api/me').send({ name: '  Olena  ', locale: 'en' });
    expect(res.status).toBe(200);
    expect(res.body.user).toMatchObject({ id: user.id, name: 'Olena', locale: 'en', role: 'manager' });
    const [row] = await ctx.ds.query(`SELECT name, locale FROM users WHERE id = $1`, [user.id]);
    expect(row).toEqual({ name: 'Olena', locale: 'en' });

    const escalate = await agent.patch('/api/me').send({ role: 'admin' });
    expect(escalate.status).toBe(400);
    expect(escalate.body.error.message).toContain('role');
    expect((await agent.patch('/api/me').send({ locale: 'de' })).status).toBe(400);
    expect((await agent.patch('/api/me').send({ name: '' })).status).toBe(400);
    const [after] = await ctx.ds.query(`SELECT role FROM users WHERE id = $1`, [user.id]);
    expect(after.role).toBe('manager');
  });

  it('an empty PATCH /api/me answers 200 with me unchanged', async () => {
    const { user, agent } = await ctx.f.login('manager');
    const res = await agent.patch('/api/me').send({});
    expect(res.status).toBe(200);
    expect(res.body.user).toMatchObject({ id: user.id, name: user.name });
  });

  it('works with an API token and is 401 anonymous', async () => {
    const admin = await someone('admin');
    const manager = await ctx.f.user('manager');
    const token = (await admin.agent.post('/api/tokens').send({ name: 'me', userId: manager.id })).body.token as string;
    const res = await request(ctx.app).get('/api/me').set('Authorization', `Bearer ${token}`);
    expect(res.body).toMatchObject({ via: 'token', user: { id: manager.id } });
    expect((await request(ctx.app).get('/api/me')).status).toBe(401);
    expect((await request(ctx.app).patch('/api/me').send({ name: 'x' })).status).toBe(401);
  });
});

describe('the ExtensionDirectory follows user changes immediately', () => {
  it('reflects added, moved and removed extensions', async () => {
    const admin = await someone('admin');
    const [a, b] = [ctx.f.extension(), ctx.f.extension()];
    const { directory } = ctx.parts;
    expect(directory.has(a)).toBe(false);

    const created = await admin.agent.post('/api/users').send(newUser({ extensions: [a] }));
    const id = created.body.id as string;
    expect(directory.has(a)).toBe(true);
    expect(directory.lookup(a)).toEqual({ extension: a, userId: id, name: created.body.name });
    expect(directory.extensionsOf(id)).toEqual([a]);

    await admin.agent.patch(`/api/users/${id}`).send({ extensions: [b] });
    expect(directory.has(a)).toBe(false);
    expect(directory.lookup(b)?.userId).toBe(id);

    await admin.agent.patch(`/api/users/${id}`).send({ name: 'Desk B' });
    expect(directory.lookup(b)?.name).toBe('Desk B');

    await admin.agent.patch(`/api/users/${id}`).send({ extensions: [] });
    expect(directory.has(b)).toBe(false);
    expect(directory.extensionsOf(id)).toEqual([]);
  });

  it('keeps a deleted user’s extension as a known, unowned extension that another user can take', async () => {
    const admin = await someone('admin');
    const ext = ctx.f.extension();
    const user = await ctx.f.user('manager', [ext]);
    expect((await admin.agent.delete(`/api/users/${user.id}`)).status).toBe(204);
    expect(ctx.parts.directory.lookup(ext)).toEqual({ extension: ext, userId: null, name: null });

    const taker = await admin.agent.post('/api/users').send(newUser({ extensions: [ext] }));
    expect(taker.status).toBe(201);
    expect(ctx.parts.directory.lookup(ext)?.userId).toBe(taker.body.id);
  });
});
