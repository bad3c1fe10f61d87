import diagnosticsChannel from 'node:diagnostics_channel';
import { Socket } from 'node:net';
import AsteriskManager from 'asterisk-manager';
import type { Logger } from '../logger';
import { createAmiStreamParser, type AmiFrame } from './ami-frame';

/**
 * The AMI link: asterisk-manager 0.2.0 for the wire protocol (banner, Login, frame parsing, ActionID
 * routing), with everything it gets wrong owned here (see ../../../shared/LIBRARIES.md):
 *
 * - Reconnect: its keepConnected() is never used. Every connection attempt gets a fresh Manager
 *   instance (one instance keeps its half-parsed input across connections, so a frame cut by a
 *   dropped link would be glued to the first frame of the next one, and stays "authenticated"
 *   after a close, writing actions into the dead socket), and we reconnect forever with capped,
 *   fully jittered exponential backoff.
 * - Dropping a link: the library's disconnect() only end()s the socket, which never closes against
 *   a half-open peer. We capture the socket it creates (node:diagnostics_channel
 *   `net.client.socket`, published synchronously inside net.createConnection) and destroy() it.
 * - Actions: refused with AmiError('not-connected') unless logged in (the library would hold them
 *   and replay them after a later login, or write them into a dead socket); a per-action timeout
 *   that also removes the library's `once(actionId)` listener; pending actions fail with
 *   'link-lost' as soon as the link drops.
 * - EventLists (CoreShowChannels): the library calls back with the "EventList: start" response
 *   only; the items and the `…Complete` event arrive as ordinary events carrying our ActionID. We
 *   collect them and resolve when the Complete event arrives.
 * - Heartbeat: a Ping every `pingIntervalMs`; no Pong within `pingTimeoutMs` drops the link.
 * - Logs through pino; the secret is never logged (only the library's private options hold it).
 *
 * Frames: `onFrame` receives every event frame of the live stream, as the library emits it
 * (lowercased keys, see asterisk-manager.d.ts), including FullyBooted. It does NOT receive action
 * responses, nor any event answering one of this client's actions (ActionID `calltrack-<n>`: the
 * CoreShowChannel items belong to the resync that asked for them, not to the live stream), nor
 * frames that are neither event nor response (garbage on the wire: debug-logged and dropped).
 * With each frame comes its raw text as read off the socket (`Key: value\r\n…\r\n\r\n`), for
 * the journal; undefined only if the library's own reader is in use (the socket was not captured).
 */

export type AmiStatus = 'connecting' | 'connected' | 'disconnected' | 'disabled';

export interface AmiClientState {
  /**
   * disabled: not started, or stopped. connecting: the first connection attempt since start().
   * connected: logged in. disconnected: the link was lost or an attempt failed; retrying with
   * backoff (the status stays `disconnected` through the retries, so `since` says how long).
   */
  status: AmiStatus;
  /** When `status` last changed. */
  since: Date;
  /** When the last event frame arrived (null: none yet). */
  lastEventAt: Date | null;
  /** Successful logins after the first one. */
  reconnects: number;
  /** The PBX's current uptime in seconds, estimated from the last FullyBooted (null: unknown). */
  uptime: number | null;
  /** The last connection or login failure, for /health (never contains the secret). */
  lastError: string | null;
  /** Actions awaiting their answer. */
  pendingActions: number;
  /** Reading is paused (back-pressure from the call store). */
  paused: boolean;
}

export interface AmiLoginInfo {
  at: Date;
  /** FullyBooted's Uptime, or null when none arrived within `fullyBootedWaitMs`. */
  uptime: number | null;
  /** A login after a lost link (not the first since start()). */
  reconnect: boolean;
  /** This login's FullyBooted showed that Asterisk restarted (onPbxRestart fired just before). */
  pbxRestarted: boolean;
}

export interface AmiPbxRestartInfo {
  uptime: number;
  previousUptime: number;
}

export interface AmiActionResult {
  response: AmiFrame;
  /** EventList items (without the Complete event); empty for an ordinary action. */
  events: AmiFrame[];
  /** The EventList's `…Complete` event; null for an ordinary action. */
  complete: AmiFrame | null;
}

