import { callRecord } from '../factories/call-record';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { io as connectClient, type Socket as ClientSocket } from 'socket.io-client';
import request from 'supertest';
import { classifyFrame, parseTranscript, rewriteTranscript, type TranscriptFrame } from '../../src/asterisk/demo-pbx';
import type { CallRecordDto } from '../../src/calls/call-record';
import type { PbxStatus } from '../../src/http/app';
import type { CallsSnapshot, ClientToServerEvents, PbxLinkStatus, ServerToClientEvents } from '../../src/live/live-events';
import { createSocketServer, type SocketServer } from '../../src/live/socket.server';
import { createLogger } from '../../src/logger';
import type { Principal } from '../../src/users/principal';
import type { Role } from '../../src/users/user.entity';
import { startCaptureHarness, waitFor, type CaptureHarness, splitWhileTalking } from '../helpers/capture-harness';
import { AMI_FIXTURES_DIR } from '../helpers/fixtures';
import { createTestContext, type TestContext } from '../helpers/test-context';

/**
 * The live layer for real: Socket.IO on an HTTP server on port 0, socket.io-client connections
 * authenticated like browsers (session cookie) and integrations (API token), updates driven through
 * the in-process bus and through the fake PBX on the wire. Every assertion is about what the
 * connected clients received — and what the others did not.
 */
let ctx: TestContext;
let server: http.Server;
let live: SocketServer;
let url: string;
let h: CaptureHarness;
let pbxNow: PbxStatus = { mode: 'asterisk', status: 'connecting', since: new Date() };
const open: ClientSocket[] = [];

beforeAll(async () => {
  ctx = await createTestContext();
  server = http.createServer(ctx.app);
  live = await createSocketServer(server, {
    logger: createLogger('silent'),
    auth: ctx.parts.auth,
    calls: ctx.parts.callsRepo,
    capture: ctx.parts.capture,
    bus: ctx.parts.bus,
    credentials: ctx.parts.credentials,
    ds: ctx.ds,
    pbxStatus: () => pbxNow,
    pbxPollMs: 50,
    revalidateMs: 3_600_000,
    contactRefreshMs: 100,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  h = await startCaptureHarness(ctx);
});

afterAll(async () => {
  for (const s of open) s.disconnect();
  await h?.close();
  await live?.close();
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  await ctx?.close();
});

// ---------------------------------------------------------------------------------------------
// people and clients

interface Person {
  user: { id: string; email: string; password: string; role: string };
  extension: string | null;
  cookie: string;
}

async function person(role: Role, withExtension = role === 'manager'): Promise<Person> {
  // one at a time: the embedded database does not take concurrent transactions from one pool well
  const extension = withExtension ? ctx.f.extension() : null;
  const user = await ctx.f.user(role, extension ? [extension] : []);
  const res = await request(ctx.app).post('/api/auth/login').send({ email: user.email, password: user.password });
  expect(res.status).toBe(200);
  const cookie = (res.headers['set-cookie'] as unknown as string[])
    .map((c) => c.split(';')[0]!)
    .find((c) => c.startsWith('calltrack_session='))!;
  return { user, extension, cookie };
}

async function people<const R extends Role[]>(...roles: R): Promise<{ [K in keyof R]: Person }> {
  const out: Person[] = [];
  for (const role of roles) out.push(await person(role));
  return out as { [K in keyof R]: Person };
}

const principalOf = (p: Person): Principal => ({
  userId: p.user.id,
  role: p.user.role as Role,
  email: p.user.email,
  name: '',
  locale: 'uk',
  via: 'session',
});

interface Credentials {
  cookie?: string;
  token?: string;
  bearer?: string;
  origin?: string;
}

interface Watcher {
  socket: ClientSocket<ServerToClientEvents, ClientToServerEvents>;
  updates: CallRecordDto[];
  snapshots: CallsSnapshot[];
  statuses: PbxLinkStatus[];
  disconnects: string[];
  /** the updates received for one call (by id or by the caller's number) */
  of(match: string): CallRecordDto[];
}

function client(c: Credentials): ClientSocket<ServerToClientEvents, ClientToServerEvents> {
  const headers: Record<string, string> = {};
  if (c.cookie) headers.cookie = c.cookie;
  if (c.bearer) headers.authorization = `Bearer ${c.bearer}`;
  if (c.origin) headers.origin = c.origin;
  const socket: ClientSocket<ServerToClientEvents, ClientToServerEvents> = connectClient(url, {
    path: '/socket.io',
    transports: ['websocket'],
    extraHeaders: headers,
    auth: c.token ? { token: c.token } : {},
    reconnection: false,
    forceNew: true,
  });
  open.push(socket);
  return socket;
}

async function watch(c: Credentials | Person): Promise<Watcher> {
  const socket = client(c);
  const w: Watcher = {
    socket,
    updates: [],
    snapshots: [],
    statuses: [],
    disconnects: [],
    of: (match) => w.updates.filter((u) => u.id === match || u.externalNumber === match),
  };
  socket.on('call:update', (call) => w.updates.push(call));
  socket.on('calls:snapshot', (s) => w.snapshots.push(s));
  socket.on('pbx:status', (s) => w.statuses.push(s));
  socket.on('disconnect', (reason) => w.disconnects.push(reason));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (err) => reject(err));
  });
  await waitFor(() => w.snapshots.length > 0, 'the snapshot on connect');
  return w;
}

