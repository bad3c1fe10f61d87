import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type ari from 'ari-client';
import { AppError } from '../errors';
import type { Logger } from '../logger';
import { backoffDelay } from './ami.client';

/**
 * The ARI link: ari-client 2.2.0 loads Asterisk's api-docs (Swagger 1.1), opens the app's events
 * websocket and makes the REST calls; everything it gets wrong is owned here (see
 * ../../../shared/LIBRARIES.md; each point was reproduced against test/helpers/fake-ari.ts):
 *
 * - Exceptions. Its HTTP layer (swagger-client 2.0.26 over shred) throws from inside response
 *   callbacks, where no caller can catch: a 401/503 while loading the api-docs throws a *string*
 *   (`SwaggerApi.fail`), which is an uncaught exception. Every swagger request passes through
 *   swagger-client's process-wide `authorizations` just before it is sent, so we register one
 *   there that wraps the request's callbacks in try/catch (contained, logged at debug).
 *   The events websocket throws on a frame that is not JSON or whose `type` is missing from the
 *   server's events.json (TypeError in the ws 'message' handler: uncaught, and the socket stops
 *   delivering): on every open we replace its 'message' listener with a guarded one that drops such
 *   frames (debug log) and catches anything the library still throws.
 * - Credentials. swagger-client keeps ONE process-wide Basic-auth entry, overwritten by every
 *   connect(): two clients would send each other's password, to each other's host. Our
 *   authorization sets the header per origin (last writer, so it wins).
 * - Status codes. ari-client turns an error answer into `new Error(<body text>)` and drops the
 *   status; the same hook records it into the body so 404 (not found) can be told from the rest.
 * - Hangs. A connection reset or refused REST call never settles (shred emits 'request_error',
 *   which nobody listens to); nor does connect() after a reset. Every call has a timeout.
 * - Reconnect. Its websocket retries 10 times (100 ms doubling to 10 s, ~43 s) and then gives up
 *   for good (`WebSocketMaxRetries`). We rebuild the whole client (api-docs and websocket) with our
 *   own unbounded, capped, fully jittered backoff. A retry it had already scheduled still fires
 *   after stop() (a zombie socket): a disposed client's socket is terminated as soon as it opens.
 * - Handshake: its websocket (ws 6) has no handshake timeout, so an attempt against a host that
 *   never answers hangs for minutes with no retry: one still connecting after `connectTimeoutMs` is
 *   aborted, which the library counts as a failed attempt.
 * - Heartbeat: it never pings. We ping every `pingIntervalMs`; no pong within `pingTimeoutMs`
 *   terminates the socket (half-open link) and the library reconnects.
 * - Output: swagger-client prints a deprecation line through a global `log` function (and keeps
 *   every message in `log.history` forever): that global is pointed at pino (debug).
 * - Preflight: before ari-client loads the api-docs we GET resources.json ourselves, so a wrong
 *   password, a wrong URL or a booting Asterisk is a clear `lastError`, not a swagger string.
 * - The password is never logged: errors and URLs are scrubbed (the websocket URL carries it in its
 *   query string, `api_key=user:pass`, as ARI requires).
 * Downloads use plain HTTP (streamed; ari-client would buffer a whole recording in memory).
 */

export type AriStatus = 'connected' | 'disconnected' | 'disabled';

export interface AriClientState {
  /** disabled: not started, or stopped. connected: the events websocket is open. disconnected: retrying. */
  status: AriStatus;
  /** when `status` last changed */
  since: Date;
  /** the last connection failure, for /health and error messages (never contains the password) */
  lastError: string | null;
  /** when the last event arrived on the websocket */
  lastEventAt: Date | null;
  /** websocket opens after the first one */
  reconnects: number;
  /** whole-client rebuilds after ari-client gave up (WebSocketMaxRetries) */
  rebuilds: number;
}

export interface AriOriginateRequest {
  /** the phone to ring first, e.g. PJSIP/101 */
  endpoint: string;
  /** where the answered channel goes in the dialplan */
  extension: string;
  context: string;
  /** e.g. `calltrack <101>` */
  callerId?: string;
  /** how long the endpoint may ring (default 30) */
  timeoutSeconds?: number;
  /** channel variables set on creation */
  variables?: Record<string, string>;
}

export interface AriStoredRecording {
  name: string;
  format: string;
}