export type AmiErrorCode = 'not-connected' | 'timeout' | 'link-lost' | 'action-failed' | 'stopped';

export class AmiError extends Error {
  constructor(
    readonly code: AmiErrorCode,
    message: string,
    /** The `Response: Error` frame, for 'action-failed'. */
    readonly response?: AmiFrame,
  ) {
    super(message);
    this.name = 'AmiError';
  }
}

export interface AmiClientOptions {
  host: string;
  port: number;
  username: string;
  secret: string;
  logger: Logger;
  /** Ping period once logged in. Default 20 s. */
  pingIntervalMs?: number;
  /** A Ping unanswered this long drops the link. Default 5 s. */
  pingTimeoutMs?: number;
  /** Default timeout of `action()`. Default 10 s. */
  actionTimeoutMs?: number;
  /** TCP connect + Login answer must complete within this. Default 10 s. */
  loginTimeoutMs?: number;
  /** After the Login answer, how long to wait for FullyBooted before onLogin fires anyway. Default 2 s. */
  fullyBootedWaitMs?: number;
  /** Reconnect backoff: full jitter over min(capMs, baseMs · 2^attempt). Defaults 500 ms, 30 s. */
  backoff?: { baseMs?: number; capMs?: number };
  /** Replaces the backoff (tests): delay in ms before reconnect attempt `attempt` (0, 1, 2, …). */
  reconnectDelay?: (attempt: number) => number;
  /** A line longer than this (bytes) drops the link instead of growing the parser's buffer. Default 8 MiB. */
  maxLineLength?: number;
}

export interface AmiClient {
  /** Connects and keeps connected until stop(). Idempotent. */
  start(): void;
  /** Logs off (best effort), closes the socket, stops retrying; pending actions fail 'stopped'. */
  stop(): Promise<void>;
  state(): AmiClientState;
  /**
   * Sends an action (`{ Action: 'Ping' }`; the ActionID is ours) and resolves with its answer and,
   * for an EventList action, every item once the `…Complete` event arrives. Rejects with AmiError:
   * 'not-connected' (not logged in: nothing is sent), 'timeout', 'link-lost', 'action-failed'
   * (`Response: Error`), 'stopped'.
   */
  action(fields: Record<string, string>, options?: { timeoutMs?: number }): Promise<AmiActionResult>;
  /** The live channels (`CoreShowChannel` items), for the resync after a login. */
  coreShowChannels(options?: { timeoutMs?: number }): Promise<AmiFrame[]>;
  /**
   * Back-pressure: stop reading the PBX's stream of the current connection. The socket buffers
   * fill and TCP flow control slows Asterisk's writes down; nothing is dropped here. The Ping
   * heartbeat is suspended meanwhile (its answer could not be read). Asterisk itself ends a
   * manager session whose writes stay blocked longer than manager.conf `writetimeout`; the next
   * login's resync repairs what that gap lost. Idempotent; a new connection starts reading.
   */
  pause(): void;
  /** Reads again after pause(). Idempotent. */
  resume(): void;
  /** Each subscription returns its unsubscribe function. Listener errors are logged, never thrown. */
  onFrame(listener: (frame: AmiFrame, receivedAt: Date, raw: string | undefined) => void): () => void;
  onLogin(listener: (info: AmiLoginInfo) => void | Promise<void>): () => void;
  onLinkLost(listener: (at: Date, reason: string) => void | Promise<void>): () => void;
  onPbxRestart(listener: (at: Date, info: AmiPbxRestartInfo) => void | Promise<void>): () => void;
}

/** Full jitter: uniform in [0, min(capMs, baseMs · 2^attempt)). Pure. */
export function backoffDelay(attempt: number, options: { baseMs: number; capMs: number }, random: () => number = Math.random): number {
  const ceiling = Math.min(options.capMs, options.baseMs * 2 ** Math.min(Math.max(attempt, 0), 30));
  return Math.floor(random() * ceiling);
}