async function refusal(c: Credentials): Promise<{ message: string; code: unknown }> {
  const socket = client(c);
  return new Promise((resolve, reject) => {
    socket.once('connect', () => reject(new Error('connected, but should have been refused')));
    socket.once('connect_error', (err: Error & { data?: { code?: unknown } }) => resolve({ message: err.message, code: err.data?.code }));
  });
}

// ---------------------------------------------------------------------------------------------
// calls

const callDto = callRecord;

const agentOf = (p: Person) => ({ userId: p.user.id, extension: p.extension!, name: 'agent' });
const legOf = (p: Person) => ({
  extension: p.extension!,
  userId: p.user.id,
  ringingAt: new Date().toISOString(),
  answeredAt: null,
  endedAt: null,
  result: null,
});

/**
 * Everything broadcast before now has reached these clients: a last update every one of them may
 * see is published, and each waits for it (a socket receives broadcasts in the order they were sent).
 */
async function flush(...people: [Person, Watcher][]): Promise<void> {
  const sentinel = callDto({ legs: people.map(([p]) => ({ ...legOf(p), extension: p.extension ?? '0' })) });
  ctx.parts.bus.publish(sentinel);
  await waitFor(() => people.every(([, w]) => w.of(sentinel.id).length > 0), 'the sentinel update');
}

/** A real capture with its phones (101…103) swapped for fresh extensions and the caller for a fresh number. */
let idBase = 40_000_000 + (process.pid % 1000) * 20_000;
const PHONE = /(?<![0-9A-Za-z.])10[1-3](?![0-9A-Za-z.])/g;

function capture(scenario: string, phones: Record<string, string>, callerNumber: string): TranscriptFrame[] {
  const all = parseTranscript(readFileSync(path.join(AMI_FIXTURES_DIR, scenario, 'ami.jsonl'), 'utf8'));
  const swapped = all.map((f) => ({ ...f, raw: f.raw.replace(PHONE, (m) => phones[m] ?? m).replaceAll('+380501112233', callerNumber) }));
  // ids and times as if the call happened now
  const shift = Date.now() / 1000 - all.find((f) => classifyFrame(f) === 'event')!.rx;
  const rewritten = rewriteTranscript(swapped, { idBase, timeShiftSeconds: shift });
  idBase = rewritten.nextIdBase + 1;
  return rewritten.frames;
}

const increasing = (xs: number[]) => xs.every((x, i) => i === 0 || x > xs[i - 1]!);

// ---------------------------------------------------------------------------------------------

