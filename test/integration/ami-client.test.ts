import path from 'node:path';
import { Writable } from 'node:stream';
import {
  createAmiClient,
  type AmiClient,
  type AmiClientOptions,
  type AmiLoginInfo,
  type AmiPbxRestartInfo,
} from '../../src/asterisk/ami.client';
import {
  loadDemoScenarios,
  readTranscript,
  replayedFrames,
  startDemoLoop,
  startDemoPbx,
  type DemoPbx,
  type DemoPbxOptions,
} from '../../src/asterisk/demo-pbx';
import { parseAmiFrame } from '../../src/asterisk/ami-frame';
import { createLogger } from '../../src/logger';

/**
 * The real asterisk-manager client (through createAmiClient) against the demo PBX on a real TCP
 * socket. Delays are injected and short; waits are event-driven (`until` only guards deadlocks).
 */

const USERNAME = 'crm';
const SECRET = 'Sup3r-s3cret-AMI-f7c1';

type Frame = Record<string, unknown>;

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'ami');
const SCENARIOS = [
  'attended_transfer',
  'blind_transfer',
  'blind_transfer-nocel',
  'inbound_answered',
  'inbound_answered-nocel',
  'inbound_busy',
  'inbound_missed',
  'inbound_missed-nocel',
  'internal',
  'outbound_answered',
  'outbound_no_answer',
  'queue_ringall',
  'resync_midcall',
];
const fixture = (name: string) => readTranscript(path.join(FIXTURES, name, 'ami.jsonl'));

/**
 * The frame asterisk-manager 0.2.0 makes of raw bytes, written out independently: keys lowercased
 * and trimmed, the value is everything after the first ': ' (untrimmed), repeated keys become
 * arrays, `Variable`/`ChanVariable` become `{ NAME: value }`.
 */
function libraryFrame(raw: string): Frame {
  const item: Frame = {};
  for (const line of raw.split(/\r?\n/)) {
    if (line === '') continue;
    const parts = line.split(': ');
    const key = parts.shift()!.trim().toLowerCase();
    const value = parts.join(': ');
    if (key === 'variable' || key === 'chanvariable') {
      const vars = (item[key] ??= {}) as Record<string, string>;
      const [name, ...rest] = value.split('=');
      vars[name!] = rest.join('=');
    } else if (key in item) {
      const prev = item[key];
      item[key] = Array.isArray(prev) ? [...prev, value] : [prev, value];
    } else {
      item[key] = value;
    }
  }
  return item;
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 15_000; // a deadlock guard, not an assertion
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

function captureLogs() {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  return { logger: createLogger('trace', stream), text: () => chunks.join('') };
}

interface Harness {
  pbx: DemoPbx;
  client: AmiClient;
  logs: ReturnType<typeof captureLogs>;
  frames: Frame[];
  logins: AmiLoginInfo[];
  lost: Array<{ at: Date; reason: string; status: string; lastError: string | null }>;
  restarts: Array<{ at: Date; info: AmiPbxRestartInfo }>;
  /** Callbacks in the order they fired. */
  sequence: string[];
}

const servers: DemoPbx[] = [];
const clients: AmiClient[] = [];
const logCaptures: Array<ReturnType<typeof captureLogs>> = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.stop()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
  for (const logs of logCaptures.splice(0)) expect(logs.text()).not.toContain(SECRET);
});

async function startPbx(options: Partial<DemoPbxOptions> = {}): Promise<DemoPbx> {
  const pbx = await startDemoPbx({ username: USERNAME, secret: SECRET, uptimeSeconds: 3600, ...options });
  servers.push(pbx);
  return pbx;
}

