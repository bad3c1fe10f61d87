import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable, type Readable } from 'node:stream';
import { createAriClient, type AriClient, type AriClientOptions, type AriEvent } from '../../src/asterisk/ari.client';
import { AppError } from '../../src/errors';
import { createLogger } from '../../src/logger';
import { startFakeAri, type FakeAri } from '../helpers/fake-ari';

/**
 * The real ari-client (through createAriClient) against the fake ARI server on the wire: real HTTP,
 * real api-docs of Asterisk 22, a real websocket.
 *
 * ari-client's own websocket retry schedule (backoff-func: 10 retries, 100 ms doubling to 10 s,
 * ~43 s in all) is shortened here to 3 retries of 10 ms, so "beyond the library's retry limit" is
 * reached in milliseconds; the library's retry logic and its WebSocketMaxRetries are its own.
 */
jest.mock('backoff-func', () => ({
  create: () => {
    let retries = 0;
    return (fn: () => void) => {
      retries += 1;
      if (retries > 3) return false;
      setTimeout(fn, 10);
      return true;
    };
  },
}));

const memory: string[] = [];
const logStream = new Writable({
  write(chunk: Buffer, _enc, done) {
    memory.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    done();
  },
});
const logger = createLogger('debug', logStream);
const passwords = new Set<string>();

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs; // a deadlock guard, not an assertion
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const clients: AriClient[] = [];
const fakes: FakeAri[] = [];

async function fakeAri(options: Parameters<typeof startFakeAri>[0] = {}): Promise<FakeAri> {
  const fake = await startFakeAri(options);
  passwords.add(fake.password);
  fakes.push(fake);
  return fake;
}

function client(fake: FakeAri, options: Partial<AriClientOptions> = {}): AriClient {
  const c = createAriClient({
    url: fake.url,
    username: fake.username,
    password: fake.password,
    app: 'calltrack',
    logger,
    reconnectDelay: () => 20,
    requestTimeoutMs: 2000,
    ...options,
  });
  if (options.password) passwords.add(options.password);
  clients.push(c);
  return c;
}

async function connected(fake: FakeAri, options: Partial<AriClientOptions> = {}): Promise<AriClient> {
  const c = client(fake, options);
  c.start();
  await until(() => c.state().status === 'connected', 'ARI connected');
  await fake.waitForSockets(1);
  return c;
}

function readAll(stream: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  }
  throw new Error('expected a rejection');
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.stop()));
  await Promise.all(fakes.splice(0).map((f) => f.close()));
});

afterAll(() => {
  // the password never reaches a log line, whatever happened
  const all = memory.join('\n');
  expect(all.length).toBeGreaterThan(0);
  for (const password of passwords) {
    expect(all).not.toContain(password);
    expect(all).not.toContain(Buffer.from(`calltrack:${password}`).toString('base64'));
  }
});