describe('the handshake', () => {
  it('refuses a connection without credentials, with code unauthenticated', async () => {
    expect(await refusal({})).toEqual({ message: 'Log in first', code: 'unauthenticated' });
  });

  it('refuses an unknown session cookie and an unknown API token (header or auth.token)', async () => {
    expect((await refusal({ cookie: 'calltrack_session=not-a-session' })).code).toBe('unauthenticated');
    expect((await refusal({ bearer: 'ct_bogus' })).code).toBe('unauthenticated');
    expect((await refusal({ token: 'ct_bogus' })).code).toBe('unauthenticated');
  });

  it('accepts a session cookie and sends the PBX status and a snapshot', async () => {
    const m = await person('manager');
    const w = await watch(m);
    expect(w.statuses[0]).toMatchObject({ mode: 'asterisk', status: pbxNow.status });
    expect(w.snapshots[0]).toMatchObject({ live: expect.any(Array), recent: expect.any(Array), since: expect.any(String) });
  });

  it('accepts an API token, as Authorization: Bearer or auth.token, acting as its user', async () => {
    const admin = await person('admin', false);
    const m = await person('manager');
    const { token } = await ctx.parts.auth.createApiToken(principalOf(admin), 'live test', m.user.id);
    const viaHeader = await watch({ bearer: token });
    const viaAuth = await watch({ token });
    const call = callDto({ agent: agentOf(m) });
    ctx.parts.bus.publish(call);
    await waitFor(
      () => viaHeader.of(call.id).length === 1 && viaAuth.of(call.id).length === 1,
      'the token clients to get the manager’s call',
    );
  });

  it('refuses a cookie handshake from another origin, and one whose API token was revoked', async () => {
    const m = await person('manager');
    expect((await refusal({ cookie: m.cookie, origin: 'https://evil.example' })).code).toBe('forbidden');
    const admin = await person('admin', false);
    const created = await ctx.parts.auth.createApiToken(principalOf(admin), 'revoked', m.user.id);
    await ctx.parts.auth.revokeApiToken(principalOf(admin), created.id);
    expect((await refusal({ bearer: created.token })).code).toBe('unauthenticated');
  });
});

