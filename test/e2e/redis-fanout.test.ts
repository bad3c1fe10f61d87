import { callRecord } from '../factories/call-record';
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { io as connectClient, type Socket as ClientSocket } from 'socket.io-client';
import request from 'supertest';
import type { DataSource } from 'typeorm';
import type { CallRecordDto } from '../../src/calls/call-record';
import { createDataSource } from '../../src/db/data-source';
import { migrate } from '../../src/db/database';
import type { PbxStatus } from '../../src/http/app';
import type { CallsSnapshot, ClientToServerEvents, PbxLinkStatus, ServerToClientEvents } from '../../src/live/live-events';
import { createSocketServer, type SocketServer } from '../../src/live/socket.server';
import { createLogger } from '../../src/logger';
import { wire } from '../../src/main';
import { Factories } from '../factories/factories';

/**
 * Several calltrack processes behind a load balancer: two socket servers on two HTTP servers, each
 * with its own database pool and call bus, sharing one database and one Redis (a redis-server of
 * this test's own). What one node's bus publishes reaches the right clients of the other node, and
 * only them; a client that lost its connection for a moment gets what it missed.
 * The database: DATABASE_URL when set, else an embedded PGlite served by a child process.
 */
jest.setTimeout(120_000);

const root = path.resolve(__dirname, '../..');
const logger = createLogger('silent');
const sessionSecret = crypto.randomBytes(32).toString('hex');

interface Node {
  ds: DataSource;
  parts: ReturnType<typeof wire>;
  server: http.Server;
  live: SocketServer;
  url: string;
}

let redis: ChildProcess;
let redisUrl: string;
let embedded: { child: ChildProcess; dir: string } | undefined;
let a: Node;
let b: Node;
let f: Factories;
const open: ClientSocket[] = [];

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function redisPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('error', () => resolve(false));
    s.once('connect', () => s.write('PING\r\n'));
    s.once('data', (d) => {
      s.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
  });
}

async function startRedis(): Promise<void> {
  const port = await freePort();
  redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  redisUrl = `redis://127.0.0.1:${port}`;
  await waitFor(() => redisPing(port), 'redis-server to answer');
}

/** PGlite does not start inside a Jest worker: a child process serves it on a unix socket. */
async function startEmbeddedDatabase(): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-fanout-'));
  const code = `
    const { openEmbeddedDatabase } = require('./src/db/embedded');
    const { createLogger } = require('./src/logger');
    openEmbeddedDatabase(process.argv[1], createLogger('warn')).then(
      (db) => {
        process.stdout.write('ready\\n');
        process.once('SIGTERM', () => db.stop().finally(() => process.exit(0)));
      },
      (err) => { console.error(err); process.exit(1); },
    );`;
  const child = spawn(process.execPath, ['-r', '@swc-node/register', '-e', code, dir], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  embedded = { child, dir };
  await new Promise<void>((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).on('line', (line) => line === 'ready' && resolve());
    child.once('exit', (code) => reject(new Error(`the embedded database exited with ${code}`)));
  });
  return dir;
}

/** each node's own PBX link status: node A holds the AMI listener, node B stands by */
const pbxOf: Record<'a' | 'b', PbxStatus> = {
  a: { mode: 'asterisk', status: 'connected', since: new Date() },
  b: { mode: 'asterisk', status: 'standby' },
};

