import request from 'supertest';
import { createTestContext, type TestContext } from '../helpers/test-context';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.close());

describe('auth', () => {
  it('logs in with a session cookie (HttpOnly, SameSite=Lax, not Secure over plain HTTP) and logs out', async () => {
    const user = await ctx.f.user('manager', [ctx.f.extension()]);
    const agent = request.agent(ctx.app);
    const res = await agent.post('/api/auth/login').send({ email: user.email.toUpperCase(), password: user.password });
    expect(res.status).toBe(200);
    expect(res.body.user).toMatchObject({ id: user.id, email: user.email, role: 'manager', extensions: user.extensions });
    expect(res.body.user.passwordHash).toBeUndefined();
    const cookie = String(res.headers['set-cookie']);
    expect(cookie).toMatch(/calltrack_session=/);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).not.toMatch(/Secure/);

    const me = await agent.get('/api/me');
    expect(me.status).toBe(200);
    expect(me.body.user.id).toBe(user.id);

    expect((await agent.post('/api/auth/logout')).status).toBe(204);
    expect((await agent.get('/api/me')).status).toBe(401);
  });

  it('marks the cookie Secure behind HTTPS (trusted proxy)', async () => {
    const secureCtx = await createTestContext({ trustProxy: true });
    try {
      const user = await secureCtx.f.user('manager');
      const res = await request(secureCtx.app)
        .post('/api/auth/login')
        .set('X-Forwarded-Proto', 'https')
        .send({ email: user.email, password: user.password });
      expect(res.status).toBe(200);
      expect(String(res.headers['set-cookie'])).toMatch(/Secure/);
    } finally {
      await secureCtx.close();
    }
  });

  it('rejects a wrong password with 401 and the same message as an unknown email', async () => {
    const user = await ctx.f.user();
    const wrong = await request(ctx.app).post('/api/auth/login').send({ email: user.email, password: 'not-the-password' });
    const unknown = await request(ctx.app).post('/api/auth/login').send({ email: 'nobody@example.test', password: 'whatever1' });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body.error.message).toBe(unknown.body.error.message);
  });

  it('answers 429 after five wrong passwords in a row for an account and IP, with Retry-After', async () => {
    const user = await ctx.f.user();
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await request(ctx.app)
        .post('/api/auth/login')
        .send({ email: user.email, password: `wrong-${i}-password` });
      statuses.push(res.status);
      if (res.status === 429) expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    // even the right password is refused while blocked
    const right = await request(ctx.app).post('/api/auth/login').send({ email: user.email, password: user.password });
    expect(right.status).toBe(429);
  });

  it('refuses a deactivated user and ends their sessions', async () => {
    const admin = await ctx.f.login('admin');
    const { user, agent } = await ctx.f.login('manager');
    expect((await agent.get('/api/me')).status).toBe(200);
    expect((await admin.agent.patch(`/api/users/${user.id}`).send({ active: false })).status).toBe(200);
    expect((await agent.get('/api/me')).status).toBe(401);
    const relogin = await request(ctx.app).post('/api/auth/login').send({ email: user.email, password: user.password });
    expect(relogin.status).toBe(401);
  });

  it('authenticates integrations with bearer API tokens (admin creates, token acts as its user, revocable)', async () => {
    const admin = await ctx.f.login('admin');
    const supervisor = await ctx.f.user('supervisor');
    const created = await admin.agent.post('/api/tokens').send({ name: 'CRM sync', userId: supervisor.id });
    expect(created.status).toBe(201);
    expect(created.body.token).toMatch(/^ct_/);
    const me = await request(ctx.app).get('/api/me').set('Authorization', `Bearer ${created.body.token}`);
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ user: { id: supervisor.id }, via: 'token' });
    const listed = await admin.agent.get('/api/tokens');
    expect(listed.body.items.find((t: { id: string }) => t.id === created.body.id)).toMatchObject({ name: 'CRM sync' });
    expect(JSON.stringify(listed.body)).not.toContain(created.body.token);
    expect((await admin.agent.delete(`/api/tokens/${created.body.id}`)).status).toBe(204);
    const after = await request(ctx.app).get('/api/me').set('Authorization', `Bearer ${created.body.token}`);
    expect(after.status).toBe(401);
    const bogus = await request(ctx.app).get('/api/me').set('Authorization', 'Bearer ct_bogus');
    expect(bogus.status).toBe(401);
  });

  it('records a token’s last use to the minute: one write per minute, not one per request', async () => {
    const admin = await ctx.f.login('admin');
    const created = await admin.agent.post('/api/tokens').send({ name: 'busy integration' });
    const lastUsed = async () =>
      ((await admin.agent.get('/api/tokens')).body.items as { id: string; lastUsedAt: string | null }[]).find(
        (t) => t.id === created.body.id,
      )?.lastUsedAt;
    expect(await lastUsed()).toBeNull();
    const use = () => request(ctx.app).get('/api/me').set('Authorization', `Bearer ${created.body.token}`);
    expect((await use()).status).toBe(200);
    const first = await lastUsed();
    expect(first).toEqual(expect.any(String));
    await Promise.all([use(), use(), use()]);
    expect(await lastUsed()).toBe(first);
    // a minute later the next use is recorded again
    await ctx.ds.query(`UPDATE api_tokens SET last_used_at = last_used_at - interval '61 seconds' WHERE id = $1`, [created.body.id]);
    const aged = await lastUsed();
    expect((await use()).status).toBe(200);
    expect(Date.parse((await lastUsed())!)).toBeGreaterThan(Date.parse(aged!));
  });

  it('only admins create tokens', async () => {
    const sup = await ctx.f.login('supervisor');
    expect((await sup.agent.post('/api/tokens').send({ name: 'x' })).status).toBe(403);
    expect((await request(ctx.app).post('/api/tokens').send({ name: 'x' })).status).toBe(401);
  });

  it('refuses cross-origin cookie writes and non-JSON bodies', async () => {
    const { agent } = await ctx.f.login('manager');
    const cross = await agent.patch('/api/me').set('Origin', 'https://evil.example').send({ locale: 'en' });
    expect(cross.status).toBe(403);
    const form = await agent.patch('/api/me').set('Content-Type', 'application/x-www-form-urlencoded').send('locale=en');
    expect(form.status).toBe(400);
    const ok = await agent.patch('/api/me').send({ locale: 'en' });
    expect(ok.status).toBe(200);
    expect(ok.body.user.locale).toBe('en');
  });

  it('records logins and failures in the audit log, without passwords', async () => {
    const admin = await ctx.f.login('admin');
    const user = await ctx.f.user();
    await request(ctx.app).post('/api/auth/login').send({ email: user.email, password: 'bad-password-1' });
    const log = await admin.agent.get('/api/audit');
    expect(log.status).toBe(200);
    const failure = log.body.items.find(
      (e: { action: string; details: { email?: string } }) => e.action === 'auth.login-failed' && e.details.email === user.email,
    );
    expect(failure).toBeDefined();
    expect(JSON.stringify(log.body)).not.toContain('bad-password-1');
    const { agent: manager } = await ctx.f.login('manager');
    expect((await manager.get('/api/audit')).status).toBe(403);
  });
});