describe('who receives a call:update', () => {
  let a: Person, b: Person, c: Person, sup: Person, admin: Person;
  let wa: Watcher, wb: Watcher, wc: Watcher, ws: Watcher, wadmin: Watcher;

  beforeAll(async () => {
    [a, b, c, sup, admin] = await people('manager', 'manager', 'manager', 'supervisor', 'admin');
    [wa, wb, wc, ws, wadmin] = await Promise.all([watch(a), watch(b), watch(c), watch(sup), watch(admin)]);
  });

  it('the agent, supervisors and admins get it; another manager never does (bus)', async () => {
    const call = callDto({ agent: agentOf(a) });
    ctx.parts.bus.publish(call);
    ctx.parts.bus.publish({ ...call, state: 'talking', version: call.version + 1 });
    await waitFor(
      () => wa.of(call.id).length === 2 && ws.of(call.id).length === 2 && wadmin.of(call.id).length === 2,
      'agent, supervisor, admin',
    );
    await flush([b, wb], [c, wc]);
    expect(wb.of(call.id)).toEqual([]);
    expect(wc.of(call.id)).toEqual([]);
    expect(ws.of(call.id).map((u) => u.state)).toEqual(['ringing', 'talking']);
  });

  it('a manager on any leg gets it (bus)', async () => {
    const call = callDto({ agent: agentOf(a), legs: [legOf(a), legOf(c)] });
    ctx.parts.bus.publish(call);
    await waitFor(() => wc.of(call.id).length === 1 && wa.of(call.id).length === 1, 'both legs');
    await flush([b, wb]);
    expect(wb.of(call.id)).toEqual([]);
  });

  it('the owner of the call’s contact gets it, and a reassigned contact moves to its new owner', async () => {
    const contact = await ctx.f.contact({ ownerId: b.user.id, phones: [ctx.f.phone()] });
    const call = callDto({ agent: agentOf(a), contact: { id: contact.id, name: contact.name }, contactMatch: 'matched' });
    ctx.parts.bus.publish(call);
    await waitFor(() => wb.of(call.id).length === 1 && wa.of(call.id).length === 1, 'the contact owner and the agent');
    await flush([c, wc]);
    expect(wc.of(call.id)).toEqual([]);

    // b hands the contact over to c: the pushes follow within the cache refresh
    await ctx.parts.contacts.updateContact(principalOf(b), contact.id, { ownerId: c.user.id });
    await live.contactOwners.refresh();
    ctx.parts.bus.publish({ ...call, state: 'talking', version: call.version + 1 });
    await waitFor(() => wc.of(call.id).length === 1 && wa.of(call.id).length === 2, 'the new owner');
    await flush([b, wb]);
    expect(wb.of(call.id)).toHaveLength(1);
  });

  it('a real call through the fake PBX: ringing → talking → ended to its agent and supervisors only, versions increasing', async () => {
    const number = ctx.f.phone();
    await ctx.parts.directory.reload();
    await h.play(capture('inbound_answered', { '101': a.extension! }, number), { fresh: false });
    await waitFor(() => wa.of(number).some((u) => u.state === 'ended') && ws.of(number).some((u) => u.state === 'ended'), 'the ended call');
    await flush([b, wb], [c, wc]);
    for (const w of [wa, ws, wadmin]) {
      const mine = w.of(number);
      expect(new Set(mine.map((u) => u.id)).size).toBe(1);
      expect(mine.map((u) => u.state)).toEqual(expect.arrayContaining(['ringing', 'talking', 'ended']));
      expect(increasing(mine.map((u) => u.version))).toBe(true);
      expect(mine.at(-1)).toMatchObject({ agent: { userId: a.user.id, extension: a.extension }, disposition: 'answered' });
    }
    expect(wb.of(number)).toEqual([]);
    expect(wc.of(number)).toEqual([]);
    // what was pushed last is what REST returns
    const [stored] = await h.records([wa.of(number).at(-1)!.pbxCallId]);
    expect(wa.of(number).at(-1)).toEqual(stored);
  });

  it('a real queue call ringing two agents: both legs get it, the caller’s contact owner too, nobody else', async () => {
    const number = ctx.f.phone();
    const owner = await person('manager');
    const wo = await watch(owner);
    await ctx.f.contact({ ownerId: owner.user.id, phones: [number] });
    await ctx.parts.directory.reload();
    await h.play(capture('queue_ringall', { '101': a.extension!, '102': c.extension! }, number), { fresh: false });
    await waitFor(() => [wa, wc, wo, ws].every((w) => w.of(number).some((u) => u.state === 'ended')), 'the ended queue call');
    await flush([b, wb]);
    expect(wb.of(number)).toEqual([]);
    const last = ws.of(number).at(-1)!;
    expect(last.legs.map((l) => l.userId)).toEqual(expect.arrayContaining([a.user.id, c.user.id]));
    expect(wo.of(number).at(-1)).toMatchObject({ contactMatch: 'matched', version: last.version });
    for (const w of [wa, wc, wo]) expect(increasing(w.of(number).map((u) => u.version))).toBe(true);
  });
});