/** An ARI event as Asterisk sends it (`type`, `application`, `timestamp`, …). */
export type AriEvent = { type: string } & Record<string, unknown>;

export interface AriClientOptions {
  /** the HTTP base without /ari, e.g. http://127.0.0.1:8088 (a path is ignored, as ari-client does) */
  url: string;
  username: string;
  password: string;
  /** the Stasis application name of the events websocket */
  app: string;
  logger: Logger;
  /** websocket ping period once connected. Default 20 s. */
  pingIntervalMs?: number;
  /** a ping unanswered this long terminates the socket. Default 5 s. */
  pingTimeoutMs?: number;
  /** REST calls, the preflight and a download's headers (and its idle time). Default 10 s. */
  requestTimeoutMs?: number;
  /** loading the api-docs through ari-client; also how long a websocket handshake may hang. Default 15 s. */
  connectTimeoutMs?: number;
  /** rebuild backoff: full jitter over min(capMs, baseMs · 2^attempt). Defaults 500 ms, 30 s. */
  backoff?: { baseMs?: number; capMs?: number };
  /** replaces the backoff (tests): delay in ms before rebuild attempt `attempt` (0, 1, 2, …) */
  reconnectDelay?: (attempt: number) => number;
}

export interface AriClient {
  /** Connects and keeps connected until stop(). Idempotent. */
  start(): void;
  /** Closes the websocket and stops retrying. */
  stop(): Promise<void>;
  state(): AriClientState;
  /** Creates the channel (rings `endpoint`, then runs `context,extension,1`); resolves with its id. */
  originate(request: AriOriginateRequest): Promise<string>;
  /** A stored recording's metadata; AppError 'not-found' when Asterisk has none by that name. */
  storedRecording(name: string): Promise<AriStoredRecording>;
  /** The recording's file, streamed (GET /ari/recordings/stored/{name}/file). */
  downloadRecording(name: string): Promise<Readable>;
  deleteRecording(name: string): Promise<void>;
  /** Every event of the app's websocket; listener errors are logged, never thrown. */
  onEvent(listener: (event: AriEvent) => void): () => void;
}

// -- swagger-client, process-wide --------------------------------------------------------------

interface SwaggerResponse {
  status?: number;
  data?: unknown;
}
interface SwaggerRequestObject {
  url?: string;
  headers?: Record<string, string>;
  on?: Record<string, (this: unknown, ...args: unknown[]) => unknown>;
}
interface SwaggerAuthorization {
  apply(obj: SwaggerRequestObject): boolean | undefined;
}
interface SwaggerModule {
  authorizations?: { authz: Record<string, SwaggerAuthorization>; add(name: string, auth: SwaggerAuthorization): unknown };
}

const HOOK_NAME = 'calltrack-ari';
/** An error answer's status and body, as our hook records them (ari-client keeps only the body). */
const STATUS_KEY = 'calltrackAriStatus';

interface OriginRegistration {
  authorization: string;
  log: Logger;
}
/** Basic-auth per origin, read by the hook: mirrors swagger-client's own process-wide state. */
const credentialsByOrigin = new Map<string, OriginRegistration>();
let hookedModule: SwaggerModule | undefined;
let libraryLog: Logger | undefined;

/** The swagger-client instance ari-client itself loaded (resolved from ari-client's location). */
function swaggerClientModule(): SwaggerModule | undefined {
  try {
    const from = path.dirname(require.resolve('ari-client'));
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(require.resolve('swagger-client', { paths: [from] })) as SwaggerModule;
  } catch {
    return undefined;
  }
}

function bodyText(data: unknown): string {
  if (data == null) return '';
  const text = Buffer.isBuffer(data) ? data.toString('utf8') : String(data);
  return text.length > 2000 ? `${text.slice(0, 2000)}…` : text;
}