describe('connect', () => {
  it('loads the api-docs with basic auth, then opens the events websocket with app and api_key', async () => {
    const consoleLog = jest.spyOn(console, 'log');
    const fake = await fakeAri();
    const c = await connected(fake);

    const state = c.state();
    expect(state).toMatchObject({ status: 'connected', lastError: null, reconnects: 0, rebuilds: 0 });
    const docs = fake.requests().filter((r) => r.path.startsWith('/ari/api-docs/'));
    // resources.json: our preflight, ari-client's own probe without credentials (401), then swagger-client
    expect(docs.filter((r) => r.path === '/ari/api-docs/resources.json').map((r) => r.status)).toEqual([200, 401, 200]);
    expect(
      docs
        .filter((r) => r.path !== '/ari/api-docs/resources.json')
        .map((r) => `${r.path} ${r.status}`)
        .sort(),
    ).toEqual(
      [
        'applications',
        'asterisk',
        'bridges',
        'channels',
        'deviceStates',
        'endpoints',
        'events',
        'mailboxes',
        'playbacks',
        'recordings',
        'sounds',
      ]
        .map((n) => `/ari/api-docs/${n}.json 200`)
        .sort(),
    );
    expect(
      docs.filter((r) => r.status === 200).every((r) => r.user === fake.username && r.headers.authorization?.startsWith('Basic ')),
    ).toBe(true);
    const upgrade = fake.requests().find((r) => r.upgrade)!;
    expect(upgrade.path).toBe('/ari/events');
    expect(upgrade.query).toEqual({ app: 'calltrack', api_key: `${fake.username}:${fake.password}` });
    expect(upgrade.status).toBe(101);
    expect(fake.socketApps()).toEqual(['calltrack']);
    // swagger-client's "deprecated version of Swagger" line goes to pino, not the console
    expect(consoleLog.mock.calls.flat().join(' ')).not.toMatch(/deprecated version of Swagger/);
    consoleLog.mockRestore();
    expect(memory.some((l) => l.includes('deprecated version of Swagger'))).toBe(true);

    await c.stop();
    expect(c.state().status).toBe('disabled');
    await until(() => fake.sockets() === 0, 'socket closed');
  });

  it('a wrong password: a clear lastError naming the user, never the password, and it keeps retrying', async () => {
    const fake = await fakeAri();
    const wrong = `wrong-${crypto.randomBytes(6).toString('hex')}`;
    const c = client(fake, { password: wrong });
    c.start();
    await until(() => c.state().lastError !== null, 'a connect error');
    const state = c.state();
    expect(state.status).toBe('disconnected');
    expect(state.lastError).toBe('ARI rejected user "calltrack" (HTTP 401): check ARI_USERNAME / ARI_PASSWORD against ari.conf');
    const attempts = () => fake.requests().filter((r) => r.path === '/ari/api-docs/resources.json').length;
    const before = attempts();
    await until(() => attempts() > before + 1, 'retries');
    expect(fake.requests().every((r) => r.status === 401)).toBe(true);
    expect(fake.sockets()).toBe(0);
    await expect(c.originate({ endpoint: 'PJSIP/101', extension: '102', context: 'from-internal' })).rejects.toThrow(
      'ARI is not connected (ARI rejected user "calltrack" (HTTP 401)',
    );
  });

  it('an unreachable host and a server that is not ARI: clear errors', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const fake = await fakeAri();
    const dead = client(fake, { url: `http://127.0.0.1:${deadPort}` });
    dead.start();
    await until(() => dead.state().lastError !== null, 'connect error');
    expect(dead.state().lastError).toBe(`cannot reach ARI at http://127.0.0.1:${deadPort}: ECONNREFUSED`);

    const web = http.createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end('<!doctype html><title>some web app</title>');
    });
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(web.address() as AddressInfo).port}`;
      const wrong = client(fake, { url });
      wrong.start();
      await until(() => wrong.state().lastError !== null, 'connect error');
      expect(wrong.state().lastError).toBe(
        `${url}/ari/api-docs/resources.json is not ARI's api-docs: is ARI_URL the Asterisk HTTP server (http.conf)?`,
      );
      await wrong.stop();
    } finally {
      web.closeAllConnections();
      await new Promise<void>((resolve) => web.close(() => resolve()));
    }
  });

  it('a declaration failing while ari-client loads the api-docs (Asterisk still booting) is contained and retried', async () => {
    const fake = await fakeAri();
    fake.failNext('GET /ari/api-docs/{resource}', 503, 'Asterisk not booted');
    const c = client(fake);
    c.start();
    await until(() => c.state().status === 'connected', 'connected after the retry');
    expect(fake.requests().some((r) => r.status === 503)).toBe(true);
    expect(memory.some((l) => l.includes('ARI api-docs failed to load'))).toBe(true);
  });
});