describe('snapshots', () => {
  it('on connect and on reconnect: the call in progress and today’s calls, only the user’s own', async () => {
    const [a, b, sup] = await people('manager', 'manager', 'supervisor');
    const earlierToday = new Date(Math.max(Date.now() - 3600_000, new Date().setHours(0, 0, 0, 0) + 1000));
    const todays = await ctx.f.call({ agentExtension: a.extension!, agentUserId: a.user.id, startedAt: earlierToday });
    const yesterdays = await ctx.f.call({
      agentExtension: a.extension!,
      agentUserId: a.user.id,
      startedAt: new Date(new Date().setHours(0, 0, 0, 0) - 3600_000),
    });
    const number = ctx.f.phone();
    await ctx.parts.directory.reload();
    const [head, tail] = splitWhileTalking(capture('inbound_answered', { '101': a.extension! }, number));
    await h.play(head, { fresh: false });

    const [wa, wb, ws] = await Promise.all([watch(a), watch(b), watch(sup)]);
    const inProgress = wa.snapshots[0]!.live.find((c) => c.externalNumber === number);
    expect(inProgress).toMatchObject({ state: 'talking', agent: { userId: a.user.id } });
    expect(wa.snapshots[0]!.recent.map((c) => c.id)).toEqual(expect.arrayContaining([todays, inProgress!.id]));
    expect(wa.snapshots[0]!.recent.map((c) => c.id)).not.toContain(yesterdays);
    expect(new Date(wa.snapshots[0]!.since).getTime()).toBe(new Date().setHours(0, 0, 0, 0));
    expect(ws.snapshots[0]!.live.map((c) => c.id)).toContain(inProgress!.id);
    expect(wb.snapshots[0]!.live.map((c) => c.id)).not.toContain(inProgress!.id);
    expect(wb.snapshots[0]!.recent.map((c) => c.id)).not.toContain(todays);

    // a network blip: the reconnect brings a fresh snapshot with the call still in progress
    wa.socket.disconnect();
    wa.socket.connect();
    await waitFor(() => wa.snapshots.length === 2, 'the snapshot on reconnect');
    const again = wa.snapshots[1]!.live.find((c) => c.id === inProgress!.id);
    expect(again?.state).toBe('talking');

    // the end of the call reaches the reconnected client with a greater version
    await h.play(tail, { fresh: false });
    await waitFor(() => wa.of(inProgress!.id).some((u) => u.state === 'ended'), 'the end of the call');
    expect(wa.of(inProgress!.id).at(-1)!.version).toBeGreaterThan(again!.version);

    // on request, with an ack, from an earlier point in time
    const asked = await wa.socket
      .timeout(5000)
      .emitWithAck('calls:snapshot', { since: new Date(Date.now() - 2 * 86400_000).toISOString() });
    expect(asked.recent.map((c: CallRecordDto) => c.id)).toEqual(expect.arrayContaining([todays, yesterdays, inProgress!.id]));
    expect(asked.live.map((c: CallRecordDto) => c.id)).not.toContain(inProgress!.id);
  });
});

describe('annotations', () => {
  it('PATCH /api/calls/:id reaches every client watching that call, on every tab, and nobody else', async () => {
    const [a, owner, b, sup] = await people('manager', 'manager', 'manager', 'supervisor');
    const contact = await ctx.f.contact({ ownerId: owner.user.id, phones: [ctx.f.phone()] });
    const id = await ctx.f.call({ agentExtension: a.extension!, agentUserId: a.user.id, contactId: contact.id });
    const [tab1, tab2, wo, wb, ws] = await Promise.all([watch(a), watch(a), watch(owner), watch(b), watch(sup)]);
    const before = (await ctx.parts.callsRepo.findByIds([id]))[0]!;

    const res = await request(ctx.app)
      .patch(`/api/calls/${id}`)
      .set('Cookie', a.cookie)
      .send({ topic: 'Delivery date', notes: 'call back Friday' });
    expect(res.status).toBe(200);

    await waitFor(() => [tab1, tab2, wo, ws].every((w) => w.of(id).length === 1), 'the annotation everywhere');
    for (const w of [tab1, tab2, wo, ws]) {
      expect(w.of(id)[0]).toMatchObject({ topic: 'Delivery date', notes: 'call back Friday', version: res.body.version });
      expect(w.of(id)[0]!.version).toBeGreaterThan(before.version);
    }
    await flush([b, wb]);
    expect(wb.of(id)).toEqual([]);
  });
});

describe('pbx:status', () => {
  it('is pushed to connected clients when it changes', async () => {
    const m = await person('manager');
    const w = await watch(m);
    pbxNow = { mode: 'asterisk', status: 'connected', since: new Date() };
    await waitFor(() => w.statuses.some((s) => s.status === 'connected'), 'the new status');
    expect(w.statuses.at(-1)).toEqual({ mode: 'asterisk', status: 'connected', since: (pbxNow.since as Date).toISOString() });
    const count = w.statuses.length;
    await new Promise((r) => setTimeout(r, 200)); // unchanged: nothing more is sent
    expect(w.statuses).toHaveLength(count);
  });
});

