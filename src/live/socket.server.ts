import type http from 'node:http';
import { Server, type Socket } from 'socket.io';
import type { DataSource } from 'typeorm';
import type { CallBus } from '../calls/call-bus';
import type { CallRecordDto } from '../calls/call-record';
import type { CallsRepository } from '../calls/calls.repository';
import { SESSION_COOKIE, readCookie } from '../http/auth.middleware';
import type { PbxStatus } from '../http/app';
import type { Logger } from '../logger';
import type { AuthService } from '../users/auth.service';
import type { CredentialEvents } from '../users/credential-events';
import type { Principal } from '../users/principal';
import {
  audienceRooms,
  contactOwnersFromDatabase,
  createContactOwners,
  maySee,
  seesEverythingRole,
  SUPERVISORS_ROOM,
  userRoom,
  type ContactOwners,
} from './call-audience';
import type { CallsSnapshot, ClientToServerEvents, PbxLinkStatus, ServerToClientEvents, SocketData } from './live-events';

/**
 * The live layer: Socket.IO on the app's HTTP server (path /socket.io). Every `call:update` of the
 * in-process bus goes, in one broadcast, to the rooms of the users allowed to see the call (the REST
 * access rule, see call-audience.ts); each (re)connect gets a `calls:snapshot` and the `pbx:status`.
 * With REDIS_URL the Redis Streams adapter fans the broadcasts out to every calltrack process (and
 * recovers what a briefly disconnected client missed); each process broadcasts what its own bus
 * publishes: the capture's updates in the process holding the AMI listener, annotations where made.
 */

/** Between calltrack processes (through the adapter): the PBX link status of the process holding the AMI listener. */
interface InterServerEvents {
  'pbx:status': (status: PbxLinkStatus) => void;
  /** a user's credentials changed in some process: every process checks that user's sockets again */
  'credentials:changed': (userId: string) => void;
}
export type LiveServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
type LiveSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

export interface SocketServerDeps {
  logger: Logger;
  auth: Pick<AuthService, 'fromSession' | 'fromApiToken'>;
  calls: Pick<CallsRepository, 'list'>;
  /** the capture pipeline: records of the calls in progress in this process */
  capture: { live(): CallRecordDto[] };
  bus: Pick<CallBus, 'subscribe'>;
  /** logout, password/role change, deactivation, revoked token: that user's sockets are checked at once */
  credentials?: Pick<CredentialEvents, 'subscribe'>;
  /** for the contact owners (the one piece of the access rule not in the record) */
  ds: DataSource;
  pbxStatus?: () => PbxStatus;
  /** several processes: Socket.IO fans out through Redis Streams (and recovers short disconnections) */
  redisUrl?: string;
  /**
   * Also list calls in progress from the database in snapshots. Default: when this process stands
   * by (redisUrl set and pbxStatus says 'standby'): the capture runs in the process holding the AMI
   * listener, and only the database knows its calls here.
   */
  liveFromDatabase?: boolean;
  /** how often pbxStatus is polled for changes; default 2 s */
  pbxPollMs?: number;
  /** how often every connected socket's session or token is checked again; default 60 s */
  revalidateMs?: number;
  /** see ContactOwnersOptions.refreshMs; default 5 s */
  contactRefreshMs?: number;
  /** connection-state recovery window (with Redis); default 2 min */
  maxDisconnectionMs?: number;
}

export interface SocketServer {
  io: LiveServer;
  contactOwners: ContactOwners;
  /** Disconnects every socket of a user, on every process (logout everywhere, deactivation). */
  disconnectUser(userId: string): void;
  /** Checks every connected socket's credential again now (the timer does it every `revalidateMs`). */
  revalidate(): Promise<void>;
  close(): Promise<void>;
}

/** How a handshake authenticated: kept per socket to check it again later. */
interface Credential {
  kind: 'session' | 'token';
  token: string;
}

const RECENT_LIMIT = 500;
/** pbxStatus().status of a process whose AMI listener runs in another process (main.ts, listener election) */
const STANDBY = 'standby';
const OPEN_CALLS_MAX_AGE_MS = 24 * 3600_000;

function refused(code: 'unauthenticated' | 'forbidden' | 'unavailable', message: string): Error {
  return Object.assign(new Error(message), { data: { code } });
}

/** Same precedence as REST (auth.middleware.ts): a bearer token first, then the session cookie. */
function credentialOf(handshake: LiveSocket['handshake']): Credential | null {
  const authToken: unknown = (handshake.auth as Record<string, unknown> | undefined)?.token;
  if (typeof authToken === 'string' && authToken.trim()) return { kind: 'token', token: authToken.trim() };
  const header = handshake.headers.authorization;
  if (header?.startsWith('Bearer ')) return { kind: 'token', token: header.slice(7).trim() };
  const session = readCookie(handshake.headers.cookie, SESSION_COOKIE);
  return session ? { kind: 'session', token: session } : null;
}

