import crypto from 'node:crypto';
import request from 'supertest';
import type { AuditEntryDto as Entry } from '../../src/audit/audit.service';
import type { Principal } from '../../src/users/principal';
import { createTestContext, type TestContext } from '../helpers/test-context';

/** GET /api/audit: admins read who did what, filtered and paged, with the actor's name. */
let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.close());

describe('GET /api/audit', () => {
  it('filters by action, action family, actor and object; newest first with the actor’s name', async () => {
    const admin = await ctx.f.login('admin');
    const { user: someone } = await ctx.f.login('supervisor');
    const callId = crypto.randomUUID();
    const actor = {
      userId: someone.id,
      role: someone.role,
      email: someone.email,
      name: someone.name,
      locale: someone.locale,
      via: 'session',
    } as Principal;
    await ctx.parts.audit.record(actor, 'recording.listen', 'call', callId, { recordingId: 'r1' }, '10.0.0.7');
    await ctx.parts.audit.record(actor, 'recording.download', 'call', callId, { recordingId: 'r1' });
    await ctx.parts.audit.record(actor, 'review.submit', 'review', crypto.randomUUID());

    const byObject = await admin.agent.get('/api/audit').query({ entity: callId });
    expect(byObject.status).toBe(200);
    const items = byObject.body.items as Entry[];
    expect(items.map((e) => e.action)).toEqual(['recording.download', 'recording.listen']);
    expect(items[1]).toMatchObject({ actor: { id: someone.id, name: someone.name }, entityType: 'call', ip: '10.0.0.7' });

    const family = (await admin.agent.get('/api/audit').query({ actor: someone.id, action: 'recording.' })).body.items as Entry[];
    expect(family.map((e) => e.action).sort()).toEqual(['recording.download', 'recording.listen']);
    const exact = (await admin.agent.get('/api/audit').query({ actor: someone.id, action: 'review.submit' })).body.items as Entry[];
    expect(exact.map((e) => e.action)).toEqual(['review.submit']);
    // the supervisor's own login is there too, under their name
    const logins = (await admin.agent.get('/api/audit').query({ actor: someone.id, action: 'auth.' })).body.items as Entry[];
    expect(logins.map((e) => e.action)).toEqual(['auth.login']);
  });

  it('pages with a cursor: no entry twice, none skipped', async () => {
    const admin = await ctx.f.login('admin');
    const { user } = await ctx.f.login('manager');
    const actor = { userId: user.id, role: user.role, email: user.email, name: user.name, locale: user.locale, via: 'token' } as Principal;
    for (let i = 0; i < 5; i++) await ctx.parts.audit.record(actor, 'call.annotate', 'call', crypto.randomUUID(), { i });
    const seen: number[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const res = await admin.agent
        .get('/api/audit')
        .query({ actor: user.id, action: 'call.annotate', limit: 2, ...(cursor && { cursor }) });
      expect(res.status).toBe(200);
      seen.push(...(res.body.items as Entry[]).map((e) => e.details.i as number));
      cursor = res.body.nextCursor ?? undefined;
      if (!cursor) break;
    }
    expect(seen).toEqual([4, 3, 2, 1, 0]);
  });

  it('keeps the order entries were written in, also when they share a timestamp (one transaction)', async () => {
    const admin = await ctx.f.login('admin');
    const { user } = await ctx.f.login('manager');
    await ctx.ds.transaction(async (m) => {
      for (let i = 0; i < 8; i++) {
        await m.query(
          `INSERT INTO audit_log (actor_user_id, action, entity_type, entity_id, details) VALUES ($1, 'call.annotate', 'call', $2, $3)`,
          [user.id, crypto.randomUUID(), JSON.stringify({ i })],
        );
      }
    });
    const seen: number[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const res = await admin.agent.get('/api/audit').query({ actor: user.id, limit: 3, ...(cursor && { cursor }) });
      expect(res.status).toBe(200);
      seen.push(...(res.body.items as Entry[]).filter((e) => e.action === 'call.annotate').map((e) => e.details.i as number));
      cursor = res.body.nextCursor ?? undefined;
      if (!cursor) break;
    }
    expect(seen).toEqual([7, 6, 5, 4, 3, 2, 1, 0]);
  });

  it('is for admins only, and says what is wrong with a bad query', async () => {
    const admin = await ctx.f.login('admin');
    const { agent: supervisor } = await ctx.f.login('supervisor');
    expect((await supervisor.get('/api/audit')).status).toBe(403);
    expect((await request(ctx.app).get('/api/audit')).status).toBe(401);
    const bad = await admin.agent.get('/api/audit').query({ limit: 0 });
    expect([bad.status, bad.body.error.message]).toEqual([400, 'Invalid query: limit: must be between 1 and 200']);
    expect((await admin.agent.get('/api/audit').query({ action: "x'; DROP TABLE audit_log" })).status).toBe(400);
    expect((await admin.agent.get('/api/audit').query({ cursor: 'garbage' })).status).toBe(400);
  });
});