/** Installs the hook once per swagger-client instance (see the top of this file). */
function installSwaggerHook(log: Logger): boolean {
  libraryLog = log;
  // swagger-client prints through a global `log` (console.log, plus an ever-growing history)
  const g = globalThis as { log?: unknown };
  if (typeof g.log === 'function' && !(g.log as { calltrack?: boolean }).calltrack) {
    const redirect = (...args: unknown[]) => libraryLog?.debug({ library: 'swagger-client' }, args.map((a) => String(a)).join(' '));
    g.log = Object.assign(redirect, { calltrack: true, history: [] as unknown[] });
  }
  const swagger = swaggerClientModule();
  if (!swagger?.authorizations) return false;
  if (hookedModule === swagger) return true;
  hookedModule = swagger;
  const authz = swagger.authorizations;
  // ari-client (re)sets 'basic-auth' on every connect; entries apply in insertion order, so keep
  // its entry ahead of ours and ours runs last.
  if (!authz.authz['basic-auth']) authz.add('basic-auth', { apply: () => undefined });
  authz.add(HOOK_NAME, {
    apply(obj) {
      let origin: string | undefined;
      try {
        origin = obj.url ? new URL(obj.url).origin : undefined;
      } catch {
        origin = undefined;
      }
      const registration = origin ? credentialsByOrigin.get(origin) : undefined;
      if (registration && obj.headers) obj.headers.Authorization = registration.authorization;
      const log = registration?.log ?? libraryLog;
      const url = obj.url?.split('?')[0];
      for (const [key, handler] of Object.entries(obj.on ?? {})) {
        if (typeof handler !== 'function') continue;
        obj.on![key] = function guarded(this: unknown, ...args: unknown[]) {
          const response = args[0] as SwaggerResponse | undefined;
          if (key === 'error' && response && typeof response === 'object') {
            response.data = JSON.stringify({ [STATUS_KEY]: response.status ?? 0, body: bodyText(response.data) });
          }
          try {
            return handler.apply(this, args);
          } catch (err) {
            log?.debug(
              { url, err: err instanceof Error ? err.message : String(err) },
              'ari-client threw inside an HTTP callback (contained)',
            );
            return undefined;
          }
        };
      }
      return undefined;
    },
  });
  return true;
}

// -- errors ------------------------------------------------------------------------------------

/** What ari-client rejected with: an Error whose message is our JSON, a swagger string, or other. */
function parseLibraryError(err: unknown): { status: number | null; message: string } {
  if (typeof err === 'string') {
    const m = /^(\d{3}) : /.exec(err);
    return { status: m ? Number(m[1]) : null, message: err };
  }
  const text = err instanceof Error ? err.message : typeof err === 'object' && err ? bodyText((err as SwaggerResponse).data) : String(err);
  try {
    const parsed = JSON.parse(text) as Record<string, unknown>;
    if (typeof parsed[STATUS_KEY] === 'number') {
      const body = String(parsed.body ?? '');
      let message = body;
      try {
        const asterisk = JSON.parse(body) as { message?: unknown };
        if (typeof asterisk.message === 'string') message = asterisk.message;
      } catch {
        // not JSON: keep the text
      }
      return { status: (parsed[STATUS_KEY] as number) || null, message: message || `HTTP ${parsed[STATUS_KEY] as number}` };
    }
    if (typeof parsed.message === 'string') return { status: null, message: parsed.message };
  } catch {
    // not JSON
  }
  const status =
    typeof err === 'object' && err && typeof (err as SwaggerResponse).status === 'number' ? (err as SwaggerResponse).status! : null;
  return { status, message: text || 'unknown error' };
}