function connect(pbx: DemoPbx, options: Partial<AmiClientOptions> = {}): Harness {
  const logs = captureLogs();
  logCaptures.push(logs);
  const client = createAmiClient({
    host: '127.0.0.1',
    port: pbx.address().port,
    username: USERNAME,
    secret: SECRET,
    logger: logs.logger,
    reconnectDelay: () => 5,
    pingIntervalMs: 60_000,
    ...options,
  });
  clients.push(client);
  const h: Harness = { pbx, client, logs, frames: [], logins: [], lost: [], restarts: [], sequence: [] };
  client.onFrame((frame) => h.frames.push(frame));
  client.onLogin((info) => {
    h.logins.push(info);
    h.sequence.push(`login:${client.state().status}`);
  });
  client.onLinkLost((at, reason) => {
    h.lost.push({ at, reason, status: client.state().status, lastError: client.state().lastError });
    h.sequence.push(`lost:${client.state().status}`);
  });
  client.onPbxRestart((at, info) => {
    h.restarts.push({ at, info });
    h.sequence.push('restart');
  });
  return h;
}

async function started(options: Partial<AmiClientOptions> = {}, pbxOptions: Partial<DemoPbxOptions> = {}) {
  const h = connect(await startPbx(pbxOptions), options);
  h.client.start();
  await until(() => h.logins.length === 1, 'the first login');
  return h;
}

const actionsNamed = (pbx: DemoPbx, name: string) => pbx.receivedActions().filter((a) => a.action?.toLowerCase() === name.toLowerCase());