/** A FullyBooted implying a boot this much later than the previous one means a restart. */
const RESTART_TOLERANCE_MS = 5000;
const ACTION_ID_PREFIX = 'calltrack-';
const SOCKET_CHANNEL = 'net.client.socket';

type Manager = AsteriskManager.Manager;

interface Connection {
  readonly manager: Manager;
  socket: Socket | undefined;
  loggedIn: boolean;
  closed: boolean;
  loginFinished: boolean;
  fullyBooted: { uptime: number; restarted: boolean } | null;
  timers: Set<NodeJS.Timeout>;
  loginTimer: NodeJS.Timeout | undefined;
  /** Our listeners on the Manager, removed when the connection is dropped. */
  listeners: Array<[string, (...args: never[]) => void]>;
}

interface Pending {
  readonly id: string;
  readonly name: string;
  readonly connection: Connection;
  readonly callback: AsteriskManager.ActionCallback;
  readonly resolve: (result: AmiActionResult) => void;
  readonly reject: (err: AmiError) => void;
  timer: NodeJS.Timeout | undefined;
  response: AmiFrame | null;
  list: boolean;
  events: AmiFrame[];
}

function text(frame: AmiFrame, key: string): string | undefined {
  const v = frame[key];
  return typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : undefined;
}

function lower(frame: AmiFrame, key: string): string {
  return (text(frame, key) ?? '').trim().toLowerCase();
}

class Listeners<A extends unknown[]> {
  private readonly set = new Set<(...args: A) => void | Promise<void>>();
  constructor(
    private readonly log: Logger,
    private readonly name: string,
  ) {}
  add(listener: (...args: A) => void | Promise<void>): () => void {
    this.set.add(listener);
    return () => this.set.delete(listener);
  }
  emit(...args: A): void {
    for (const listener of [...this.set]) {
      try {
        const result = listener(...args);
        if (result instanceof Promise) result.catch((err: unknown) => this.failed(err));
      } catch (err) {
        this.failed(err);
      }
    }
  }
  private failed(err: unknown): void {
    this.log.error({ err }, `AMI ${this.name} listener failed`);
  }
}