describe('the events websocket', () => {
  it('a dropped socket: ari-client reconnects by itself', async () => {
    const fake = await fakeAri();
    const c = await connected(fake);
    const events: AriEvent[] = [];
    c.onEvent((e) => events.push(e));
    fake.dropSockets();
    await until(() => c.state().reconnects === 1 && c.state().status === 'connected', 'reconnected');
    await fake.waitForSockets(1);
    expect(c.state().rebuilds).toBe(0);
    fake.pushEvent({ type: 'ApplicationReplaced', timestamp: '2025-01-01T00:00:00.000+0000' });
    await until(() => events.length === 1, 'event after reconnect');
  });

  it('down beyond the library retry limit: the whole client is rebuilt (our backoff) until it connects, with no stray socket', async () => {
    const fake = await fakeAri();
    const c = await connected(fake);
    const docsLoads = () => fake.requests().filter((r) => r.path === '/ari/api-docs/events.json').length;
    expect(docsLoads()).toBe(1);
    fake.refuseSockets(503);
    fake.dropSockets();
    await until(() => c.state().status === 'disconnected', 'disconnected');
    await until(() => c.state().rebuilds >= 2, 'two rebuilds');
    expect(c.state().lastError).toMatch(/^ARI events websocket failed: Unexpected server response: 503/);
    expect(docsLoads()).toBeGreaterThanOrEqual(2); // the first load, and again on every rebuild
    fake.refuseSockets(false);
    await until(() => c.state().status === 'connected', 'connected again');
    await sleep(200); // time for any retry scheduled by a discarded client to show up
    expect(fake.sockets()).toBe(1);
    expect(c.state().lastError).toBeNull();
  });

  it('an event type unknown to events.json, a frame that is not JSON and a failing listener do not kill it', async () => {
    const fake = await fakeAri();
    const c = await connected(fake);
    const types: string[] = [];
    c.onEvent(() => {
      throw new Error('listener bug');
    });
    c.onEvent((e) => types.push(e.type));
    expect(fake.pushEvent({ type: 'ChannelTeleported', channel: { id: 'x' } })).toBe(1);
    fake.pushEvent({ type: 'constructor' });
    fake.pushEvent('this is not json');
    fake.pushEvent({ noType: true });
    const channel = {
      id: '1795718499.7',
      name: 'PJSIP/101-00000007',
      state: 'Up',
      protocol_id: '',
      caller: { name: 'Manager 101', number: '101' },
      connected: { name: '', number: '' },
      accountcode: '',
      dialplan: { context: 'from-internal', exten: '0501112233', priority: 1, app_name: '', app_data: '' },
      creationtime: '2025-01-01T00:00:00.000+0000',
      language: 'en',
    };
    fake.pushEvent({
      type: 'ChannelDestroyed',
      timestamp: '2025-01-01T00:00:01.000+0000',
      cause: 16,
      cause_txt: 'Normal Clearing',
      channel,
    });
    await until(() => types.length === 1, 'the known event');
    expect(types).toEqual(['ChannelDestroyed']);
    expect(c.state().status).toBe('connected');
    expect(c.state().lastEventAt).toBeInstanceOf(Date);
    expect(fake.sockets()).toBe(1);
    expect(memory.some((l) => l.includes('ARI event listener failed'))).toBe(true);
    expect(memory.some((l) => l.includes('not JSON'))).toBe(true);
  });

  it('pings; a ping left unanswered drops the socket and it reconnects', async () => {
    const fake = await fakeAri();
    const c = await connected(fake, { pingIntervalMs: 30, pingTimeoutMs: 60 });
    await until(() => fake.pings() >= 2, 'pings');
    expect(c.state().reconnects).toBe(0);
    fake.mutePongs(true);
    await until(() => c.state().reconnects >= 1, 'reconnect after an unanswered ping');
    fake.mutePongs(false);
    await until(() => c.state().status === 'connected', 'connected');
    expect(memory.some((l) => l.includes('ping unanswered'))).toBe(true);
  });

  it('a websocket handshake that never gets an answer is aborted and retried', async () => {
    const fake = await fakeAri();
    fake.refuseSockets('hang');
    const c = client(fake, { connectTimeoutMs: 100 });
    c.start();
    await until(() => fake.requests().filter((r) => r.upgrade).length >= 2, 'a second handshake after the first hung');
    await until(() => fake.hangingUpgrades() <= 1, 'the abandoned handshake closed');
    expect(memory.some((l) => l.includes('handshake got no answer'))).toBe(true);
    fake.refuseSockets(false);
    await until(() => c.state().status === 'connected', 'connected');
  });

  it('stop() during the library retries leaves no socket behind', async () => {
    const fake = await fakeAri();
    const c = await connected(fake);
    fake.refuseSockets(503);
    fake.dropSockets();
    await until(() => c.state().status === 'disconnected', 'disconnected');
    await c.stop();
    fake.refuseSockets(false);
    await sleep(300);
    expect(fake.sockets()).toBe(0);
    expect(c.state().status).toBe('disabled');
  });
});