describe('AMI client against the demo PBX (real asterisk-manager over TCP)', () => {
  it('logs in, receives FullyBooted, answers Ping and logs off on stop', async () => {
    const pbx = await startPbx();
    const h = connect(pbx);
    expect(h.client.state().status).toBe('disabled');
    h.client.start();
    expect(h.client.state().status).toBe('connecting');
    await until(() => h.logins.length === 1, 'login');

    expect(h.logins[0]).toMatchObject({ reconnect: false, pbxRestarted: false });
    expect(h.logins[0]!.uptime).toBeGreaterThanOrEqual(3600);
    expect(h.frames[0]).toMatchObject({ event: 'FullyBooted', status: 'Fully Booted' });
    expect(h.client.state()).toMatchObject({ status: 'connected', reconnects: 0, lastError: null, pendingActions: 0 });
    expect(h.client.state().uptime).toBeGreaterThanOrEqual(3600);
    expect(pbx.clientCount()).toBe(1);
    expect(actionsNamed(pbx, 'login')[0]).toMatchObject({ username: USERNAME, secret: SECRET });

    const pong = await h.client.action({ Action: 'Ping' });
    expect(pong.response).toMatchObject({ response: 'Success', ping: 'Pong' });
    expect(pong.events).toEqual([]);
    expect(actionsNamed(pbx, 'ping')[0]!.actionid).toMatch(/^calltrack-\d+$/);

    const unknown = h.client.action({ Action: 'NoSuchThing' });
    await expect(unknown).rejects.toMatchObject({ code: 'action-failed' });
    await expect(unknown).rejects.toThrow(/Invalid\/unknown command/);

    await h.client.stop();
    expect(h.client.state().status).toBe('disabled');
    expect(actionsNamed(pbx, 'logoff')).toHaveLength(1);
    await until(() => pbx.clientCount() === 0, 'the PBX to see the logoff');
    expect(h.lost).toEqual([]); // a deliberate stop is not a lost link
  });

  it('retries a refused login with backoff and reports it without the secret', async () => {
    const wrongSecret = 'Wr0ng-secret-9d2e';
    const pbx = await startPbx();
    const delays = jest.fn((attempt: number) => attempt); // 0, 1, 2 ms
    const h = connect(pbx, { secret: wrongSecret, reconnectDelay: delays });
    h.client.start();
    await until(() => actionsNamed(pbx, 'login').length >= 3, 'three login attempts');

    expect(h.logins).toEqual([]);
    expect(delays.mock.calls.slice(0, 2)).toEqual([[0], [1]]);
    expect(h.client.state()).toMatchObject({ status: 'disconnected', reconnects: 0 });
    expect(h.client.state().lastError).toBe('AMI login failed: Authentication failed');
    await expect(h.client.action({ Action: 'Ping' })).rejects.toMatchObject({ code: 'not-connected' });
    const logs = h.logs.text();
    expect(logs).toContain('AMI login failed for user \\"crm\\": Authentication failed');
    expect(logs).not.toContain(wrongSecret);
  });

  it('never writes the secret to the log, through logins, reconnects, errors and stop', async () => {
    const h = await started();
    h.pbx.dropClients();
    await until(() => h.logins.length === 2, 'the second login');
    h.pbx.writeRaw('garbage\r\n\r\n');
    await h.client.action({ Action: 'Ping' });
    await h.client.stop();
    const logs = h.logs.text();
    expect(logs).toContain('AMI logged in');
    expect(logs).toContain('AMI link lost');
    expect(logs).toContain('neither event nor response');
    expect(logs).not.toContain(SECRET);
  });

  it('delivers every event of a full replay in order, exactly as the library parses the raw frames', async () => {
    const h = await started();
    expect(h.frames).toHaveLength(1); // the PBX's own FullyBooted
    for (const scenario of SCENARIOS) {
      const frames = await fixture(scenario);
      const before = h.frames.length;
      const result = await h.pbx.play(frames, { speed: 0 });
      const expected = replayedFrames(frames).map((f) => libraryFrame(f.raw));
      // Sent: every recorded event except FullyBooted and the list items of the capture's own action.
      const recordedEvents = frames.filter(
        (f) => f.raw.startsWith('Event: ') && !f.raw.startsWith('Event: FullyBooted') && !f.raw.includes('\r\nActionID: '),
      );
      expect(result).toEqual({ framesPlayed: recordedEvents.length, aborted: false });
      expect(expected).toHaveLength(recordedEvents.length);
      await until(() => h.frames.length === before + expected.length, `${scenario} frames`);
      expect(h.frames.slice(before)).toEqual(expected);
      // ami-frame.ts's parser (journal replays) agrees with the library on the wire.
      expect(h.frames.slice(before)).toEqual(replayedFrames(frames).map((f) => parseAmiFrame(f.raw)));
    }
    expect(h.frames.some((f) => 'response' in f)).toBe(false);
    expect(h.client.state().lastEventAt).toBeInstanceOf(Date);
  });

  it('answers CoreShowChannels mid-call with the live channels, as the real Asterisk did', async () => {
    const h = await started();
    const call = await fixture('inbound_answered');
    const real = (await fixture('resync_midcall'))
      .filter((f) => f.raw.startsWith('Event: CoreShowChannel\r\n'))
      .map((f) => libraryFrame(f.raw));
    expect(real).toHaveLength(2);

    // The same call as resync_midcall, up to the moment that capture asked (both legs bridged).
    await h.pbx.play(
      call.filter((f) => f.n <= 68),
      { speed: 0 },
    );
    const items = await h.client.coreShowChannels();
    expect(items.map((i) => Object.keys(i))).toEqual(real.map((r) => Object.keys(r)));
    const comparable = ({ actionid: _a, duration: _d, ...rest }: Frame) => rest;
    expect(items.map(comparable)).toEqual(real.map(comparable));
    for (const item of items) {
      expect(item.duration).toMatch(/^\d\d:\d\d:\d\d$/);
      expect(item.actionid).toMatch(/^calltrack-\d+$/);
    }
    // The list answers the resync; it is not part of the live stream.
    expect(h.frames.filter((f) => String(f.event).startsWith('CoreShowChannel'))).toEqual([]);

    await h.pbx.play(
      call.filter((f) => f.n > 68),
      { speed: 0 },
    );
    expect(await h.client.coreShowChannels()).toEqual([]);
    expect(h.client.state().pendingActions).toBe(0);
  });

  it('replays resync_midcall with its recorded channels already up', async () => {
    const h = await started();
    const frames = await fixture('resync_midcall');
    const recorded = frames.filter((f) => f.raw.startsWith('Event: CoreShowChannel\r\n')).map((f) => libraryFrame(f.raw));
    await h.pbx.play(
      frames.filter((f) => f.n <= 8),
      { speed: 0 },
    );
    const items = await h.client.coreShowChannels();
    const withoutId = ({ actionid: _a, ...rest }: Frame) => rest;
    expect(items.map(withoutId)).toEqual(recorded.map(withoutId));
    await h.pbx.play(
      frames.filter((f) => f.n > 8),
      { speed: 0 },
    );
    expect(await h.client.coreShowChannels()).toEqual([]);
  });

  it('reconnects by itself with backoff after the PBX drops the link', async () => {
    const delays = jest.fn(() => 3);
    const h = await started({ reconnectDelay: delays });
    expect(h.client.state().status).toBe('connected');

    // An action in flight when the link drops fails at once, not at its timeout.
    h.pbx.pause();
    const inFlight = h.client.action({ Action: 'Ping' }, { timeoutMs: 60_000 });
    h.pbx.dropClients();
    h.pbx.resume();
    await expect(inFlight).rejects.toMatchObject({ code: 'link-lost' });

    await until(() => h.logins.length === 2, 'the second login');
    expect(h.lost).toHaveLength(1);
    // Destroyed with our Ping unread, the PBX's socket answers with a RST: ECONNRESET (else a FIN).
    expect(h.lost[0]!.status).toBe('disconnected');
    expect(h.lost[0]!.reason).toMatch(/^(connection closed by the PBX|socket error: read ECONNRESET)$/);
    expect(h.lost[0]!.lastError).toBe(`AMI link lost: ${h.lost[0]!.reason}`);
    expect(h.lost[0]!.at).toBeInstanceOf(Date);
    expect(h.sequence).toEqual(['login:connected', 'lost:disconnected', 'login:connected']);
    expect(h.logins[1]).toMatchObject({ reconnect: true, pbxRestarted: false });
    expect(delays).toHaveBeenCalledWith(0);
    expect(h.restarts).toEqual([]);
    expect(h.client.state()).toMatchObject({ status: 'connected', reconnects: 1, pendingActions: 0, lastError: null });

    // The new link carries events again.
    const before = h.frames.length;
    const missed = await fixture('inbound_missed');
    await h.pbx.play(missed, { speed: 0 });
    await until(() => h.frames.length === before + replayedFrames(missed).length, 'events after the reconnect');
  });

  it('reports a PBX restart when FullyBooted shows a smaller uptime, before the new login', async () => {
    const h = await started();
    h.pbx.restart({ uptime: 5 });
    await until(() => h.logins.length === 2, 'the login after the restart');
    expect(h.sequence).toEqual(['login:connected', 'lost:disconnected', 'restart', 'login:connected']);
    expect(h.restarts).toHaveLength(1);
    expect(h.restarts[0]!.info.previousUptime).toBeGreaterThanOrEqual(3600);
    expect(h.restarts[0]!.info.uptime).toBeLessThan(3600);
    expect(h.logins[1]).toMatchObject({ reconnect: true, pbxRestarted: true });
    expect(h.logins[1]!.uptime).toBe(h.restarts[0]!.info.uptime);
    expect(h.client.state().uptime).toBeLessThan(3600);
  });

  it('times an unanswered action out without leaking it, and ignores the late answer', async () => {
    const h = await started();
    await h.pbx.play(
      (await fixture('inbound_answered')).filter((f) => f.n <= 68),
      { speed: 0 },
    );
    h.pbx.pause();
    await expect(h.client.action({ Action: 'Ping' }, { timeoutMs: 20 })).rejects.toMatchObject({ code: 'timeout' });
    await expect(h.client.coreShowChannels({ timeoutMs: 20 })).rejects.toMatchObject({ code: 'timeout' });
    expect(h.client.state().pendingActions).toBe(0);
    h.pbx.resume();
    // The late Pong and the late channel list arrive first on the wire, then this answer.
    const pong = await h.client.action({ Action: 'Ping' });
    expect(pong.response).toMatchObject({ ping: 'Pong' });
    expect(h.frames.filter((f) => String(f.event).startsWith('CoreShowChannel'))).toEqual([]);
    expect(h.client.state()).toMatchObject({ status: 'connected', pendingActions: 0 });
    expect(h.lost).toEqual([]);
  });

  it('refuses actions while logged out instead of holding or losing them', async () => {
    const pbx = await startPbx();
    const h = connect(pbx, { reconnectDelay: () => 60_000 });
    await expect(h.client.action({ Action: 'Ping' })).rejects.toMatchObject({ code: 'not-connected' });
    await expect(h.client.coreShowChannels()).rejects.toThrow('AMI not logged in (disabled): CoreShowChannels refused');

    h.client.start();
    await until(() => h.logins.length === 1, 'login');
    pbx.dropClients();
    await until(() => h.lost.length === 1, 'the lost link');
    const sent = pbx.receivedActions().length;
    await expect(h.client.action({ Action: 'CoreShowChannels' })).rejects.toThrow(
      'AMI not logged in (disconnected): CoreShowChannels refused',
    );
    expect(pbx.receivedActions()).toHaveLength(sent);

    await h.client.stop();
    await expect(h.client.action({ Action: 'Ping' })).rejects.toMatchObject({ code: 'not-connected' });
    expect(pbx.receivedActions()).toHaveLength(sent);
  });

  it('detects a PBX that stopped answering through Ping and reconnects once it answers again', async () => {
    const h = await started({ pingIntervalMs: 10, pingTimeoutMs: 40, loginTimeoutMs: 60 });
    await until(() => actionsNamed(h.pbx, 'ping').length >= 2, 'pings');
    h.pbx.pause();
    await until(() => h.lost.length === 1, 'the link to be declared lost');
    expect(h.lost[0]!.reason).toBe('Ping unanswered within 40 ms');
    // While the PBX is frozen, TCP connects but no Login answer comes: attempts time out and retry.
    await until(() => /no answer within 60 ms/.test(h.client.state().lastError ?? ''), 'a login timeout');
    expect(h.client.state().status).toBe('disconnected');
    h.pbx.resume();
    await until(() => h.logins.length === 2, 'the login after the PBX came back');
    expect(h.client.state()).toMatchObject({ status: 'connected', reconnects: 1 });
    expect(h.restarts).toEqual([]);
  });

  it('survives garbage lines, a 1 MB line and binary bytes mid-stream; the following frames still arrive', async () => {
    const h = await started();
    const call = await fixture('inbound_missed');
    const expected = replayedFrames(call).map((f) => libraryFrame(f.raw));
    const half = Math.floor(call.length / 2);
    const firstHalf = call.slice(0, half);
    const before = h.frames.length;

    await h.pbx.play(firstHalf, { speed: 0 });
    h.pbx.writeRaw('this is not AMI\r\nneither: is this\r\n\r\n');
    h.pbx.writeRaw(`${'x'.repeat(1024 * 1024)}\r\n\r\n`);
    let seed = 42;
    const binary = Buffer.alloc(64 * 1024, 0).map(() => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed >> 16;
    });
    h.pbx.writeRaw(binary);
    h.pbx.writeRaw('\r\n\r\n\r\n\r\n');
    await h.pbx.play(call.slice(half), { speed: 0 });

    await until(() => h.frames.length >= before + expected.length, 'the frames after the garbage');
    expect(h.frames.slice(before)).toEqual(expected);
    expect(h.lost).toEqual([]);
    expect(h.client.state().status).toBe('connected');
    expect((await h.client.action({ Action: 'Ping' })).response).toMatchObject({ ping: 'Pong' });
  });

  it('replays at the captured pace, holds everything while paused and resumes where it stopped', async () => {
    const h = await started();
    const call = await fixture('inbound_answered'); // about 7 s of events: 350 ms at speed 20
    const expected = replayedFrames(call).map((f) => libraryFrame(f.raw));
    const before = h.frames.length;
    h.pbx.pause();
    let finished = false;
    const replay = h.pbx.play(call, { speed: 20 }).then((result) => {
      finished = true;
      return result;
    });
    await expect(h.client.action({ Action: 'Ping' }, { timeoutMs: 30 })).rejects.toMatchObject({ code: 'timeout' });
    expect(h.frames.length).toBe(before);
    expect(finished).toBe(false);
    h.pbx.resume();
    expect(await replay).toEqual({ framesPlayed: expected.length, aborted: false });
    await until(() => h.frames.length === before + expected.length, 'the call');
    expect(h.frames.slice(before)).toEqual(expected);
    expect(h.lost).toEqual([]);
  });

  it('keeps retrying a PBX that refuses the TCP connection', async () => {
    const pbx = await startPbx();
    const { port } = pbx.address();
    await pbx.close();
    const delays = jest.fn(() => 2);
    const h = connect(pbx, { reconnectDelay: delays });
    h.client.start();
    await until(() => delays.mock.calls.length >= 3, 'three retries');
    expect(h.client.state()).toMatchObject({ status: 'disconnected', reconnects: 0 });
    expect(h.client.state().lastError).toBe(`AMI connection failed: connect ECONNREFUSED 127.0.0.1:${port}`);
    expect(h.logins).toEqual([]);
  });

  it('fires onLogin without an uptime when the PBX sends no FullyBooted (still booting)', async () => {
    const h = await started({ fullyBootedWaitMs: 10 }, { fullyBooted: false });
    expect(h.logins[0]).toMatchObject({ uptime: null, reconnect: false, pbxRestarted: false });
    expect(h.client.state()).toMatchObject({ status: 'connected', uptime: null });
    expect(h.frames).toEqual([]);
  });

  it('drops the link on a line longer than maxLineLength and reconnects', async () => {
    const h = await started({ maxLineLength: 10_000 });
    h.pbx.writeRaw('y'.repeat(50_000));
    await until(() => h.logins.length === 2, 'the login after the oversized line');
    expect(h.lost[0]!.reason).toBe('a line longer than 10000 bytes');
  });
});