describe('sessions that end', () => {
  it('a logged-out session loses its sockets at once (no periodic check needed); the user’s other session keeps its own', async () => {
    const m = await person('manager');
    const other = await request(ctx.app).post('/api/auth/login').send({ email: m.user.email, password: m.user.password });
    const otherCookie = (other.headers['set-cookie'] as unknown as string[])
      .map((c) => c.split(';')[0]!)
      .find((c) => c.startsWith('calltrack_session='))!;
    const [w1, w2, kept] = await Promise.all([watch(m), watch(m), watch({ cookie: otherCookie })]);
    expect((await request(ctx.app).post('/api/auth/logout').set('Cookie', m.cookie)).status).toBe(204);

    await waitFor(
      () => w1.disconnects.includes('io server disconnect') && w2.disconnects.includes('io server disconnect'),
      'the logout to end both sockets of that session',
    );
    expect((await refusal({ cookie: m.cookie })).code).toBe('unauthenticated');
    // the other session of the same user is still live and still served
    const snapshot = await kept.socket.timeout(5000).emitWithAck('calls:snapshot', {});
    expect('error' in snapshot).toBe(false);
    expect(kept.disconnects).toEqual([]);
  });

  it('a session that ended without a credentials event is caught by the snapshot request and by the periodic check', async () => {
    const m = await person('manager');
    const [w1, w2] = await Promise.all([watch(m), watch(m)]);
    await ctx.ds.query(`DELETE FROM sessions WHERE user_id = $1`, [m.user.id]); // e.g. expired, or removed by another process
    await expect(w1.socket.timeout(1000).emitWithAck('calls:snapshot', {})).rejects.toThrow();
    await waitFor(() => w1.disconnects.includes('io server disconnect'), 'the snapshot request to end the socket');
    await live.revalidate();
    await waitFor(() => w2.disconnects.includes('io server disconnect'), 'the periodic check to end the socket');
  });

  it('a revoked API token loses its socket at once', async () => {
    const admin = await person('admin', false);
    const m = await person('manager');
    const { token, id } = await ctx.parts.auth.createApiToken(principalOf(admin), 'integration', m.user.id);
    const w = await watch({ token });
    await ctx.parts.auth.revokeApiToken(principalOf(admin), id);
    await waitFor(() => w.disconnects.includes('io server disconnect'), 'the revocation to end the socket');
  });

  it('a deactivated user is disconnected at once; a promoted one joins the supervisors room at once', async () => {
    const admin = await person('admin', false);
    const [gone, promoted, other] = await people('manager', 'manager', 'manager');
    const [wg, wp] = await Promise.all([watch(gone), watch(promoted)]);
    await ctx.parts.users.update(principalOf(admin), gone.user.id, { active: false });
    await ctx.parts.users.update(principalOf(admin), promoted.user.id, { role: 'supervisor' });
    // no periodic check: the changes themselves make the live layer look again
    await waitFor(() => wg.disconnects.includes('io server disconnect'), 'the deactivated user’s socket to end');
    // the promoted socket joins the supervisors room once its check ran: another manager's calls reach it
    const sent: string[] = [];
    await waitFor(() => {
      const call = callDto({ agent: agentOf(other) });
      sent.push(call.id);
      ctx.parts.bus.publish(call);
      return sent.some((id) => wp.of(id).length === 1);
    }, 'the promoted user to see every call');
  });

  it('disconnectUser ends every socket of that user', async () => {
    const m = await person('manager');
    const [w1, w2] = await Promise.all([watch(m), watch(m)]);
    live.disconnectUser(m.user.id);
    await waitFor(() => w1.disconnects.length === 1 && w2.disconnects.length === 1, 'both sockets to end');
  });
});
