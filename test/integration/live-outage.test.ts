import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { io as connectClient, type Socket as ClientSocket } from 'socket.io-client';
import { createDataSource } from '../../src/db/data-source';
import type { ClientToServerEvents, ServerToClientEvents } from '../../src/live/live-events';
import { createSocketServer, type SocketServer } from '../../src/live/socket.server';
import { createLogger } from '../../src/logger';
import { waitFor } from '../helpers/capture-harness';
import { startDbProxy, type DbProxy } from '../helpers/db-proxy';
import { createTestContext, type TestContext } from '../helpers/test-context';

/**
 * The live layer when its database goes away (a real cut between the app and PostgreSQL/PGlite):
 * a snapshot request is answered with an error the browser can act on, never left hanging, and the
 * same socket is served again once the database is back.
 */
let proxy: DbProxy;
let ctx: TestContext;
let server: http.Server;
let live: SocketServer;
let client: ClientSocket<ServerToClientEvents, ClientToServerEvents>;

beforeAll(async () => {
  proxy = await startDbProxy();
  const ds = createDataSource(proxy.target);
  await ds.initialize();
  ctx = await createTestContext({}, ds);
  server = http.createServer(ctx.app);
  live = await createSocketServer(server, {
    logger: createLogger('silent'),
    auth: ctx.parts.auth,
    calls: ctx.parts.callsRepo,
    capture: ctx.parts.capture,
    bus: ctx.parts.bus,
    ds: ctx.ds,
    revalidateMs: 3_600_000,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  client?.disconnect();
  await live?.close();
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  await ctx?.close();
  await proxy?.close();
});

it('answers a snapshot request with {error: unavailable} while the database is away, and serves it again after', async () => {
  const m = await ctx.f.user('manager', [ctx.f.extension()]);
  const res = await request(ctx.app).post('/api/auth/login').send({ email: m.email, password: m.password });
  expect(res.status).toBe(200);
  const cookie = (res.headers['set-cookie'] as unknown as string[]).map((c) => c.split(';')[0]!).join('; ');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  client = connectClient(url, { transports: ['websocket'], reconnection: false, extraHeaders: { cookie } });
  let snapshots = 0;
  client.on('calls:snapshot', () => snapshots++);
  await waitFor(() => snapshots === 1, 'the snapshot on connect');

  proxy.cut();
  const during = await client.timeout(30_000).emitWithAck('calls:snapshot', {});
  expect(during).toEqual({ error: { code: 'unavailable', message: expect.stringMatching(/unavailable/) } });
  expect(client.connected).toBe(true);

  proxy.restore();
  let after = await client.timeout(30_000).emitWithAck('calls:snapshot', {});
  // the pool may hand out a connection that died with the cut once more before it notices
  for (let i = 0; i < 5 && 'error' in after; i++) after = await client.timeout(30_000).emitWithAck('calls:snapshot', {});
  expect('error' in after).toBe(false);
  expect(after).toMatchObject({ live: [], recent: [] });
});