describe('demo loop', () => {
  it('replays the shipped scenarios side by side with fresh, never repeated ids', async () => {
    const h = await started();
    const scenarios = await loadDemoScenarios();
    const loop = startDemoLoop(h.pbx, { scenarios, speed: 0, gapMs: 0, lines: 3 });
    const newchannels = () => h.frames.filter((f) => f.event === 'Newchannel');
    await until(() => loop.callsStarted() > scenarios.length + 3 && newchannels().length >= 40, 'demo calls');
    await loop.stop();

    const uniqueids = newchannels().map((f) => f.uniqueid as string);
    const names = newchannels().map((f) => f.channel as string);
    expect(new Set(uniqueids).size).toBe(uniqueids.length);
    expect(new Set(names).size).toBe(names.length);
    // Every channel's linkedid is a uniqueid of the same replay, and recordings name their channel.
    const ids = new Set(uniqueids);
    expect(newchannels().every((f) => ids.has(f.linkedid as string))).toBe(true);
    const recordings = h.frames.filter((f) => f.event === 'MixMonitorStart').map((f) => f.uniqueid as string);
    expect(recordings.length).toBeGreaterThan(0);
    for (const id of recordings) expect(ids.has(id)).toBe(true);
    const files = h.frames.flatMap((f) => (typeof f.userfield === 'string' && f.userfield.endsWith('.wav') ? [f.userfield] : []));
    for (const file of files) expect(ids.has(/-(\d+\.\d+)\.wav$/.exec(file)![1]!)).toBe(true);
  });
});
