import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import WebSocket from 'ws';

/**
 * A fake Asterisk REST Interface on the wire, faithful to what the real ari-client (and our wrapper)
 * sees from Asterisk 22:
 *
 * - `/ari/api-docs/resources.json` and every declaration, served from the api-docs captured from a
 *   real Asterisk 22 (test/fixtures/ari/api-docs) with `basePath` rewritten from the request's
 *   `Host` header, as Asterisk's ast_ari_get_docs does.
 * - Authentication on every request, api-docs included: HTTP Basic or `?api_key=user:pass`;
 *   otherwise 401 with `WWW-Authenticate` and `{"message":"Authentication required"}`.
 * - The event websocket `/ari/events?app=…&api_key=…` (refused with 401 for a bad key, 400
 *   without `app`), sub-protocol `ari` when asked for.
 * - The REST routes calltrack uses: originate (`POST /ari/channels`, answered with a Channel
 *   snapshot), stored recordings (metadata, file, delete), `GET /ari/asterisk/info` and `/ping`.
 *   Errors are Asterisk's shape: `{"message": "…"}` with the documented status.
 *
 * Test helpers: pushEvent(), dropSockets(), refuseSockets(), requests(), failNext(), close().
 */

export interface FakeAriRequest {
  method: string;
  /** decoded path segments joined with '/', e.g. /ari/recordings/stored/calltrack/in-1.0/file */
  path: string;
  /** the path as sent (percent-encoding kept) */
  rawPath: string;
  query: Record<string, string>;
  headers: http.IncomingHttpHeaders;
  /** the JSON body parsed, else the raw text ('' when none) */
  body: unknown;
  /** the user the request authenticated as, null when it did not */
  user: string | null;
  /** the status the fake answered */
  status: number;
  /** a websocket upgrade request */
  upgrade: boolean;
  at: Date;
}

export interface OriginateRecord {
  params: Record<string, string>;
  variables: Record<string, string>;
  channel: Record<string, unknown>;
}

export interface FakeAriOptions {
  username?: string;
  password?: string;
  /** stored recordings by name (`calltrack/in-1.0`), each with its file bytes; format from the name or 'wav' */
  recordings?: Record<string, Buffer>;
  /** or a directory laid out like /var/spool/asterisk/recording (files `<name>.<format>`) */
  recordingsDir?: string;
  /** defaults to test/fixtures/ari/api-docs */
  docsDir?: string;
}

/** A route of failNext(): the method and the route template, e.g. `GET /ari/recordings/stored/{name}/file`. */
export type FakeAriRoute =
  | 'GET /ari/api-docs/resources.json'
  | 'GET /ari/api-docs/{resource}'
  | 'POST /ari/channels'
  | 'GET /ari/recordings/stored/{name}'
  | 'GET /ari/recordings/stored/{name}/file'
  | 'DELETE /ari/recordings/stored/{name}'
  | 'GET /ari/asterisk/info'
  | 'GET /ari/events';

/**
 * A status to answer with, 'reset' to destroy the connection without an answer, or 'truncate'
 * (a recording's file): the full Content-Length, half the bytes, then the connection drops.
 */
export type FakeAriFailure = number | 'reset' | 'truncate';

export interface FakeAri {
  /** the HTTP base without /ari, as ARI_URL is configured: http://127.0.0.1:<port> */
  url: string;
  port: number;
  username: string;
  password: string;
  /** every request so far (api-docs, REST, websocket upgrades), oldest first */
  requests(): FakeAriRequest[];
  /** the originate requests so far */
  originates(): OriginateRecord[];
  /** open event websockets */
  sockets(): number;
  /** the `app` of each event websocket opened so far */
  socketApps(): string[];
  /** resolves when at least `n` event websockets are open */
  waitForSockets(n?: number, timeoutMs?: number): Promise<void>;
  /** sends an event (an object, serialised as Asterisk does, or a raw text frame) to every open socket; returns how many got it */
  pushEvent(event: Record<string, unknown> | string): number;
  /** destroys every event websocket without a close frame (a dropped link) */
  dropSockets(): void;
  /** refuses websocket upgrades with this status (true: 503), or never answers them ('hang'), until called with false */
  refuseSockets(refuse: boolean | number | 'hang'): void;
  /** upgrade requests left unanswered by refuseSockets('hang') and still open */
  hangingUpgrades(): number;
  /** the next request to `route` gets `failure` instead of its answer (queued: call twice for two) */
  failNext(route: FakeAriRoute, failure: FakeAriFailure, message?: string): void;
  /** adds or replaces a stored recording */
  setRecording(name: string, bytes: Buffer): void;
  hasRecording(name: string): boolean;
  /** websocket pings received (ws answers them with pongs itself) */
  pings(): number;
  /** stops answering pings with pongs (a half-open link) */
  mutePongs(mute: boolean): void;
  close(): Promise<void>;
}