/** A cookie-authenticated handshake from another origin is refused (as REST refuses such writes). */
function crossOrigin(handshake: LiveSocket['handshake']): boolean {
  const origin = handshake.headers.origin;
  if (!origin) return false;
  try {
    return new URL(origin).host !== handshake.headers.host;
  } catch {
    return true;
  }
}

export function startOfToday(now = new Date()): Date {
  const d = new Date(now);
  d.setHours(0, 0, 0, 0);
  return d;
}

function parseSince(since: unknown): Date {
  if (typeof since === 'string') {
    const t = Date.parse(since);
    if (Number.isFinite(t)) return new Date(t);
  }
  return startOfToday();
}

function toLinkStatus(s: PbxStatus): PbxLinkStatus {
  const since = s.since instanceof Date ? s.since.toISOString() : typeof s.since === 'string' ? s.since : undefined;
  return { mode: s.mode, status: s.status, ...(since && { since }) };
}

export async function createSocketServer(httpServer: http.Server, deps: SocketServerDeps): Promise<SocketServer> {
  const logger = deps.logger.child({ component: 'live' });
  const { auth, calls, capture, bus } = deps;
  const pbxStatus = deps.pbxStatus ?? (() => ({ mode: 'disabled', status: 'disabled' }) as PbxStatus);
  const liveFromDatabase = () => deps.liveFromDatabase ?? (!!deps.redisUrl && pbxStatus().status === STANDBY);
  const credentials = new WeakMap<LiveSocket, { credential: Credential; principal: Principal }>();
  const contactOwners = createContactOwners({ load: contactOwnersFromDatabase(deps.ds), logger, refreshMs: deps.contactRefreshMs });

  const io: LiveServer = new Server(httpServer, {
    path: '/socket.io',
    serveClient: false,
    ...(deps.redisUrl && {
      // missed broadcasts are replayed from the Redis stream after a short disconnection; the
      // handshake is authenticated again all the same (skipMiddlewares: false)
      connectionStateRecovery: { maxDisconnectionDuration: deps.maxDisconnectionMs ?? 120_000, skipMiddlewares: false },
    }),
  });

  let closing = false;
  let redis: { close(): Promise<unknown>; destroy(): void } | null = null;
  if (deps.redisUrl) {
    const [{ createClient }, { createAdapter }] = await Promise.all([import('redis'), import('@socket.io/redis-streams-adapter')]);
    const client = createClient({
      url: deps.redisUrl,
      // the adapter duplicates this client (and these options) for its readers
      socket: { reconnectStrategy: (retries: number) => (closing ? false : Math.min(50 * 2 ** retries, 2000)) },
    });
    let lastErrorLog = 0;
    client.on('error', (err: unknown) => {
      if (Date.now() - lastErrorLog < 10_000) return;
      lastErrorLog = Date.now();
      logger.warn({ err }, 'Redis connection error (live updates of other processes are delayed)');
    });
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`REDIS_URL: no connection to Redis within 10 s`)), 10_000).unref(),
    );
    try {
      await Promise.race([client.connect(), timeout]);
    } catch (err) {
      closing = true;
      client.destroy();
      await io.close();
      throw err;
    }
    redis = client;
    io.adapter(createAdapter(client, { streamName: 'calltrack:live', channelPrefix: 'calltrack:live', onlyPlaintext: true }));
    logger.info('live updates fan out through Redis Streams');
  }

  // ---- the handshake: who is it?
  io.use(async (socket, next) => {
    const credential = credentialOf(socket.handshake);
    if (!credential) return next(refused('unauthenticated', 'Log in first'));
    if (credential.kind === 'session' && crossOrigin(socket.handshake))
      return next(refused('forbidden', 'Cross-origin connection refused'));
    let principal: Principal | null;
    try {
      principal = credential.kind === 'session' ? await auth.fromSession(credential.token) : await auth.fromApiToken(credential.token);
    } catch (err) {
      logger.error({ err }, 'could not authenticate a socket');
      return next(refused('unavailable', 'Try again later'));
    }
    if (!principal) {
      return next(
        refused('unauthenticated', credential.kind === 'session' ? 'Session expired or logged out' : 'Invalid or revoked API token'),
      );
    }
    socket.data.userId = principal.userId;
    socket.data.role = principal.role;
    credentials.set(socket, { credential, principal });
    next();
  });

  function joinRooms(socket: LiveSocket, role: Principal['role']): void {
    void socket.join(userRoom(socket.data.userId));
    if (seesEverythingRole(role)) void socket.join(SUPERVISORS_ROOM);
    else void socket.leave(SUPERVISORS_ROOM);
  }

  /** The socket's credential checked again; refreshes role and rooms. False: it was disconnected. */
  async function stillValid(socket: LiveSocket): Promise<boolean> {
    const held = credentials.get(socket);
    if (!held) return false;
    const { credential } = held;
    const principal = credential.kind === 'session' ? await auth.fromSession(credential.token) : await auth.fromApiToken(credential.token);
    if (!principal || principal.userId !== socket.data.userId) {
      logger.info({ userId: socket.data.userId }, 'session ended: disconnecting its socket');
      socket.disconnect(true);
      return false;
    }
    if (principal.role !== socket.data.role) {
      socket.data.role = principal.role;
      joinRooms(socket, principal.role);
    }
    credentials.set(socket, { credential, principal });
    return true;
  }

  // ---- snapshots
  async function liveFor(p: Principal): Promise<CallRecordDto[]> {
    const byId = new Map<string, CallRecordDto>();
    for (const c of capture.live()) byId.set(c.id, c);
    if (!seesEverythingRole(p.role)) {
      const contactIds = [...byId.values()].flatMap((c) => (c.contact ? [c.contact.id] : []));
      const owners = contactIds.length ? await contactOwners.getMany(contactIds) : new Map<string, string | null>();
      for (const c of byId.values()) if (!maySee(p, c, c.contact ? (owners.get(c.contact.id) ?? null) : null)) byId.delete(c.id);
    }
    if (liveFromDatabase()) {
      // the capture runs in another process: its calls in progress as last written (filtered by the rule in SQL)
      const from = new Date(Date.now() - OPEN_CALLS_MAX_AGE_MS);
      const pages = await Promise.all(['ringing', 'talking'].map((state) => calls.list(p, { state, from }, RECENT_LIMIT)));
      for (const c of pages.flatMap((page) => page.items)) {
        const mine = byId.get(c.id);
        if (!mine || mine.version < c.version) byId.set(c.id, c);
      }
    }
    return [...byId.values()];
  }

  async function snapshotFor(p: Principal, since: Date): Promise<CallsSnapshot> {
    const [live, recent] = await Promise.all([liveFor(p), calls.list(p, { from: since }, RECENT_LIMIT)]);
    return { live, recent: recent.items, since: since.toISOString() };
  }

  // ---- connections
  let pbx = toLinkStatus(pbxStatus());

  io.on('connection', (socket) => {
    const held = credentials.get(socket);
    if (!held) {
      socket.disconnect(true);
      return;
    }
    joinRooms(socket, held.principal.role);
    socket.emit('pbx:status', pbx);
    // on every connect, recovered or not: the recovery covers only a short gap, the snapshot all
    snapshotFor(held.principal, startOfToday()).then(
      (snapshot) => socket.emit('calls:snapshot', snapshot),
      (err: unknown) => {
        logger.error({ err, userId: socket.data.userId }, 'could not build the calls snapshot');
        socket.emit('calls:snapshot-failed', { error: { code: 'unavailable', message: 'The call list is unavailable; retrying' } });
      },
    );

    // one request at a time per socket: a client asking in a loop cannot take the database pool
    let asked: Promise<void> = Promise.resolve();
    socket.on('calls:snapshot', (request, reply) => {
      if (typeof reply !== 'function') return;
      const since = parseSince((request as { since?: unknown } | null | undefined)?.since);
      asked = asked.then(async () => {
        try {
          if (socket.disconnected || !(await stillValid(socket))) return;
          reply(await snapshotFor(credentials.get(socket)!.principal, since));
        } catch (err) {
          logger.error({ err, userId: socket.data.userId }, 'could not answer a calls snapshot request');
          reply({ error: { code: 'unavailable', message: 'The call list is unavailable; try again later' } });
        }
      });
    });
  });

  // ---- call:update: one broadcast to the rooms of the people allowed to see the call
  /** per call, the delivery waiting on a contact owner lookup: later updates queue behind it (order kept) */
  const waiting = new Map<string, Promise<void>>();

  function broadcast(call: CallRecordDto, ownerId: string | null): void {
    io.to(audienceRooms(call, ownerId)).emit('call:update', call);
  }

  function deliver(call: CallRecordDto): void {
    const contactId = call.contact?.id ?? null;
    const before = waiting.get(call.id);
    if (!before) {
      const ownerId = contactId ? contactOwners.peek(contactId) : null;
      if (ownerId !== undefined) return broadcast(call, ownerId);
    }
    const next = (before ?? Promise.resolve()).then(async () => {
      let ownerId: string | null = null;
      if (contactId) {
        try {
          ownerId = await contactOwners.get(contactId);
        } catch (err) {
          // deliver to everyone else rather than to no one
          logger.warn({ err, callId: call.id, contactId }, "could not read the contact's owner; pushing without them");
        }
      }
      broadcast(call, ownerId);
    });
    waiting.set(call.id, next);
    void next.finally(() => {
      if (waiting.get(call.id) === next) waiting.delete(call.id);
    });
  }

  const unsubscribe = bus.subscribe((call) => {
    if (closing) return;
    try {
      deliver(call);
    } catch (err) {
      logger.error({ err, callId: call.id }, 'could not push a call update');
    }
  });

  // ---- pbx:status, to this process's own sockets. A process standing by (another one holds the AMI
  // listener) shows the status the listener's process relays through the adapter while it is fresh.
  let leader: { status: PbxLinkStatus; at: number } | null = null;
  let relayedAt = 0;
  let lastOwn: PbxLinkStatus | null = null;
  const pbxPollMs = deps.pbxPollMs ?? 2000;
  const leaderFreshMs = Math.max(15_000, 4 * pbxPollMs);
  const relayEveryMs = leaderFreshMs / 3;
  if (redis) io.on('pbx:status', (status) => (leader = { status, at: Date.now() }));

  function effectiveStatus(own: PbxLinkStatus): PbxLinkStatus {
    if (own.status === STANDBY && leader && Date.now() - leader.at < leaderFreshMs) return leader.status;
    return own;
  }
  pbx = effectiveStatus(pbx);

  const pbxTimer = setInterval(() => {
    const own = toLinkStatus(pbxStatus());
    if (redis && own.mode !== 'disabled' && own.status !== STANDBY) {
      const changed = own.status !== lastOwn?.status || own.mode !== lastOwn.mode;
      if (changed || Date.now() - relayedAt >= relayEveryMs) {
        relayedAt = Date.now();
        try {
          io.serverSideEmit('pbx:status', own);
        } catch (err) {
          logger.warn({ err }, 'could not relay the PBX status to the other processes');
        }
      }
    }
    lastOwn = own;
    const now = effectiveStatus(own);
    if (now.mode === pbx.mode && now.status === pbx.status) return;
    pbx = now;
    io.local.emit('pbx:status', pbx);
  }, pbxPollMs);
  pbxTimer.unref();

  // ---- sessions that ended (logout, expiry, deactivation, revoked token) lose their sockets
  let revalidating: Promise<void> | null = null;
  async function revalidate(): Promise<void> {
    for (const socket of [...io.of('/').sockets.values()]) {
      if (closing) return;
      try {
        await stillValid(socket);
      } catch (err) {
        logger.warn({ err, userId: socket.data.userId }, 'could not check a socket session again; keeping it');
      }
    }
  }
  /** One user's sockets in this process checked again now (their session may just have ended). */
  async function recheckUser(userId: string): Promise<void> {
    const ids = io.of('/').adapter.rooms.get(userRoom(userId)) ?? new Set<string>();
    for (const id of [...ids]) {
      const socket = io.of('/').sockets.get(id);
      if (closing) return;
      if (!socket) continue;
      await stillValid(socket).catch((err: unknown) => logger.warn({ err, userId }, 'could not check a socket session again; keeping it'));
    }
  }
  const unsubscribeCredentials =
    deps.credentials?.subscribe((userId) => {
      if (closing) return;
      void recheckUser(userId);
      if (redis) io.serverSideEmit('credentials:changed', userId);
    }) ?? (() => undefined);
  if (redis) io.on('credentials:changed', (userId) => void recheckUser(userId));

  const revalidateTimer = setInterval(() => {
    revalidating ??= revalidate().finally(() => (revalidating = null));
  }, deps.revalidateMs ?? 60_000);
  revalidateTimer.unref();

  return {
    io,
    contactOwners,
    disconnectUser(userId) {
      io.in(userRoom(userId)).disconnectSockets(true);
    },
    revalidate: () => (revalidating ??= revalidate().finally(() => (revalidating = null))),
    async close() {
      if (closing) return;
      closing = true;
      unsubscribe();
      unsubscribeCredentials();
      clearInterval(pbxTimer);
      clearInterval(revalidateTimer);
      contactOwners.close();
      await Promise.allSettled([...waiting.values()]);
      await io.close();
      if (redis) await redis.close().catch(() => redis?.destroy());
    },
  };
}
