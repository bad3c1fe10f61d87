import { Writable } from 'node:stream';
import type { Express } from 'express';
import request from 'supertest';
import { QueryFailedError } from 'typeorm';
import { operations } from '../../src/http/openapi';
import { createLogger } from '../../src/logger';
import { createTestContext, type TestContext } from '../helpers/test-context';

/** A pino destination that keeps every log line in memory. */
function memoryLog() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  return { stream, lines, entries: () => lines.map((l) => JSON.parse(l) as LogEntry) };
}

/** The fields of a pino line these tests read. */
interface LogEntry {
  level: number;
  msg?: string;
  err: { message?: string; stack?: string };
  req: { url?: string; method?: string; headers: Record<string, string | undefined> };
  res: { statusCode?: number; headers: Record<string, string | undefined> };
}

const log = memoryLog();
let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext({ logger: createLogger('info', log.stream) });
});
afterAll(() => ctx.close());

interface Layer {
  route?: { path: string | RegExp; methods: Record<string, boolean> };
  handle: { stack?: Layer[] };
  rawPath?: string | RegExp | (string | RegExp)[];
}

/** Every `METHOD /path` the express 5 app serves, from its router stack, with `:id` written `{id}`. */
function servedRoutes(app: Express): string[] {
  const out: string[] = [];
  const walk = (stack: Layer[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const method of Object.keys(layer.route.methods)) {
          const path = `${prefix}${String(layer.route.path)}`.replace(/:(\w+)/g, '{$1}');
          out.push(`${method.toUpperCase()} ${path}`);
        }
      } else if (layer.handle.stack) {
        const mount = typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? layer.rawPath : '';
        walk(layer.handle.stack, `${prefix}${mount}`);
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack, '');
  return out.sort();
}

describe('GET /health', () => {
  it('answers 200 without logging in: HTTP and database up, the PBX link state', async () => {
    const res = await request(ctx.app).get('/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok', database: 'up', pbx: { mode: 'disabled', status: 'disabled' }, version: expect.any(String) });
  });

  it('reports the PBX status it is given, and 503 when the database is down', async () => {
    const other = await createTestContext({ pbxStatus: () => ({ mode: 'asterisk', status: 'connected', host: 'pbx.local' }) });
    const up = await request(other.app).get('/health');
    expect(up.body.pbx).toEqual({ mode: 'asterisk', status: 'connected', host: 'pbx.local' });
    await other.close();
    const down = await request(other.app).get('/health');
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({ status: 'degraded', database: 'down' });
  });
});