async function startNode(target: { url?: string; socketDir?: string }, name: 'a' | 'b'): Promise<Node> {
  const ds = createDataSource({ ...target, poolSize: 4 });
  await ds.initialize();
  const parts = wire(ds, { logger, defaultCountry: 'UA', sessionSecret });
  await parts.directory.reload();
  const server = http.createServer(parts.app);
  const live = await createSocketServer(server, {
    logger,
    auth: parts.auth,
    calls: parts.callsRepo,
    capture: parts.capture,
    bus: parts.bus,
    ds,
    redisUrl,
    revalidateMs: 3_600_000,
    pbxStatus: () => pbxOf[name],
    pbxPollMs: 100,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { ds, parts, server, live, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

beforeAll(async () => {
  const [, socketDir] = await Promise.all([startRedis(), process.env.DATABASE_URL ? Promise.resolve(undefined) : startEmbeddedDatabase()]);
  const target = process.env.DATABASE_URL ? { url: process.env.DATABASE_URL } : { socketDir };
  const setup = createDataSource(target);
  await setup.initialize();
  await migrate(setup, logger);
  await setup.destroy();
  a = await startNode(target, 'a');
  b = await startNode(target, 'b');
  f = new Factories(a.ds, a.parts);
  await f.init();
});

afterAll(async () => {
  for (const s of open) s.disconnect();
  for (const n of [a, b]) {
    if (!n) continue;
    await n.live.close();
    await new Promise<void>((resolve) => n.server.close(() => resolve()));
    await n.ds.destroy();
  }
  redis?.kill('SIGTERM');
  if (embedded) {
    const { child, dir } = embedded;
    await new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------

interface Person {
  id: string;
  extension: string | null;
  cookie: string;
}

async function person(role: 'manager' | 'supervisor'): Promise<Person> {
  const extension = role === 'manager' ? f.extension() : null;
  const user = await f.user(role, extension ? [extension] : []);
  const res = await request(a.parts.app).post('/api/auth/login').send({ email: user.email, password: user.password });
  const cookie = (res.headers['set-cookie'] as unknown as string[])
    .map((c) => c.split(';')[0]!)
    .find((c) => c.startsWith('calltrack_session='))!;
  return { id: user.id, extension, cookie };
}

interface Watcher {
  socket: ClientSocket<ServerToClientEvents, ClientToServerEvents>;
  updates: CallRecordDto[];
  snapshots: CallsSnapshot[];
  statuses: PbxLinkStatus[];
  of(id: string): CallRecordDto[];
}

async function watch(node: Node, p: Person, o: { reconnection?: boolean } = {}): Promise<Watcher> {
  const socket: ClientSocket<ServerToClientEvents, ClientToServerEvents> = connectClient(node.url, {
    path: '/socket.io',
    transports: ['websocket'],
    extraHeaders: { cookie: p.cookie },
    reconnection: o.reconnection ?? false,
    reconnectionDelay: 1000,
    reconnectionDelayMax: 1000,
    forceNew: true,
  });
  open.push(socket);
  const w: Watcher = { socket, updates: [], snapshots: [], statuses: [], of: (id) => w.updates.filter((u) => u.id === id) };
  socket.on('call:update', (c) => w.updates.push(c));
  socket.on('pbx:status', (s) => w.statuses.push(s));
  socket.on('calls:snapshot', (s) => w.snapshots.push(s));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  await waitFor(() => w.snapshots.length > 0, 'the snapshot on connect');
  return w;
}

const callDto = callRecord;

const agentOf = (p: Person) => ({ userId: p.id, extension: p.extension!, name: 'agent' });

/** Everything broadcast before now reached these clients (a socket receives broadcasts in order). */
async function flush(from: Node, ...people: [Person, Watcher][]): Promise<void> {
  const sentinel = callDto({
    legs: people.map(([p]) => ({ extension: p.extension!, userId: p.id, ringingAt: null, answeredAt: null, endedAt: null, result: null })),
  });
  from.parts.bus.publish(sentinel);
  await waitFor(() => people.every(([, w]) => w.of(sentinel.id).length > 0), 'the sentinel');
}

it('a call published on node A reaches its agent and the supervisors on node B, and no other manager on either node', async () => {
  const agent = await person('manager');
  const other = await person('manager');
  const sup = await person('supervisor');
  const [agentOnB, otherOnB, otherOnA, supOnB, supOnA] = [
    await watch(b, agent),
    await watch(b, other),
    await watch(a, other),
    await watch(b, sup),
    await watch(a, sup),
  ];
  const call = callDto({ agent: agentOf(agent) });
  a.parts.bus.publish(call);
  a.parts.bus.publish({ ...call, state: 'talking', version: call.version + 1 });
  await waitFor(() => [agentOnB, supOnB, supOnA].every((w) => w.of(call.id).length === 2), 'the call on both nodes');
  expect(agentOnB.of(call.id).map((u) => [u.state, u.version])).toEqual([
    ['ringing', call.version],
    ['talking', call.version + 1],
  ]);
  await flush(a, [other, otherOnB]);
  await flush(b, [other, otherOnA]);
  expect(otherOnB.of(call.id)).toEqual([]);
  expect(otherOnA.of(call.id)).toEqual([]);
});

it('the contact-owner rule holds across nodes, and an annotation made on node B reaches node A', async () => {
  const agent = await person('manager');
  const owner = await person('manager');
  const other = await person('manager');
  const contact = await f.contact({ ownerId: owner.id, phones: [f.phone()] });
  const id = await f.call({ agentExtension: agent.extension!, agentUserId: agent.id, contactId: contact.id });
  const ownerOnA = await watch(a, owner);
  const agentOnA = await watch(a, agent);
  const otherOnA = await watch(a, other);

  const res = await request(b.parts.app).patch(`/api/calls/${id}`).set('Cookie', agent.cookie).send({ topic: 'Invoice' });
  expect(res.status).toBe(200);
  await waitFor(() => ownerOnA.of(id).length === 1 && agentOnA.of(id).length === 1, 'the annotation on node A');
  expect(ownerOnA.of(id)[0]).toMatchObject({ topic: 'Invoice', version: res.body.version });
  await flush(b, [other, otherOnA]);
  expect(otherOnA.of(id)).toEqual([]);
});

it('a client that lost its connection for a moment gets what it missed (connection-state recovery) and a snapshot', async () => {
  const agent = await person('manager');
  const w = await watch(b, agent, { reconnection: true });
  const first = callDto({ agent: agentOf(agent) });
  a.parts.bus.publish(first);
  await waitFor(() => w.of(first.id).length === 1, 'the first update (it carries the stream offset)');

  const socketId = w.socket.id!;
  w.socket.io.engine.close(); // the network drops; the client will reconnect by itself
  await waitFor(() => !b.live.io.of('/').sockets.has(socketId), 'node B to notice');
  const missed = { ...first, state: 'talking' as const, version: first.version + 1 };
  a.parts.bus.publish(missed);

  await waitFor(() => w.socket.connected && w.snapshots.length === 2, 'the reconnect and its snapshot');
  expect(w.socket.recovered).toBe(true);
  await waitFor(() => w.of(first.id).length === 2, 'the missed update');
  expect(w.of(first.id)[1]).toMatchObject({ state: 'talking', version: missed.version });
});

it('a node standing by shows the PBX status of the node holding the AMI listener, and follows its changes', async () => {
  const m = await person('manager');
  const onB = await watch(b, m);
  const onA = await watch(a, m);
  await waitFor(() => onB.statuses.at(-1)?.status === 'connected', 'node B to show node A’s link');
  expect(onA.statuses.at(-1)).toMatchObject({ mode: 'asterisk', status: 'connected' });

  pbxOf.a = { mode: 'asterisk', status: 'disconnected', since: new Date() };
  await waitFor(
    () => onB.statuses.at(-1)?.status === 'disconnected' && onA.statuses.at(-1)?.status === 'disconnected',
    'the change on both nodes',
  );
  expect(onB.statuses.at(-1)).toEqual({ mode: 'asterisk', status: 'disconnected', since: (pbxOf.a.since as Date).toISOString() });
  // until node A's next relay (at most 5 s after node B started) node B may say 'standby'; never after
  const statuses = onB.statuses.map((s) => s.status);
  expect(statuses.slice(statuses.indexOf('connected'))).not.toContain('standby');
});

it('a process whose capture does not hold the call still lists it as in progress in its snapshots (from the database)', async () => {
  const agent = await person('manager');
  const other = await person('manager');
  const talking = await f.call({
    agentExtension: agent.extension!,
    agentUserId: agent.id,
    state: 'talking',
    startedAt: new Date(Date.now() - 30_000),
    answeredAt: new Date(Date.now() - 25_000),
    endedAt: null,
    disposition: null,
    endReason: null,
  });
  const mine = await watch(b, agent);
  const theirs = await watch(b, other);
  expect(mine.snapshots[0]!.live.map((c) => [c.id, c.state])).toContainEqual([talking, 'talking']);
  expect(theirs.snapshots[0]!.live.map((c) => c.id)).not.toContain(talking);
});