export function createAmiClient(options: AmiClientOptions): AmiClient {
  const { host, port, username, secret } = options;
  const log = options.logger.child({ component: 'ami', host, port, username });
  const pingIntervalMs = options.pingIntervalMs ?? 20_000;
  const pingTimeoutMs = options.pingTimeoutMs ?? 5_000;
  const actionTimeoutMs = options.actionTimeoutMs ?? 10_000;
  const loginTimeoutMs = options.loginTimeoutMs ?? 10_000;
  const fullyBootedWaitMs = options.fullyBootedWaitMs ?? 2_000;
  const maxLineLength = options.maxLineLength ?? 8 * 1024 * 1024;
  const backoff = { baseMs: options.backoff?.baseMs ?? 500, capMs: options.backoff?.capMs ?? 30_000 };
  const reconnectDelay = options.reconnectDelay ?? ((attempt: number) => backoffDelay(attempt, backoff));

  const frameListeners = new Listeners<[AmiFrame, Date, string | undefined]>(log, 'onFrame');
  const loginListeners = new Listeners<[AmiLoginInfo]>(log, 'onLogin');
  const linkLostListeners = new Listeners<[Date, string]>(log, 'onLinkLost');
  const restartListeners = new Listeners<[Date, AmiPbxRestartInfo]>(log, 'onPbxRestart');

  let running = false;
  let status: AmiStatus = 'disabled';
  let since = new Date();
  let lastEventAt: Date | null = null;
  let lastError: string | null = null;
  let logins = 0;
  let attempt = 0;
  let actionSeq = 0;
  let connection: Connection | null = null;
  let reconnectTimer: NodeJS.Timeout | undefined;
  /** Estimated boot time of the PBX (ms) and the last Uptime seen. */
  let boot: { atMs: number; uptime: number } | null = null;
  const pending = new Map<string, Pending>();

  function setStatus(next: AmiStatus): void {
    if (status === next) return;
    status = next;
    since = new Date();
  }

  function timer(c: Connection, ms: number, fn: () => void): NodeJS.Timeout {
    const t = setTimeout(() => {
      c.timers.delete(t);
      fn();
    }, ms);
    c.timers.add(t);
    return t;
  }

  // -- connection lifecycle ----------------------------------------------------------------

  function connect(): void {
    reconnectTimer = undefined;
    if (!running) return;
    const manager = AsteriskManager(undefined, host, username, secret, true);
    const c: Connection = {
      manager,
      socket: undefined,
      loggedIn: false,
      closed: false,
      loginFinished: false,
      fullyBooted: null,
      timers: new Set(),
      loginTimer: undefined,
      listeners: [],
    };
    connection = c;
    const on = <F extends (...args: never[]) => void>(event: string, fn: F) => {
      manager.on(event, fn);
      c.listeners.push([event, fn]);
    };
    on('managerevent', (frame: AmiFrame) => onEvent(c, frame, undefined));
    on('asterisk', (frame: AmiFrame) => onUnknownFrame(frame));
    let socketError: string | undefined;
    on('error', (err: Error) => {
      socketError = err.message;
      if (!c.loggedIn) lastError = `AMI connection failed: ${err.message}`;
      log.warn({ err: err.message }, c.loggedIn ? 'AMI socket error' : 'AMI connection failed');
    });
    on('close', () => {
      if (!c.loggedIn && !c.closed) lastError ??= 'AMI connection closed by the PBX before login';
      drop(c, socketError ? `socket error: ${socketError}` : 'connection closed by the PBX');
    });

    log.debug({ attempt }, 'AMI connecting');
    const capture = (message: unknown) => {
      if (c.socket) return;
      const socket = (message as { socket: Socket }).socket;
      c.socket = socket;
      // The library decodes the socket as UTF-8 text (setEncoding, right after this). Our reader
      // takes bytes: it cuts messages in the Buffer and decodes each alone (see
      // createAmiStreamParser), so the library's call must not apply.
      socket.setEncoding = () => socket;
    };
    diagnosticsChannel.subscribe(SOCKET_CHANNEL, capture);
    try {
      manager.connect(port, host, () => onTcpConnected(c));
    } catch (err) {
      // net.createConnection throws synchronously on an invalid port or host option.
      lastError = `AMI connection failed: ${(err as Error).message}`;
      log.error({ err: (err as Error).message }, lastError);
      drop(c, 'connection failed');
      return;
    } finally {
      diagnosticsChannel.unsubscribe(SOCKET_CHANNEL, capture);
    }
    if (c.socket) {
      c.socket.on('data', lineGuard(c));
      replaceReader(c, c.socket);
    } else log.warn('AMI socket not captured: a dropped link may linger half-open until TCP keepalive');
    c.loginTimer = timer(c, loginTimeoutMs, () => {
      lastError = `AMI connect/login got no answer within ${loginTimeoutMs} ms`;
      log.warn(lastError);
      drop(c, 'login timed out');
    });
  }

  /**
   * The library's reader on the socket gives way to ours (createAmiStreamParser: same frames,
   * ~5x cheaper). Events go straight to onEvent; everything else (action responses, unknown
   * frames) goes through the library's own `rawevent` routing, so ActionID callbacks work as before.
   */
  function replaceReader(c: Connection, socket: Socket): void {
    const theirs = socket.listeners('data')[0] as ((chunk: string) => void) | undefined;
    if (!theirs) {
      // no reader of theirs to replace (another library version?): let it have the text it expects
      Socket.prototype.setEncoding.call(socket, 'utf8');
      return;
    }
    socket.removeListener('data', theirs);
    const parse = createAmiStreamParser((frame, raw) => {
      if (typeof frame.event === 'string' && frame.response === undefined) onEvent(c, frame, raw);
      else if (Object.keys(frame).length) c.manager.emit('rawevent', frame);
    });
    // first among the listeners, where the library's was
    socket.prependListener('data', (chunk: string | Buffer) => {
      if (!c.closed) parse(chunk);
    });
  }

  /** Drops the link when a line grows past maxLineLength (the library would buffer it forever). */
  function lineGuard(c: Connection): (chunk: string | Buffer) => void {
    let lineLength = 0;
    return (chunk) => {
      const nl = typeof chunk === 'string' ? chunk.lastIndexOf('\n') : chunk.lastIndexOf(10);
      lineLength = nl < 0 ? lineLength + chunk.length : chunk.length - nl - 1;
      if (lineLength > maxLineLength) {
        log.warn({ maxLineLength }, 'AMI line too long; dropping the link');
        drop(c, `a line longer than ${maxLineLength} bytes`);
      }
    };
  }

  function onTcpConnected(c: Connection): void {
    if (c.closed) return;
    log.debug('AMI TCP connected; logging in');
    c.manager.login((err?: AsteriskManager.Frame) => {
      if (c.closed) return;
      if (err) {
        const message = text(err, 'message') ?? 'login refused';
        lastError = `AMI login failed: ${message}`;
        log.error({ message }, `AMI login failed for user "${username}": ${message} (check AMI_USERNAME / AMI_SECRET and manager.conf)`);
        drop(c, 'login failed');
        return;
      }
      onLoggedIn(c);
    });
  }

  function onLoggedIn(c: Connection): void {
    c.loggedIn = true;
    if (c.loginTimer) clearTimeout(c.loginTimer);
    c.timers.delete(c.loginTimer!);
    logins++;
    attempt = 0;
    lastError = null;
    setStatus('connected');
    log.info({ reconnect: logins > 1 }, 'AMI logged in');
    schedulePing(c);
    if (c.fullyBooted) finishLogin(c);
    else timer(c, fullyBootedWaitMs, () => finishLogin(c));
  }

  /** onLogin fires once per connection, after FullyBooted (or the wait), so restarts are known first. */
  function finishLogin(c: Connection): void {
    if (c.closed || !c.loggedIn || c.loginFinished) return;
    c.loginFinished = true;
    loginListeners.emit({
      at: new Date(),
      uptime: c.fullyBooted?.uptime ?? null,
      reconnect: logins > 1,
      pbxRestarted: c.fullyBooted?.restarted ?? false,
    });
  }

  /** Tears the connection down at once (idempotent) and schedules the next attempt. */
  function drop(c: Connection, reason: string, notify = true): void {
    if (c.closed) return;
    c.closed = true;
    for (const t of c.timers) clearTimeout(t);
    c.timers.clear();
    for (const [event, fn] of c.listeners) c.manager.removeListener(event, fn);
    c.socket?.destroy();
    if (!c.socket) c.manager.disconnect();
    for (const p of [...pending.values()]) {
      if (p.connection === c) settle(p, new AmiError(running ? 'link-lost' : 'stopped', `AMI ${reason}: ${p.name} aborted`));
    }
    if (connection === c) connection = null;
    const wasLoggedIn = c.loggedIn;
    c.loggedIn = false;
    if (!running) return;
    setStatus('disconnected');
    if (wasLoggedIn) {
      lastError = `AMI link lost: ${reason}`;
      log.warn({ reason }, 'AMI link lost');
      if (notify) linkLostListeners.emit(new Date(), reason);
    }
    scheduleReconnect();
  }

  function scheduleReconnect(): void {
    if (!running || reconnectTimer) return;
    const delay = Math.max(0, reconnectDelay(attempt));
    log.info({ attempt: attempt + 1, delayMs: delay }, 'AMI reconnecting');
    attempt++;
    reconnectTimer = setTimeout(connect, delay);
  }

  // -- frames -------------------------------------------------------------------------------

  function onEvent(c: Connection, frame: AmiFrame, raw: string | undefined): void {
    if (c.closed) return;
    const receivedAt = new Date();
    const actionId = text(frame, 'actionid');
    if (actionId?.startsWith(ACTION_ID_PREFIX)) {
      const p = pending.get(actionId);
      if (p) onListEvent(p, frame);
      else log.debug({ actionId, event: text(frame, 'event') }, 'AMI late event for a finished action ignored');
      return;
    }
    lastEventAt = receivedAt;
    if (lower(frame, 'event') === 'fullybooted') onFullyBooted(c, frame, receivedAt);
    frameListeners.emit(frame, receivedAt, raw);
    if (lower(frame, 'event') === 'fullybooted' && c.loggedIn) finishLogin(c);
  }

  function onFullyBooted(c: Connection, frame: AmiFrame, at: Date): void {
    const uptime = Number(text(frame, 'uptime'));
    if (!Number.isFinite(uptime)) return;
    const atMs = at.getTime() - uptime * 1000;
    const previous = boot;
    const restarted = previous !== null && (uptime < previous.uptime || atMs - previous.atMs > RESTART_TOLERANCE_MS);
    boot = { atMs, uptime };
    c.fullyBooted = { uptime, restarted: restarted || (c.fullyBooted?.restarted ?? false) };
    if (restarted && previous) {
      log.warn({ uptime, previousUptime: previous.uptime }, 'Asterisk restarted');
      restartListeners.emit(at, { uptime, previousUptime: previous.uptime });
    }
  }

  function onUnknownFrame(frame: AmiFrame): void {
    const keys = Object.keys(frame);
    log.debug({ keys: keys.length, first: (keys[0] ?? '').slice(0, 80) }, 'AMI frame that is neither event nor response ignored');
  }

  // -- actions ------------------------------------------------------------------------------

  function settle(p: Pending, outcome: AmiError | AmiActionResult): void {
    if (pending.get(p.id) !== p) return;
    pending.delete(p.id);
    if (p.timer) clearTimeout(p.timer);
    p.connection.manager.removeListener(p.id, p.callback);
    if (outcome instanceof AmiError) p.reject(outcome);
    else p.resolve(outcome);
  }

  function onResponse(p: Pending, frame: AmiFrame): void {
    if (lower(frame, 'response') === 'error') {
      const message = text(frame, 'message') ?? 'error';
      settle(p, new AmiError('action-failed', `AMI action ${p.name} failed: ${message}`, frame));
      return;
    }
    p.response = frame;
    p.list = lower(frame, 'eventlist') === 'start';
    const complete = p.events.find((e) => lower(e, 'eventlist') === 'complete');
    if (!p.list) settle(p, { response: frame, events: [], complete: null });
    else if (complete) finishList(p, complete);
  }

  function onListEvent(p: Pending, frame: AmiFrame): void {
    p.events.push(frame);
    if (p.response && lower(frame, 'eventlist') === 'complete') finishList(p, frame);
  }

  function finishList(p: Pending, complete: AmiFrame): void {
    const events = p.events.filter((e) => e !== complete);
    settle(p, { response: p.response!, events, complete });
  }

  function action(fields: Record<string, string>, opts: { timeoutMs?: number } = {}): Promise<AmiActionResult> {
    const name = Object.entries(fields).find(([k]) => k.toLowerCase() === 'action')?.[1];
    if (!name) return Promise.reject(new TypeError('AMI action: the Action field is required'));
    if (['login', 'logoff'].includes(name.toLowerCase())) {
      return Promise.reject(new TypeError(`AMI action: ${name} is managed by the client`));
    }
    const c = connection;
    if (!running || !c || !c.loggedIn || c.closed) {
      return Promise.reject(new AmiError('not-connected', `AMI not logged in (${status}): ${name} refused`));
    }
    return new Promise<AmiActionResult>((resolve, reject) => {
      const id = `${ACTION_ID_PREFIX}${++actionSeq}`;
      // The library takes the ActionID only from a lowercase `actionid` key.
      const message: Record<string, string> = { actionid: id };
      for (const [k, v] of Object.entries(fields)) if (k.toLowerCase() !== 'actionid') message[k] = v;
      const p: Pending = {
        id,
        name,
        connection: c,
        callback: (err, res) => {
          const frame = err ?? res;
          if (frame) onResponse(p, frame as AmiFrame);
        },
        resolve,
        reject,
        timer: undefined,
        response: null,
        list: false,
        events: [],
      };
      pending.set(id, p);
      const timeoutMs = opts.timeoutMs ?? actionTimeoutMs;
      p.timer = setTimeout(() => settle(p, new AmiError('timeout', `AMI action ${name} got no answer within ${timeoutMs} ms`)), timeoutMs);
      const used = c.manager.action(message, p.callback);
      if (used !== id) {
        // Cannot happen with our unique ids (the library appends digits only on a clash).
        settle(p, new AmiError('action-failed', `AMI action ${name}: ActionID rewritten by the library`));
      }
    });
  }

  async function coreShowChannels(opts: { timeoutMs?: number } = {}): Promise<AmiFrame[]> {
    const result = await action({ Action: 'CoreShowChannels' }, opts);
    const items = result.events.filter((e) => lower(e, 'event') === 'coreshowchannel');
    const listed = result.complete ? Number(text(result.complete, 'listitems')) : NaN;
    if (Number.isFinite(listed) && listed !== items.length) {
      log.warn({ listed, received: items.length }, 'AMI CoreShowChannels: ListItems differs from the items received');
    }
    return items;
  }

  function schedulePing(c: Connection): void {
    timer(c, pingIntervalMs, () => {
      if (c.socket?.isPaused()) return schedulePing(c); // back-pressure: its answer could not be read
      action({ Action: 'Ping' }, { timeoutMs: pingTimeoutMs }).then(
        () => {
          if (!c.closed) schedulePing(c);
        },
        (err: AmiError) => {
          if (err.code === 'timeout' && !c.closed) {
            log.warn({ timeoutMs: pingTimeoutMs }, 'AMI Ping unanswered; dropping the link');
            drop(c, `Ping unanswered within ${pingTimeoutMs} ms`);
          }
        },
      );
    });
  }

  // -- public -------------------------------------------------------------------------------

  return {
    start() {
      if (running) return;
      running = true;
      attempt = 0;
      logins = 0;
      setStatus('connecting');
      connect();
    },

    async stop() {
      if (!running) return;
      running = false;
      if (reconnectTimer) clearTimeout(reconnectTimer);
      reconnectTimer = undefined;
      const c = connection;
      if (c && !c.closed) {
        const socket = c.socket;
        const closed = socket && !socket.destroyed ? new Promise<void>((resolve) => socket.once('close', () => resolve())) : null;
        if (c.loggedIn) await logoff(c);
        drop(c, 'client stopped', false);
        await closed;
      }
      setStatus('disabled');
      log.info('AMI client stopped');
    },

    state: () => ({
      status,
      since,
      lastEventAt,
      reconnects: Math.max(0, logins - 1),
      uptime: boot ? Math.max(0, Math.floor((Date.now() - boot.atMs) / 1000)) : null,
      lastError,
      pendingActions: pending.size,
      paused: connection?.socket?.isPaused() ?? false,
    }),

    pause() {
      const socket = connection?.socket;
      if (!socket || socket.isPaused()) return;
      socket.pause();
      log.warn('AMI reading paused (back-pressure)');
    },
    resume() {
      const socket = connection?.socket;
      if (!socket?.isPaused()) return;
      socket.resume();
      log.info('AMI reading resumed');
    },

    action,
    coreShowChannels,
    onFrame: (l) => frameListeners.add(l),
    onLogin: (l) => loginListeners.add(l),
    onLinkLost: (l) => linkLostListeners.add(l),
    onPbxRestart: (l) => restartListeners.add(l),
  };

  /** Best effort: `Action: Logoff`, waiting at most a second for Goodbye. */
  function logoff(c: Connection): Promise<void> {
    return new Promise<void>((resolve) => {
      const id = `${ACTION_ID_PREFIX}${++actionSeq}`;
      const done = () => {
        clearTimeout(t);
        c.manager.removeListener(id, done);
        resolve();
      };
      const t = setTimeout(done, Math.min(1000, actionTimeoutMs));
      c.manager.action({ actionid: id, Action: 'Logoff' }, done);
    });
  }
}