describe('GET /api/openapi.json', () => {
  it('is OpenAPI 3.1 and documents every route the app serves, and nothing else', async () => {
    const res = await request(ctx.app).get('/api/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    expect(res.body.info).toEqual({ title: 'calltrack API', version: expect.any(String) });

    const served = servedRoutes(ctx.app);
    const listed = operations.map((o) => `${o.method.toUpperCase()} ${o.path}`).sort();
    const documented = Object.entries(res.body.paths as Record<string, Record<string, unknown>>)
      .flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`))
      .sort();
    expect(served.length).toBeGreaterThan(20);
    expect(served).toEqual([...new Set(served)]);
    expect(served).toEqual(listed);
    expect(documented).toEqual(listed);
  });

  it('documents parameters, bodies and the error shape', async () => {
    const doc = (await request(ctx.app).get('/api/openapi.json')).body;
    const getCall = doc.paths['/api/calls/{id}'].get;
    expect(getCall.parameters).toEqual([{ name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }]);
    expect(getCall.responses['404']).toBeDefined();
    expect(getCall.security).toEqual([{ session: [] }, { bearer: [] }]);
    const createUser = doc.paths['/api/users'].post;
    expect(createUser.responses['201']).toBeDefined();
    expect(createUser.responses['403']).toBeDefined();
    const body = createUser.requestBody.content['application/json'].schema;
    expect(body.required).toEqual(expect.arrayContaining(['email', 'name', 'password', 'role']));
    expect(body.additionalProperties).toBe(false);
    const limit = doc.paths['/api/calls'].get.parameters.find((p: { name: string }) => p.name === 'limit');
    expect(limit).toMatchObject({ in: 'query', required: false, schema: { maximum: 100 } });
    expect(doc.paths['/health'].get.security).toBeUndefined();
    expect(doc.components.schemas.Error).toBeDefined();
  });
});

describe('every route, every role', () => {
  const call = (agent: ReturnType<typeof request.agent> | ReturnType<typeof request>, op: (typeof operations)[number]) => {
    const path = op.path.replace('{id}', '00000000-0000-4000-8000-000000000000');
    const req = (agent as ReturnType<typeof request.agent>)[op.method](path);
    return op.method === 'get' || op.method === 'delete' ? req : req.send({});
  };

  it('anonymous: 401 on every non-public route, never 401 on a public one', async () => {
    for (const op of operations.filter((o) => o.path !== '/api/auth/logout')) {
      const res = await call(request(ctx.app), op);
      expect([op.method, op.path, res.status === 401]).toEqual([op.method, op.path, op.access !== 'public']);
    }
  });

  it.each(['manager', 'supervisor'] as const)('a %s: 403 on every admin route, and no 401 or 5xx on any route', async (role) => {
    const { agent } = await ctx.f.login(role);
    for (const op of operations.filter((o) => o.access !== 'public')) {
      const res = await call(agent, op);
      const denied = res.status === 403;
      expect([op.method, op.path, res.status === 401 || res.status >= 500, op.access === 'admin' ? denied : 'n/a']).toEqual([
        op.method,
        op.path,
        false,
        op.access === 'admin' ? true : 'n/a',
      ]);
    }
  });

  it('an admin: never 401, 403 or 500', async () => {
    const { agent } = await ctx.f.login('admin');
    for (const op of operations.filter((o) => o.access !== 'public')) {
      const res = await call(agent, op);
      expect([op.method, op.path, [401, 403, 500].includes(res.status)]).toEqual([op.method, op.path, false]);
    }
  });
});

describe('errors', () => {
  it('an unknown /api route is a 404 in JSON, even anonymous', async () => {
    for (const [method, path] of [
      ['get', '/api/nope'],
      ['put', '/api/users'],
      ['post', '/api/calls'],
      ['get', '/unknown-page'],
    ] as const) {
      const res = await request(ctx.app)[method](path);
      expect([method, path, res.status]).toEqual([method, path, 404]);
      expect(res.headers['content-type']).toMatch(/application\/json/);
      expect(res.body.error).toEqual({ code: 'not-found', message: `No route ${method.toUpperCase()} ${path}` });
    }
  });

  it('a programmer error is a 500 without its message or stack in the body, logged with the stack', async () => {
    const { agent } = await ctx.f.login('manager');
    const spy = jest.spyOn(ctx.parts.outcomes, 'list').mockRejectedValueOnce(new TypeError('internal detail: cannot read x of undefined'));
    try {
      const res = await agent.get('/api/outcomes');
      expect(res.status).toBe(500);
      expect(res.body).toEqual({ error: { code: 'internal', message: 'Internal server error' } });
      expect(res.text).not.toContain('internal detail');
      expect(res.text).not.toMatch(/\bat .*\.ts:\d+/);
    } finally {
      spy.mockRestore();
    }
    const logged = log.entries().find((e) => e.msg === 'unhandled error' && e.err?.message?.includes('internal detail'));
    expect(logged).toBeDefined();
    expect(logged!.err.stack).toContain('TypeError');
    expect(logged!.level).toBe(50);
    // and the app carries on
    expect((await agent.get('/api/outcomes')).status).toBe(200);
  });

  it('a unique constraint that loses a race (after the service checked) is a 409, not a 500', async () => {
    const { agent } = await ctx.f.login('admin');
    // what PostgreSQL answers the second of two simultaneous creates; raised without a real SQL error, see the report
    const raced = new QueryFailedError(
      'INSERT INTO "outcomes" …',
      [],
      Object.assign(new Error('duplicate key value violates unique constraint "outcomes__uq__name"'), {
        code: '23505',
        constraint: 'outcomes__uq__name',
      }),
    );
    const spy = jest.spyOn(ctx.parts.outcomes, 'create').mockRejectedValueOnce(raced);
    try {
      const res = await agent.post('/api/outcomes').send({ name: 'Raced' });
      expect(res.status).toBe(409);
      expect(res.body.error).toEqual({ code: 'conflict', message: 'Already exists (outcomes__uq__name)' });
    } finally {
      spy.mockRestore();
    }
  });

  it('malformed JSON is a 400 mentioning JSON; a too large body is a 413', async () => {
    const { agent } = await ctx.f.login('admin');
    const bad = await agent.post('/api/outcomes').set('Content-Type', 'application/json').send('{"name":');
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'validation', message: expect.stringMatching(/JSON/) });
    const big = await agent.post('/api/outcomes').send({ name: 'x'.repeat(300 * 1024) });
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe('validation');
  });
});

describe('request logs', () => {
  it('log every API request without the password, the session cookie or a bearer token', async () => {
    const { agent: admin } = await ctx.f.login('admin');
    const user = await ctx.f.user('manager');
    const login = await request(ctx.app).post('/api/auth/login').send({ email: user.email, password: user.password });
    expect(login.status).toBe(200);
    const cookie = String(login.headers['set-cookie']).split(';')[0]!; // calltrack_session=<token>
    const sessionToken = cookie.split('=')[1]!;
    expect(sessionToken.length).toBeGreaterThan(20);
    expect((await request(ctx.app).get('/api/me').set('Cookie', cookie)).status).toBe(200);

    const newPassword = `rotated-${Date.now()}-pw`;
    expect((await admin.patch(`/api/users/${user.id}`).send({ password: newPassword })).status).toBe(200);
    const token = (await admin.post('/api/tokens').send({ name: 'logs', userId: user.id })).body.token as string;
    expect((await request(ctx.app).get('/api/me').set('Authorization', `Bearer ${token}`)).status).toBe(200);

    const entries = log.entries();
    const requests = entries.filter((e) => e.req?.url);
    expect(requests.find((e) => e.req.method === 'POST' && e.req.url === '/api/auth/login' && e.res?.statusCode === 200)).toBeDefined();
    const me = requests.find((e) => e.req.url === '/api/me' && e.req.headers?.cookie);
    expect(me?.req.headers.cookie).toBe('[redacted]');
    const loginLine = requests.find((e) => e.req.url === '/api/auth/login' && e.res?.headers?.['set-cookie']);
    expect(loginLine?.res.headers['set-cookie']).toBe('[redacted]');
    expect(requests.find((e) => e.req.headers?.authorization)?.req.headers.authorization).toBe('[redacted]');

    const all = log.lines.join('\n');
    for (const secret of [user.password, newPassword, sessionToken, token]) expect(all).not.toContain(secret);
  });

  it('do not log /health', async () => {
    const before = log.lines.length;
    await request(ctx.app).get('/health');
    expect(
      log
        .entries()
        .slice(before)
        .filter((e) => e.req?.url === '/health'),
    ).toEqual([]);
  });
});