const DEFAULT_DOCS = path.join(__dirname, '..', 'fixtures', 'ari', 'api-docs');
const AUTH_REALM = 'Asterisk REST Interface';

const MIME: Record<string, string> = {
  wav: 'audio/wav',
  gsm: 'audio/gsm',
  ulaw: 'audio/basic',
  sln: 'audio/x-sln',
  mp3: 'audio/mpeg',
  // MixMonitor's `D` option writes headerless signed linear; Asterisk knows no MIME type for it
  raw: 'application/octet-stream',
};

function splitName(name: string): { base: string; format: string } {
  const m = /^(.*)\.([A-Za-z0-9]+)$/.exec(name);
  return m && MIME[m[2]!.toLowerCase()] ? { base: m[1]!, format: m[2]!.toLowerCase() } : { base: name, format: 'wav' };
}

/** Asterisk's Channel creationtime: 2025-11-26T18:04:12.345+0000 */
function asteriskTime(d: Date): string {
  return d.toISOString().replace('Z', '+0000');
}

/** ast_callerid_parse, for the forms ARI callers use: `name <number>`, `"name" <number>`, `number`. */
function parseCallerId(value: string | undefined): { name: string; number: string } {
  if (!value) return { name: '', number: '' };
  const m = /^\s*"?([^"<]*?)"?\s*<([^>]*)>\s*$/.exec(value);
  if (m) return { name: m[1]!.trim(), number: m[2]!.trim() };
  return /^[\d+*#]+$/.test(value.trim()) ? { name: '', number: value.trim() } : { name: value.trim(), number: '' };
}