export function createAriClient(options: AriClientOptions): AriClient {
  const { username, password, app } = options;
  let base: URL;
  try {
    base = new URL(options.url);
  } catch {
    throw new TypeError(`ARI url is not a URL`);
  }
  const origin = base.origin;
  const log = options.logger.child({ component: 'ari', url: origin, username, app });
  if (base.pathname !== '/' && base.pathname !== '') {
    log.warn({ path: base.pathname }, 'ARI_URL has a path: ignored (ari-client always uses /ari on the host of ARI_URL)');
  }
  const authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  const pingIntervalMs = options.pingIntervalMs ?? 20_000;
  const pingTimeoutMs = options.pingTimeoutMs ?? 5_000;
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const connectTimeoutMs = options.connectTimeoutMs ?? 15_000;
  const backoff = { baseMs: options.backoff?.baseMs ?? 500, capMs: options.backoff?.capMs ?? 30_000 };
  const reconnectDelay = options.reconnectDelay ?? ((attempt: number) => backoffDelay(attempt, backoff));
  const secrets = [password, encodeURIComponent(password)].filter((s) => s.length >= 3);

  /** Removes the password from anything that may reach a log, an error or /health. */
  const scrub = (text: string): string => secrets.reduce((t, s) => t.split(s).join('[redacted]'), text);
  const describe = (err: unknown): string =>
    scrub(err instanceof Error ? err.message : typeof err === 'string' ? err : parseLibraryError(err).message);

  interface Session {
    client: ari.Client;
    disposed: boolean;
    pingTimer: NodeJS.Timeout | undefined;
    pongTimer: NodeJS.Timeout | undefined;
    /** checks that a websocket handshake does not hang (ws 6 has no handshake timeout) */
    watchdog: NodeJS.Timeout | undefined;
    /** the socket seen CONNECTING at the previous check */
    connecting: ari.EventSocket | undefined;
    listeners: Array<[string, (...args: unknown[]) => void]>;
  }

  const eventListeners = new Set<(event: AriEvent) => void>();
  let running = false;
  let status: AriStatus = 'disabled';
  let since = new Date();
  let lastError: string | null = null;
  let lastEventAt: Date | null = null;
  let opens = 0;
  let rebuilds = 0;
  let attempt = 0;
  let generation = 0;
  let session: Session | null = null;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let hookWarned = false;

  function setStatus(next: AriStatus): void {
    if (status === next) return;
    status = next;
    since = new Date();
  }

  const unavailable = (message: string) => new AppError('unavailable', scrub(message));

  // -- plain HTTP (preflight, downloads) ------------------------------------------------------

  function send(method: string, pathname: string): Promise<http.IncomingMessage> {
    return new Promise((resolve, reject) => {
      const target = new URL(pathname, origin);
      const lib = target.protocol === 'https:' ? https : http;
      const req = lib.request(target, { method, headers: { Authorization: authorization, Accept: '*/*' } }, resolve);
      req.setTimeout(requestTimeoutMs, () => req.destroy(new Error(`no answer within ${requestTimeoutMs} ms`)));
      req.on('error', reject);
      req.end();
    });
  }

  function readBody(res: http.IncomingMessage, limit = 2 * 1024 * 1024): Promise<string> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > limit) res.destroy(new Error(`answer larger than ${limit} bytes`));
        else chunks.push(chunk);
      });
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      res.on('error', reject);
    });
  }

  const asteriskMessage = (body: string): string => {
    try {
      const parsed = JSON.parse(body) as { message?: unknown };
      if (typeof parsed.message === 'string') return parsed.message;
    } catch {
      // not JSON
    }
    return body.slice(0, 200);
  };

  /** GET resources.json ourselves: a clear error for a wrong URL, a wrong password or a booting Asterisk. */
  async function preflight(): Promise<void> {
    const docs = '/ari/api-docs/resources.json';
    let res: http.IncomingMessage;
    try {
      res = await send('GET', docs);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new Error(`cannot reach ARI at ${origin}: ${code ?? describe(err)}`, { cause: err });
    }
    const body = await readBody(res);
    if (res.statusCode === 401) {
      throw new Error(`ARI rejected user "${username}" (HTTP 401): check ARI_USERNAME / ARI_PASSWORD against ari.conf`);
    }
    if (res.statusCode !== 200) {
      const hint = res.statusCode === 404 ? ' (is ARI enabled in http.conf and ari.conf?)' : '';
      throw new Error(`ARI at ${origin} answered HTTP ${res.statusCode} for ${docs}: ${asteriskMessage(body)}${hint}`);
    }
    let parsed: { apis?: unknown } | undefined;
    try {
      parsed = JSON.parse(body) as { apis?: unknown };
    } catch {
      parsed = undefined;
    }
    if (!parsed || !Array.isArray(parsed.apis)) {
      throw new Error(`${origin}${docs} is not ARI's api-docs: is ARI_URL the Asterisk HTTP server (http.conf)?`);
    }
  }

  // -- connection lifecycle -------------------------------------------------------------------

  function current(gen: number): boolean {
    return running && gen === generation;
  }

  async function connect(): Promise<void> {
    reconnectTimer = undefined;
    if (!running) return;
    const gen = ++generation;
    try {
      await preflight();
      if (!current(gen)) return;
      const client = await load();
      if (!current(gen)) {
        disposeClient(client);
        return;
      }
      attach(client);
      // start() resolves on the first open; its failures arrive as WebSocketReconnecting / WebSocketMaxRetries
      client.start(app).then(undefined, (err: unknown) => log.debug({ err: describe(err) }, 'ari-client start() gave up'));
    } catch (err) {
      if (!current(gen)) return;
      lastError = describe(err);
      setStatus('disconnected');
      log.warn({ attempt: attempt + 1 }, lastError);
      scheduleReconnect();
    }
  }

  /** ari.connect(): loads the api-docs, with a timeout (it never settles after a connection reset). */
  async function load(): Promise<ari.Client> {
    // loaded on first use: ari-client (swagger-client, request, bluebird) is ~28 MiB of RSS that a
    // listener without ARI never needs
    const { default: library } = await import('ari-client');
    credentialsByOrigin.set(origin, { authorization, log });
    if (!installSwaggerHook(log) && !hookWarned) {
      hookWarned = true;
      log.warn("ari-client's swagger-client not found: its callbacks are not guarded and it sends the last connected client's password");
    }
    const loading = library.connect(origin, username, password);
    let timedOut = false;
    // a connect that outlives its timeout must not leave a live client behind
    loading.then(
      (late) => {
        if (timedOut) disposeClient(late);
      },
      () => undefined,
    );
    let timer: NodeJS.Timeout | undefined;
    try {
      return await new Promise<ari.Client>((resolve, reject) => {
        timer = setTimeout(() => {
          timedOut = true;
          reject(new Error(`ARI api-docs did not load within ${connectTimeoutMs} ms`));
        }, connectTimeoutMs);
        loading.then(resolve, (err: unknown) => reject(new Error(`ARI api-docs failed to load: ${describe(err)}`)));
      });
    } finally {
      clearTimeout(timer);
    }
  }

  function attach(client: ari.Client): void {
    const s: Session = {
      client,
      disposed: false,
      pingTimer: undefined,
      pongTimer: undefined,
      watchdog: undefined,
      connecting: undefined,
      listeners: [],
    };
    s.watchdog = setInterval(() => checkHandshake(s), connectTimeoutMs);
    session = s;
    const on = <A extends unknown[]>(event: string, fn: (...args: A) => void) => {
      const listener = fn as (...args: unknown[]) => void;
      client.on(event, listener);
      s.listeners.push([event, listener]);
    };
    on('WebSocketConnected', () => onOpen(s));
    on('WebSocketReconnecting', (err: unknown) => onRetry(s, err));
    on('WebSocketMaxRetries', (err: unknown) => onGaveUp(s, err));
    on('pong', () => onPong(s));
    on('*', (event: AriEvent) => onEvent(s, event));
  }

  function onOpen(s: Session): void {
    if (s.disposed) return;
    guardMessages(s);
    opens++;
    attempt = 0;
    lastError = null;
    setStatus('connected');
    log.info({ reconnect: opens > 1 }, 'ARI events websocket open');
    startPing(s);
  }

  function onRetry(s: Session, err: unknown): void {
    if (s.disposed) return;
    stopPing(s);
    const reason = err ? describe(err) : 'closed';
    if (status === 'connected') {
      lastError = `ARI events websocket lost: ${reason}`;
      log.warn(lastError);
    } else {
      lastError = `ARI events websocket failed: ${reason}`;
      log.debug(lastError);
    }
    setStatus('disconnected');
  }

  function onGaveUp(s: Session, err: unknown): void {
    if (s.disposed) return;
    lastError = `ARI events websocket failed: ${err ? describe(err) : 'closed'}`;
    log.warn({ reason: lastError }, 'ari-client gave up reconnecting (WebSocketMaxRetries): rebuilding the client');
    disposeSession(s);
    rebuilds++;
    setStatus('disconnected');
    scheduleReconnect();
  }

  function onEvent(s: Session, event: AriEvent): void {
    if (s.disposed) return;
    lastEventAt = new Date();
    for (const listener of [...eventListeners]) {
      try {
        listener(event);
      } catch (err) {
        log.error({ err, type: event.type }, 'ARI event listener failed');
      }
    }
  }

  /**
   * ari-client's message handler throws on a frame that is not JSON or whose type is not in the
   * server's events.json (uncaught, from inside ws): hand it only frames it can take.
   */
  function guardMessages(s: Session): void {
    const ws = s.client._ws;
    if (!ws) return;
    const originals = ws.listeners('message') as Array<(this: unknown, ...args: unknown[]) => void>;
    if (originals.some((fn) => (fn as { calltrackGuard?: boolean }).calltrackGuard)) return;
    ws.removeAllListeners('message');
    const guarded = function (this: unknown, ...args: unknown[]) {
      let type: unknown;
      try {
        type = (JSON.parse(String(args[0])) as { type?: unknown } | null)?.type;
      } catch {
        log.warn('ARI sent a websocket frame that is not JSON: ignored');
        return;
      }
      const models = s.client._swagger?.apis?.events?.models ?? {};
      if (typeof type !== 'string' || !Object.prototype.hasOwnProperty.call(models, type)) {
        log.debug(
          { type: typeof type === 'string' ? type.slice(0, 100) : typeof type },
          "ARI event type not in this Asterisk's events.json: ignored",
        );
        return;
      }
      for (const fn of originals) {
        try {
          fn.apply(this, args);
        } catch (err) {
          log.warn({ err: describe(err), type }, 'ari-client failed on an ARI event: ignored');
        }
      }
    };
    ws.on('message', Object.assign(guarded, { calltrackGuard: true }));
  }

  function startPing(s: Session): void {
    stopPing(s);
    s.pingTimer = setInterval(() => {
      if (s.disposed || s.pongTimer) return;
      try {
        s.client.ping();
      } catch {
        return; // not open: the library is already reconnecting
      }
      s.pongTimer = setTimeout(() => {
        s.pongTimer = undefined;
        if (s.disposed) return;
        lastError = `ARI websocket ping unanswered within ${pingTimeoutMs} ms`;
        log.warn(`${lastError}: dropping the socket`);
        try {
          s.client._ws?.terminate(); // the library sees a drop and reconnects
        } catch {
          // already gone
        }
      }, pingTimeoutMs);
    }, pingIntervalMs);
  }

  function onPong(s: Session): void {
    if (s.pongTimer) clearTimeout(s.pongTimer);
    s.pongTimer = undefined;
  }

  /**
   * ari-client opens its websocket without a handshake timeout: against a host that swallows the
   * SYN or never answers the upgrade, an attempt hangs for minutes with no retry. A socket still
   * CONNECTING at two consecutive checks is aborted, which the library treats as a failed attempt.
   */
  function checkHandshake(s: Session): void {
    const ws = s.client._ws;
    if (s.disposed || !ws || ws.readyState !== 0 /* CONNECTING */) {
      s.connecting = undefined;
      return;
    }
    if (s.connecting !== ws) {
      s.connecting = ws;
      return;
    }
    s.connecting = undefined;
    log.warn({ timeoutMs: connectTimeoutMs }, 'ARI events websocket handshake got no answer: aborting the attempt');
    try {
      ws.terminate();
    } catch {
      // already gone
    }
  }

  function stopPing(s: Session): void {
    if (s.pingTimer) clearInterval(s.pingTimer);
    if (s.pongTimer) clearTimeout(s.pongTimer);
    s.pingTimer = undefined;
    s.pongTimer = undefined;
  }

  function disposeSession(s: Session): void {
    if (s.disposed) return;
    s.disposed = true;
    stopPing(s);
    if (s.watchdog) clearInterval(s.watchdog);
    for (const [event, fn] of s.listeners) s.client.removeListener(event, fn);
    if (session === s) session = null;
    disposeClient(s.client);
  }

  /** Closes a client for good, including a socket from a retry the library had already scheduled. */
  function disposeClient(client: ari.Client): void {
    const kill = () => {
      client._wsClosed = true; // the library's "closed on purpose" flag: no reconnect
      try {
        client._ws?.terminate();
      } catch {
        // already closed
      }
    };
    client.on('WebSocketConnected', kill);
    kill();
  }

  function scheduleReconnect(): void {
    if (!running || reconnectTimer) return;
    const delay = Math.max(0, reconnectDelay(attempt));
    log.info({ attempt: attempt + 1, delayMs: delay }, 'ARI reconnecting');
    attempt++;
    reconnectTimer = setTimeout(() => void connect(), delay);
  }

  // -- REST -----------------------------------------------------------------------------------

  function requireClient(operation: string): ari.Client {
    if (!running) throw unavailable(`ARI is not running: cannot ${operation}`);
    if (!session || status !== 'connected') {
      throw unavailable(`ARI is not connected (${lastError ?? 'connecting'}): cannot ${operation}`);
    }
    return session.client;
  }

  async function call<T>(operation: string, run: (client: ari.Client) => PromiseLike<T>, notFound?: string): Promise<T> {
    const client = requireClient(operation);
    credentialsByOrigin.set(origin, { authorization, log });
    let timer: NodeJS.Timeout | undefined;
    try {
      return await new Promise<T>((resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`TIMEOUT`)), requestTimeoutMs);
        run(client).then(resolve, reject);
      });
    } catch (err) {
      if (err instanceof Error && err.message === 'TIMEOUT') throw unavailable(`ARI ${operation}: no answer within ${requestTimeoutMs} ms`);
      const { status: code, message } = parseLibraryError(err);
      throw failure(operation, code, message, notFound);
    } finally {
      clearTimeout(timer);
    }
  }

  function failure(operation: string, code: number | null, message: string, notFound?: string): AppError {
    const details = { ariStatus: code };
    if (code === 404 && notFound) return new AppError('not-found', `${notFound} not found on the PBX`, details);
    if (code === 401)
      return new AppError(
        'unavailable',
        `ARI rejected user "${username}" (HTTP 401) on ${operation}: check ARI_USERNAME / ARI_PASSWORD`,
        details,
      );
    if (code === 409) return new AppError('conflict', scrub(`ARI ${operation}: ${message}`), details);
    return new AppError('unavailable', scrub(`ARI ${operation} failed${code ? ` (HTTP ${code})` : ''}: ${message}`), details);
  }

  function checkName(name: string): void {
    if (typeof name !== 'string' || name === '' || name.length > 500 || name.startsWith('/') || name.split('/').includes('..')) {
      throw new AppError('validation', `Invalid recording name: ${JSON.stringify(String(name).slice(0, 100))}`);
    }
  }

  return {
    start() {
      if (running) return;
      running = true;
      attempt = 0;
      setStatus('disconnected');
      log.info('ARI client starting');
      void connect();
    },

    async stop() {
      if (!running) return;
      running = false;
      generation++;
      if (reconnectTimer) clearTimeout(reconnectTimer);
      reconnectTimer = undefined;
      if (session) disposeSession(session);
      if (credentialsByOrigin.get(origin)?.authorization === authorization) credentialsByOrigin.delete(origin);
      setStatus('disabled');
      log.info('ARI client stopped');
    },

    state: () => ({ status, since, lastError, lastEventAt, reconnects: Math.max(0, opens - 1), rebuilds }),

    async originate(request) {
      const params: ari.OriginateParams = {
        endpoint: request.endpoint,
        extension: request.extension,
        context: request.context,
        priority: 1,
        timeout: request.timeoutSeconds ?? 30,
      };
      if (request.callerId) params.callerId = request.callerId;
      if (request.variables && Object.keys(request.variables).length > 0) params.variables = request.variables;
      const channel = await call(`originate to ${request.endpoint}`, (c) => c.channels.originate(params));
      if (!channel || typeof channel.id !== 'string') throw unavailable('ARI originate: the answer carried no channel id');
      log.info(
        { endpoint: request.endpoint, extension: request.extension, context: request.context, channelId: channel.id },
        'ARI originate',
      );
      return channel.id;
    },

    async storedRecording(name) {
      checkName(name);
      const rec = await call(`read recording ${name}`, (c) => c.recordings.getStored({ recordingName: name }), `Recording ${name}`);
      return { name: String(rec.name), format: String(rec.format) };
    },

    async downloadRecording(name) {
      checkName(name);
      requireClient(`download recording ${name}`);
      const target = `/ari/recordings/stored/${encodeURIComponent(name)}/file`;
      let res: http.IncomingMessage;
      try {
        res = await send('GET', target);
      } catch (err) {
        throw unavailable(`ARI download of recording ${name} failed: ${describe(err)}`);
      }
      if (res.statusCode === 200) return res;
      const body = await readBody(res, 64 * 1024).catch(() => '');
      throw failure(`download recording ${name}`, res.statusCode ?? null, asteriskMessage(body), `Recording ${name}`);
    },

    async deleteRecording(name) {
      checkName(name);
      await call(`delete recording ${name}`, (c) => c.recordings.deleteStored({ recordingName: name }), `Recording ${name}`);
    },

    onEvent(listener) {
      eventListeners.add(listener);
      return () => eventListeners.delete(listener);
    },
  };
}