describe('REST', () => {
  it('originate: the request Asterisk receives, and the channel id', async () => {
    const fake = await fakeAri();
    const c = await connected(fake);
    const id = await c.originate({
      endpoint: 'PJSIP/101',
      extension: '0501112233',
      context: 'from-internal',
      callerId: 'calltrack <101>',
      timeoutSeconds: 30,
      variables: { CALLTRACK_ORIGINATED_BY: 'u-1' },
    });
    const request = fake.requests().find((r) => r.method === 'POST')!;
    expect(request.path).toBe('/ari/channels');
    expect(request.user).toBe(fake.username);
    expect(request.query).toEqual({
      endpoint: 'PJSIP/101',
      extension: '0501112233',
      context: 'from-internal',
      priority: '1',
      callerId: 'calltrack <101>',
      timeout: '30',
    });
    expect(request.body).toEqual({ variables: { CALLTRACK_ORIGINATED_BY: 'u-1' } });
    expect(request.headers['content-type']).toBe('application/json');
    expect(fake.originates()).toHaveLength(1);
    expect(id).toBe(fake.originates()[0]!.channel.id);

    await c.originate({ endpoint: 'PJSIP/102', extension: '101', context: 'from-internal' });
    const second = fake.requests().filter((r) => r.method === 'POST')[1]!;
    expect(second.query).toEqual({ endpoint: 'PJSIP/102', extension: '101', context: 'from-internal', priority: '1', timeout: '30' });
    expect(second.body).toBe('');
  });

  it('recordings: metadata, the file byte for byte (streamed), delete, and 404 as not-found', async () => {
    const bytes = Buffer.concat([Buffer.from('RIFF\x24\x00\x10\x00WAVEfmt ', 'latin1'), crypto.randomBytes(1024 * 1024)]);
    const fake = await fakeAri({ recordings: { 'calltrack/in-1795715947.0.wav': bytes } });
    const c = await connected(fake);

    expect(await c.storedRecording('calltrack/in-1795715947.0')).toEqual({ name: 'calltrack/in-1795715947.0', format: 'wav' });
    expect(fake.requests().at(-1)!.rawPath).toBe('/ari/recordings/stored/calltrack%2Fin-1795715947.0');

    const stream = await c.downloadRecording('calltrack/in-1795715947.0');
    const got = await readAll(stream);
    expect(got.length).toBe(bytes.length);
    expect(got.equals(bytes)).toBe(true);
    const download = fake.requests().at(-1)!;
    expect(download.rawPath).toBe('/ari/recordings/stored/calltrack%2Fin-1795715947.0/file');
    expect(download.user).toBe(fake.username);

    for (const attempt of [
      c.storedRecording('calltrack/nope'),
      c.downloadRecording('calltrack/nope'),
      c.deleteRecording('calltrack/nope'),
    ]) {
      const err = await rejection(attempt);
      expect(err.code).toBe('not-found');
      expect(err.message).toBe('Recording calltrack/nope not found on the PBX');
    }

    await c.deleteRecording('calltrack/in-1795715947.0');
    expect(fake.hasRecording('calltrack/in-1795715947.0')).toBe(false);
    expect(fake.requests().at(-1)).toMatchObject({ method: 'DELETE', status: 204 });

    const bad = await rejection(c.downloadRecording('../../etc/passwd'));
    expect(bad.code).toBe('validation');
  });

  it('a server error is "unavailable" with the status and message; a reset connection fails within the timeout', async () => {
    const fake = await fakeAri({ recordings: { 'calltrack/out-1.0': Buffer.from('x') } });
    const c = await connected(fake, { requestTimeoutMs: 300 });
    fake.failNext('POST /ari/channels', 500, 'Allocation failed');
    const err = await rejection(c.originate({ endpoint: 'PJSIP/101', extension: '0501112233', context: 'from-internal' }));
    expect(err.code).toBe('unavailable');
    expect(err.message).toBe('ARI originate to PJSIP/101 failed (HTTP 500): Allocation failed');

    fake.failNext('POST /ari/channels', 'reset');
    const started = Date.now();
    const reset = await rejection(c.originate({ endpoint: 'PJSIP/101', extension: '0501112233', context: 'from-internal' }));
    expect(reset.code).toBe('unavailable');
    expect(reset.message).toBe('ARI originate to PJSIP/101: no answer within 300 ms');
    expect(Date.now() - started).toBeLessThan(2000);

    fake.failNext('GET /ari/recordings/stored/{name}/file', 403, 'The recording file could not be opened');
    const forbidden = await rejection(c.downloadRecording('calltrack/out-1.0'));
    expect(forbidden.code).toBe('unavailable');
    expect(forbidden.message).toBe('ARI download recording calltrack/out-1.0 failed (HTTP 403): The recording file could not be opened');

    // still healthy afterwards
    expect(await c.originate({ endpoint: 'PJSIP/101', extension: '102', context: 'from-internal' })).toEqual(expect.any(String));
  });

  it('two clients with different credentials each send their own (swagger-client keeps one for the process)', async () => {
    const one = await fakeAri();
    const two = await fakeAri();
    const c1 = await connected(one);
    const c2 = await connected(two);
    await c1.originate({ endpoint: 'PJSIP/101', extension: '102', context: 'from-internal' });
    await c2.originate({ endpoint: 'PJSIP/102', extension: '101', context: 'from-internal' });
    expect(one.originates()).toHaveLength(1);
    expect(two.originates()).toHaveLength(1);
    expect([...one.requests(), ...two.requests()].filter((r) => !r.user && r.path !== '/ari/api-docs/resources.json')).toEqual([]);
  });

  it('not started or not connected: "unavailable" at once, nothing sent', async () => {
    const fake = await fakeAri();
    const c = client(fake);
    const err = await rejection(c.originate({ endpoint: 'PJSIP/101', extension: '102', context: 'from-internal' }));
    expect(err.code).toBe('unavailable');
    expect(err.message).toBe('ARI is not running: cannot originate to PJSIP/101');
    expect(fake.requests()).toEqual([]);
  });
});