export async function startFakeAri(options: FakeAriOptions = {}): Promise<FakeAri> {
  const username = options.username ?? 'calltrack';
  const password = options.password ?? `ari-${crypto.randomBytes(6).toString('hex')}`;
  const docsDir = options.docsDir ?? DEFAULT_DOCS;
  const docs = new Map<string, Record<string, unknown>>();
  for (const file of fs.readdirSync(docsDir)) {
    if (file.endsWith('.json')) docs.set(file, JSON.parse(fs.readFileSync(path.join(docsDir, file), 'utf8')) as Record<string, unknown>);
  }
  if (!docs.has('resources.json')) throw new Error(`no resources.json in ${docsDir}`);

  const recordings = new Map<string, { format: string; bytes: Buffer }>();
  for (const [name, bytes] of Object.entries(options.recordings ?? {})) {
    const { base, format } = splitName(name);
    recordings.set(base, { format, bytes });
  }
  const log: FakeAriRequest[] = [];
  const originates: OriginateRecord[] = [];
  const failures = new Map<string, { failure: FakeAriFailure; message?: string }[]>();
  const wss = new WebSocket.Server({
    noServer: true,
    handleProtocols: (protocols: Iterable<string>) => ([...protocols].includes('ari') ? 'ari' : false),
  });
  const sockets = new Set<WebSocket>();
  const socketApps: string[] = [];
  const connections = new Set<Socket>();
  let refuse: number | 'hang' | false = false;
  const hanging = new Set<Duplex>();
  let pongsMuted = false;
  let pings = 0;
  let channelSeq = 0;
  const bootTime = new Date();
  const systemId = crypto.randomBytes(6).toString('hex').match(/../g)!.join(':');

  function authenticate(req: http.IncomingMessage, query: Record<string, string>): string | null {
    const header = req.headers.authorization;
    let user: string | undefined;
    let pass: string | undefined;
    if (header?.startsWith('Basic ')) {
      const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
      const i = decoded.indexOf(':');
      if (i >= 0) [user, pass] = [decoded.slice(0, i), decoded.slice(i + 1)];
    } else if (query.api_key !== undefined) {
      const i = query.api_key.indexOf(':');
      if (i >= 0) [user, pass] = [query.api_key.slice(0, i), query.api_key.slice(i + 1)];
    }
    return user === username && pass === password ? user : null;
  }

  function parseUrl(rawUrl: string) {
    const q = rawUrl.indexOf('?');
    const rawPath = q < 0 ? rawUrl : rawUrl.slice(0, q);
    const query: Record<string, string> = {};
    for (const [k, v] of new URLSearchParams(q < 0 ? '' : rawUrl.slice(q + 1))) query[k] = v;
    const segments = rawPath.split('/').map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
    return { rawPath, query, segments };
  }

  /** The route template a request matches, and its path variables. */
  function route(method: string, segments: string[]): { route: FakeAriRoute | null; name?: string; resource?: string } {
    // segments[0] is '' (leading slash); segments[1] must be 'ari'
    const s = segments.slice(1);
    if (s[0] !== 'ari') return { route: null };
    const [, a, b, c, d] = s;
    if (method === 'GET' && a === 'api-docs' && b === 'resources.json' && s.length === 3)
      return { route: 'GET /ari/api-docs/resources.json' };
    if (method === 'GET' && a === 'api-docs' && b && s.length === 3) return { route: 'GET /ari/api-docs/{resource}', resource: b };
    if (method === 'POST' && a === 'channels' && s.length === 2) return { route: 'POST /ari/channels' };
    if (a === 'recordings' && b === 'stored' && c) {
      if (method === 'GET' && s.length === 4) return { route: 'GET /ari/recordings/stored/{name}', name: c };
      if (method === 'DELETE' && s.length === 4) return { route: 'DELETE /ari/recordings/stored/{name}', name: c };
      if (method === 'GET' && s.length === 5 && d === 'file') return { route: 'GET /ari/recordings/stored/{name}/file', name: c };
    }
    if (method === 'GET' && a === 'asterisk' && b === 'info' && s.length === 3) return { route: 'GET /ari/asterisk/info' };
    if (method === 'GET' && a === 'events' && s.length === 2) return { route: 'GET /ari/events' };
    return { route: null };
  }

  function takeFailure(r: FakeAriRoute | null) {
    if (!r) return undefined;
    const queue = failures.get(r);
    return queue?.shift();
  }

  function readBody(req: http.IncomingMessage): Promise<string> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });
  }

  function lookupRecording(name: string): { format: string; bytes: Buffer } | undefined {
    const inMemory = recordings.get(name);
    if (inMemory) return inMemory;
    if (!options.recordingsDir || name.split('/').includes('..')) return undefined;
    for (const format of Object.keys(MIME)) {
      const file = path.join(options.recordingsDir, `${name}.${format}`);
      if (fs.existsSync(file)) return { format, bytes: fs.readFileSync(file) };
    }
    return undefined;
  }

  function deleteRecording(name: string): boolean {
    if (recordings.delete(name)) return true;
    if (!options.recordingsDir || name.split('/').includes('..')) return false;
    for (const format of Object.keys(MIME)) {
      const file = path.join(options.recordingsDir, `${name}.${format}`);
      if (fs.existsSync(file)) {
        fs.rmSync(file);
        return true;
      }
    }
    return false;
  }

  function originate(params: Record<string, string>, variables: Record<string, string>): { status: number; body: unknown } {
    const endpoint = params.endpoint;
    if (!endpoint) return { status: 400, body: { message: 'Endpoint must be specified' } };
    if (!endpoint.includes('/')) return { status: 400, body: { message: 'Endpoint must specify technology' } };
    if (params.app && (params.extension || params.context || params.priority || params.label)) {
      return { status: 400, body: { message: "Option 'app' is mutually exclusive with 'extension', 'context', 'priority' and 'label'" } };
    }
    if (!params.app && !params.extension) return { status: 400, body: { message: 'Application or extension must be specified' } };
    const id = params.channelId ?? `${Math.floor(bootTime.getTime() / 1000)}.${channelSeq}`;
    if (originates.some((o) => o.channel.id === id))
      return { status: 409, body: { message: 'Channel with given unique ID already exists' } };
    const name = `${endpoint}-${(channelSeq++).toString(16).padStart(8, '0')}`;
    const channel: Record<string, unknown> = {
      id,
      name,
      state: 'Down',
      protocol_id: '',
      caller: parseCallerId(params.callerId),
      connected: { name: '', number: '' },
      accountcode: '',
      dialplan: params.app
        ? { context: 'default', exten: 's', priority: 1, app_name: '', app_data: '' }
        : {
            context: params.context ?? 'default',
            exten: params.extension,
            priority: Number(params.priority ?? 1),
            app_name: '',
            app_data: '',
          },
      creationtime: asteriskTime(new Date()),
      language: 'en',
    };
    originates.push({ params, variables, channel });
    return { status: 200, body: channel };
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const { rawPath, query, segments } = parseUrl(req.url ?? '/');
    const text = await readBody(req);
    let body: unknown = text;
    if (text && /json/i.test(req.headers['content-type'] ?? '')) {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    const entry: FakeAriRequest = {
      method,
      path: segments.join('/'),
      rawPath,
      query,
      headers: req.headers,
      body,
      user: authenticate(req, query),
      status: 0,
      upgrade: false,
      at: new Date(),
    };
    log.push(entry);
    const send = (status: number, payload?: unknown, headers: Record<string, string | number> = {}) => {
      entry.status = status;
      if (payload === undefined) {
        res.writeHead(status, { Server: 'Asterisk', ...headers });
        res.end();
        return;
      }
      if (Buffer.isBuffer(payload)) {
        res.writeHead(status, { Server: 'Asterisk', 'Content-Length': payload.length, ...headers });
        res.end(payload);
        return;
      }
      const json = JSON.stringify(payload);
      res.writeHead(status, {
        Server: 'Asterisk',
        'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(json),
        ...headers,
      });
      res.end(json);
    };

    const matched = route(method, segments);
    if (segments[1] !== 'ari') return send(404, { message: 'Not Found' });
    if (!entry.user) return send(401, { message: 'Authentication required' }, { 'WWW-Authenticate': `Basic realm="${AUTH_REALM}"` });
    const failure = takeFailure(matched.route);
    const truncate = failure?.failure === 'truncate';
    if (failure && !truncate) {
      if (failure.failure === 'reset') {
        entry.status = -1;
        req.socket.destroy();
        return;
      }
      return send(failure.failure as number, { message: failure.message ?? `Injected failure ${failure.failure}` });
    }
    switch (matched.route) {
      case 'GET /ari/api-docs/resources.json':
      case 'GET /ari/api-docs/{resource}': {
        const doc = docs.get(matched.resource ?? 'resources.json');
        if (!doc) return send(404, { message: `Resource not found` });
        const host = req.headers.host ?? `127.0.0.1:${port}`;
        return send(200, { ...doc, basePath: `http://${host}/ari` });
      }
      case 'POST /ari/channels': {
        // ARI takes parameters from the query string and from a JSON body alike
        const params: Record<string, string> = { ...query };
        let variables: Record<string, string> = {};
        if (body && typeof body === 'object') {
          for (const [k, v] of Object.entries(body as Record<string, unknown>)) {
            if (k === 'variables' && v && typeof v === 'object') variables = v as Record<string, string>;
            else if (v !== undefined && v !== null) params[k] = String(v);
          }
        } else if (text) {
          return send(400, { message: 'Request body must be a JSON object' });
        }
        delete params.api_key;
        const result = originate(params, variables);
        return send(result.status, result.body);
      }
      case 'GET /ari/recordings/stored/{name}': {
        const rec = lookupRecording(matched.name!);
        if (!rec) return send(404, { message: 'Recording not found' });
        return send(200, { name: matched.name, format: rec.format });
      }
      case 'GET /ari/recordings/stored/{name}/file': {
        const rec = lookupRecording(matched.name!);
        if (!rec) return send(404, { message: 'Recording not found' });
        const fileName = `${matched.name!.split('/').pop()}.${rec.format}`;
        if (truncate) {
          entry.status = -1;
          res.writeHead(200, { Server: 'Asterisk', 'Content-Length': rec.bytes.length, 'Content-Type': MIME[rec.format] ?? '' });
          res.write(rec.bytes.subarray(0, Math.floor(rec.bytes.length / 2)), () => req.socket.destroy());
          return;
        }
        return send(200, rec.bytes, {
          'Content-Type': MIME[rec.format] ?? 'application/octet-stream',
          'Content-Disposition': `attachment; filename="${fileName}"`,
        });
      }
      case 'DELETE /ari/recordings/stored/{name}':
        return deleteRecording(matched.name!) ? send(204) : send(404, { message: 'Recording not found' });
      case 'GET /ari/asterisk/info':
        return send(200, {
          build: { os: 'Linux', kernel: '6.1.0', machine: 'x86_64', options: '', date: '2025-01-01 00:00:00 UTC', user: 'root' },
          system: { version: '22.10.1', entity_id: systemId },
          config: { name: '', default_language: 'en', setid: { user: 'asterisk', group: 'asterisk' } },
          status: { startup_time: asteriskTime(bootTime), last_reload_time: asteriskTime(bootTime) },
        });
      case 'GET /ari/events':
        return send(426, { message: 'Upgrade Required' });
      default:
        return send(404, { message: 'Resource not found' });
    }
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ message: String(err) }));
    });
  });
  server.on('connection', (socket: Socket) => {
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
  });

  function refuseUpgrade(socket: Duplex, status: number, message: string, extra = ''): void {
    const json = JSON.stringify({ message });
    socket.end(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Error'}\r\nServer: Asterisk\r\n${extra}Content-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n${json}`,
    );
  }

  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const { rawPath, query, segments } = parseUrl(req.url ?? '/');
    const entry: FakeAriRequest = {
      method: req.method ?? 'GET',
      path: segments.join('/'),
      rawPath,
      query,
      headers: req.headers,
      body: '',
      user: authenticate(req, query),
      status: 0,
      upgrade: true,
      at: new Date(),
    };
    log.push(entry);
    const matched = route(entry.method, segments);
    const fail = (status: number, message: string, extra?: string) => {
      entry.status = status;
      refuseUpgrade(socket, status, message, extra);
    };
    if (matched.route !== 'GET /ari/events') return fail(404, 'Not Found');
    if (!entry.user) return fail(401, 'Authentication required', `WWW-Authenticate: Basic realm="${AUTH_REALM}"\r\n`);
    const failure = takeFailure(matched.route);
    if (failure?.failure === 'reset' || failure?.failure === 'truncate') {
      entry.status = -1;
      socket.destroy();
      return;
    }
    if (failure) return fail(failure.failure, failure.message ?? `Injected failure ${failure.failure}`);
    if (refuse === 'hang') {
      entry.status = -1;
      hanging.add(socket);
      socket.on('close', () => hanging.delete(socket));
      socket.on('error', () => hanging.delete(socket));
      socket.on('end', () => socket.destroy()); // http server sockets are half-open: close when the client gives up
      socket.resume(); // read, so the client's abort is seen
      return;
    }
    if (refuse !== false) return fail(refuse, 'Service Unavailable');
    if (!query.app) return fail(400, "Missing param 'app'");
    wss.handleUpgrade(req, socket, head, (ws) => {
      entry.status = 101;
      sockets.add(ws);
      socketApps.push(query.app!);
      // ws answers pings itself (autoPong); muting pongs means taking that answer away
      const rawSocket = (ws as unknown as { _socket: Socket })._socket;
      ws.on('ping', () => pings++);
      const originalPong = ws.pong.bind(ws);
      (ws as unknown as { pong: typeof ws.pong }).pong = (...args: Parameters<typeof ws.pong>) => {
        if (!pongsMuted) originalPong(...args);
      };
      ws.on('close', () => sockets.delete(ws));
      ws.on('error', () => sockets.delete(ws));
      rawSocket.on('close', () => sockets.delete(ws));
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    username,
    password,
    requests: () => [...log],
    originates: () => [...originates],
    sockets: () => [...sockets].filter((s) => s.readyState === WebSocket.OPEN).length,
    socketApps: () => [...socketApps],
    async waitForSockets(n = 1, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while ([...sockets].filter((s) => s.readyState === WebSocket.OPEN).length < n) {
        if (Date.now() > deadline) throw new Error(`fake ARI: no ${n} event websocket(s) within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    pushEvent(event) {
      const frame =
        typeof event === 'string' ? event : JSON.stringify({ asterisk_id: systemId, application: socketApps.at(-1) ?? '', ...event });
      let sent = 0;
      for (const ws of sockets) {
        if (ws.readyState === WebSocket.OPEN) {
          ws.send(frame);
          sent++;
        }
      }
      return sent;
    },
    dropSockets() {
      for (const ws of sockets) ws.terminate();
      sockets.clear();
    },
    refuseSockets(value) {
      refuse = value === false ? false : value === true ? 503 : value;
    },
    hangingUpgrades: () => hanging.size,
    failNext(r, failure, message) {
      const queue = failures.get(r) ?? [];
      queue.push({ failure, message });
      failures.set(r, queue);
    },
    setRecording(name, bytes) {
      const { base, format } = splitName(name);
      recordings.set(base, { format, bytes });
    },
    hasRecording: (name) => lookupRecording(name) !== undefined,
    pings: () => pings,
    mutePongs(mute) {
      pongsMuted = mute;
    },
    async close() {
      for (const ws of sockets) ws.terminate();
      sockets.clear();
      for (const socket of hanging) socket.destroy();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      for (const socket of connections) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
