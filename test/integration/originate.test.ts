import request from 'supertest';
import { createAriClient, type AriClient } from '../../src/asterisk/ari.client';
import { createLogger } from '../../src/logger';
import { startFakeAri, type FakeAri } from '../helpers/fake-ari';
import { createTestContext, type TestContext } from '../helpers/test-context';

/**
 * POST /api/calls/originate through the real app, the real ARI client and the fake ARI server on
 * the wire: what Asterisk receives, what the manager gets back, what the audit log keeps.
 */

let fake: FakeAri;
let ari: AriClient;
let ctx: TestContext;
/** the same app with ORIGINATE_ALLOW set */
let allowCtx: TestContext;
/** the same app without ARI */
let noAriCtx: TestContext;

beforeAll(async () => {
  fake = await startFakeAri();
  ari = createAriClient({
    url: fake.url,
    username: fake.username,
    password: fake.password,
    app: 'calltrack',
    logger: createLogger('silent'),
  });
  ari.start();
  const deadline = Date.now() + 10_000;
  while (ari.state().status !== 'connected') {
    if (Date.now() > deadline) throw new Error(`ARI did not connect: ${ari.state().lastError}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  [ctx, allowCtx, noAriCtx] = await Promise.all([
    createTestContext({ ari }),
    createTestContext({ ari, originateAllow: ['+48*', '+380441234567'] }),
    createTestContext(),
  ]);
});
afterAll(async () => {
  await Promise.all([ctx?.close(), allowCtx?.close(), noAriCtx?.close()]);
  await ari?.stop();
  await fake?.close();
});

const originatesSince = (n: number) => fake.originates().slice(n);

async function auditOf(c: TestContext, userId: string) {
  const rows: { action: string; entity_id: string; details: Record<string, unknown> }[] = await c.ds.query(
    `SELECT action, entity_id, details FROM audit_log WHERE actor_user_id = $1 AND action LIKE 'call.originate%' ORDER BY at`,
    [userId],
  );
  return rows;
}

describe('POST /api/calls/originate', () => {
  it('rings the manager’s own phone, then the customer: the originate Asterisk receives, 202, audited', async () => {
    const ext = ctx.f.extension();
    const { user, agent } = await ctx.f.login('manager', [ext]);
    const before = fake.originates().length;

    const res = await agent.post('/api/calls/originate').send({ to: '050 111 22 33' });

    expect(res.status).toBe(202);
    expect(res.body).toEqual({ channelId: expect.any(String), extension: ext, to: '+380501112233', dialled: '0501112233' });
    const [sent] = originatesSince(before);
    expect(sent!.params).toEqual({
      endpoint: `PJSIP/${ext}`,
      extension: '0501112233',
      context: 'from-internal',
      priority: '1',
      callerId: `calltrack <${ext}>`,
      timeout: '30',
    });
    expect(sent!.channel.id).toBe(res.body.channelId);
    const post = fake
      .requests()
      .filter((r) => r.method === 'POST')
      .at(-1)!;
    expect(post.user).toBe(fake.username);
    expect(await auditOf(ctx, user.id)).toEqual([
      {
        action: 'call.originate',
        entity_id: ext,
        details: { to: '+380501112233', dialled: '0501112233', kind: 'external', channelId: res.body.channelId },
      },
    ]);
  });

  it('allowed national numbers in any form are dialled as the phones dial them', async () => {
    const ext = ctx.f.extension();
    const { agent } = await ctx.f.login('supervisor', [ext]);
    const cases: [string, string, string][] = [
      ['0501112233', '+380501112233', '0501112233'],
      ['+380501112233', '+380501112233', '0501112233'],
      ['380501112233', '+380501112233', '0501112233'],
      ['8 050 111 22 33', '+380501112233', '0501112233'],
      ['(050) 111-22-33', '+380501112233', '0501112233'],
      ['00380441234567', '+380441234567', '0441234567'],
      ['044 123 45 67', '+380441234567', '0441234567'],
      ['0800 501 234', '+380800501234', '0800501234'],
    ];
    for (const [to, e164, dialled] of cases) {
      const before = fake.originates().length;
      const res = await agent.post('/api/calls/originate').send({ to });
      expect([to, res.status, res.body.to, res.body.dialled]).toEqual([to, 202, e164, dialled]);
      expect(originatesSince(before).map((o) => [o.params.endpoint, o.params.extension])).toEqual([[`PJSIP/${ext}`, dialled]]);
    }
  });

  it('a colleague’s extension registered in calltrack is allowed; my own is not', async () => {
    const mine = ctx.f.extension();
    const theirs = ctx.f.extension();
    await ctx.f.user('manager', [theirs]);
    const { agent } = await ctx.f.login('manager', [mine]);
    await ctx.parts.directory.reload();
    const before = fake.originates().length;
    const res = await agent.post('/api/calls/originate').send({ to: theirs });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ extension: mine, to: theirs, dialled: theirs });
    expect(originatesSince(before)[0]!.params).toMatchObject({ endpoint: `PJSIP/${mine}`, extension: theirs, context: 'from-internal' });

    const own = await agent.post('/api/calls/originate').send({ to: mine });
    expect(own.status).toBe(400);
    expect(own.body.error.message).toBe(`Invalid body: to: ${mine} is your own phone`);
  });

  it('international, premium-rate, unregistered short numbers: 403 naming the number and why; nothing dialled, refusals audited', async () => {
    const ext = ctx.f.extension();
    const { user, agent } = await ctx.f.login('manager', [ext]);
    const before = fake.originates().length;
    const cases: [string, string][] = [
      [
        '+48501234567',
        '+48501234567 is an international number (PL): click-to-call dials national UA numbers only (an admin can allow more with ORIGINATE_ALLOW)',
      ],
      [
        '0048501234567',
        '+48501234567 is an international number (PL): click-to-call dials national UA numbers only (an admin can allow more with ORIGINATE_ALLOW)',
      ],
      [
        '+1 876 555 0123',
        '+18765550123 is an international number (JM): click-to-call dials national UA numbers only (an admin can allow more with ORIGINATE_ALLOW)',
      ],
      [
        '0900 212 345',
        '+380900212345 is a premium-rate number: click-to-call never dials premium-rate, shared-cost or personal numbers (toll-fraud guard)',
      ],
      [
        '+447011234567',
        '+447011234567 is a personal (premium-charged) number: click-to-call never dials premium-rate, shared-cost or personal numbers (toll-fraud guard)',
      ],
      [
        '112',
        '112 is not an extension registered in calltrack: click-to-call dials registered extensions and allowed outside numbers only',
      ],
      ['0700 123 456', '+380700123456 is not a valid UA number that click-to-call may dial'],
    ];
    for (const [to, message] of cases) {
      const res = await agent.post('/api/calls/originate').send({ to });
      expect([to, res.status, res.body.error]).toEqual([to, 403, { code: 'forbidden', message }]);
    }
    expect(originatesSince(before)).toEqual([]);
    const audit = await auditOf(ctx, user.id);
    expect(audit.map((a) => [a.action, a.details.to])).toEqual(cases.map(([to]) => ['call.originate-refused', to]));
    expect(audit[0]!.details.reason).toBe(cases[0]![1]);
  });

  it('garbage: 400 naming the field', async () => {
    const { agent } = await ctx.f.login('manager', [ctx.f.extension()]);
    const before = fake.originates().length;
    const cases: [unknown, string][] = [
      [{}, 'Invalid body: to: Invalid input: expected string, received undefined'],
      [{ to: '' }, 'Invalid body: to: is required'],
      [{ to: '   ' }, 'Invalid body: to: is required'],
      [{ to: 'call me maybe' }, 'Invalid body: to: "call me maybe" contains characters that are not part of a phone number'],
      [{ to: '0501112233&PJSIP/999' }, 'Invalid body: to: "0501112233&PJSIP/999" contains characters that are not part of a phone number'],
      [{ to: '+380 12' }, 'Invalid body: to: "+380 12" is not a valid phone number'],
      [{ to: 'anonymous' }, 'Invalid body: to: "anonymous" is not a phone number'],
      [{ to: 5011122 }, 'Invalid body: to: Invalid input: expected string, received number'],
      [{ to: '0501112233', channel: 'x' }, 'Invalid body: channel: unknown field'],
      [{ to: '0501112233', extension: 'abc' }, 'Invalid body: extension: must be 2 to 6 digits, e.g. 101'],
    ];
    for (const [body, message] of cases) {
      const res = await agent.post('/api/calls/originate').send(body as object);
      expect([body, res.status, res.body.error?.code, res.body.error?.message]).toEqual([body, 400, 'validation', message]);
    }
    expect(originatesSince(before)).toEqual([]);
  });

  it('a user without an extension: 409 with what to do', async () => {
    const { agent } = await ctx.f.login('manager');
    const res = await agent.post('/api/calls/originate').send({ to: '0501112233' });
    expect(res.status).toBe(409);
    expect(res.body.error.message).toBe(
      'You have no extension in calltrack: click-to-call rings your own phone first. Ask an admin to assign you one.',
    );
  });

  it('several extensions: say which phone rings first; only one of mine', async () => {
    const [a, b] = [ctx.f.extension(), ctx.f.extension()];
    const other = ctx.f.extension();
    await ctx.f.user('manager', [other]);
    const { agent } = await ctx.f.login('manager', [a, b]);
    await ctx.parts.directory.reload();
    const mine = [a, b].sort().join(', ');

    const missing = await agent.post('/api/calls/originate').send({ to: '0501112233' });
    expect(missing.status).toBe(400);
    expect(missing.body.error.message).toBe(`Invalid body: extension: you have several extensions (${mine}): say which phone rings first`);

    const before = fake.originates().length;
    const chosen = await agent.post('/api/calls/originate').send({ to: '0501112233', extension: b });
    expect(chosen.status).toBe(202);
    expect(originatesSince(before)[0]!.params.endpoint).toBe(`PJSIP/${b}`);

    const notMine = await agent.post('/api/calls/originate').send({ to: '0501112233', extension: other });
    expect(notMine.status).toBe(403);
    expect(notMine.body.error.message).toBe(`Extension ${other} is not yours (yours: ${mine})`);
  });

  it('anonymous: 401', async () => {
    const before = fake.originates().length;
    const res = await request(ctx.app).post('/api/calls/originate').send({ to: '0501112233' });
    expect(res.status).toBe(401);
    expect(originatesSince(before)).toEqual([]);
  });

  it('the PBX refusing the originate: 503 with its message, audited as failed', async () => {
    const ext = ctx.f.extension();
    const { user, agent } = await ctx.f.login('manager', [ext]);
    fake.failNext('POST /ari/channels', 500, 'Allocation failed');
    const res = await agent.post('/api/calls/originate').send({ to: '0501112233' });
    expect(res.status).toBe(503);
    expect(res.body.error.message).toBe(`ARI originate to PJSIP/${ext} failed (HTTP 500): Allocation failed`);
    expect((await auditOf(ctx, user.id)).map((a) => [a.action, a.details.error])).toEqual([
      ['call.originate-failed', `ARI originate to PJSIP/${ext} failed (HTTP 500): Allocation failed`],
    ]);
  });

  it('ARI not configured: 503 saying what to configure', async () => {
    const { agent } = await noAriCtx.f.login('manager', [noAriCtx.f.extension()]);
    const res = await agent.post('/api/calls/originate').send({ to: '0501112233' });
    expect(res.status).toBe(503);
    expect(res.body.error).toEqual({
      code: 'unavailable',
      message:
        'click-to-call needs ARI_URL, ARI_USERNAME and ARI_PASSWORD (the Asterisk REST Interface, see asterisk-config/ari.conf): ask an admin to configure them',
    });
  });

  it('ORIGINATE_ALLOW replaces the national rule; premium-rate stays refused', async () => {
    const ext = allowCtx.f.extension();
    const { agent } = await allowCtx.f.login('manager', [ext]);
    const before = fake.originates().length;

    const pl = await agent.post('/api/calls/originate').send({ to: '+48 501 234 567' });
    expect(pl.status).toBe(202);
    expect(pl.body).toMatchObject({ to: '+48501234567', dialled: '+48501234567' });

    const exact = await agent.post('/api/calls/originate').send({ to: '044 123 45 67' });
    expect(exact.status).toBe(202);
    expect(exact.body).toMatchObject({ to: '+380441234567', dialled: '0441234567' });

    const ua = await agent.post('/api/calls/originate').send({ to: '0501112233' });
    expect(ua.status).toBe(403);
    expect(ua.body.error.message).toBe('+380501112233 is not allowed for click-to-call: ORIGINATE_ALLOW permits +48*, +380441234567 only');

    const premium = await agent.post('/api/calls/originate').send({ to: '+48 701 234 567' });
    expect(premium.status).toBe(403);
    expect(premium.body.error.message).toMatch(/^\+48701234567 is a (premium-rate|shared-cost) number/);

    expect(originatesSince(before).map((o) => o.params.extension)).toEqual(['+48501234567', '0441234567']);
  });
});
