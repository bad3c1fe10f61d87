import { io, type Socket } from 'socket.io-client';
import { api, ApiError } from './api';
import { startOfToday } from './format';
import type { CallRecordDto, CallsSnapshot, ClientToServerEvents, PbxLinkStatus, ServerToClientEvents } from './types';

/** The browser's side of the live layer: one Socket.IO connection and every call record it has seen. */
export type LinkState = 'connecting' | 'live' | 'reconnecting';

type CallListener = (call: CallRecordDto, previous: CallRecordDto | undefined) => void;

export class LiveCalls {
  readonly calls = new Map<string, CallRecordDto>();
  link: LinkState = 'connecting';
  pbx: PbxLinkStatus | null = null;
  /** snapshots applied so far (a reconnect sends one) */
  snapshots = 0;
  private socket: Socket<ServerToClientEvents, ClientToServerEvents> | null = null;
  private readonly callListeners = new Set<CallListener>();
  private readonly statusListeners = new Set<() => void>();
  private retry: ReturnType<typeof setTimeout> | undefined;

  /** Applies a record if it is newer than the one held (the contract: `version` increases). */
  apply(call: CallRecordDto): boolean {
    const previous = this.calls.get(call.id);
    if (previous && previous.version >= call.version) return false;
    this.calls.set(call.id, call);
    for (const l of this.callListeners) l(call, previous);
    return true;
  }

  onCall(listener: CallListener): () => void {
    this.callListeners.add(listener);
    return () => this.callListeners.delete(listener);
  }

  onStatus(listener: () => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  /** Every call held, newest first. */
  list(): CallRecordDto[] {
    return [...this.calls.values()].sort((a, b) => b.startedAt.localeCompare(a.startedAt) || b.id.localeCompare(a.id));
  }

  setPbx(status: PbxLinkStatus): void {
    this.pbx = status;
    this.emitStatus();
  }

  /** Today's calls over REST: the list works before (and without) the socket. */
  async loadToday(maxPages = 5): Promise<void> {
    let cursor: string | undefined;
    for (let i = 0; i < maxPages; i++) {
      const page = await api.calls({ from: startOfToday().toISOString(), limit: 100, cursor });
      for (const c of page.items) this.apply(c);
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
  }

  connect(onUnauthenticated: () => void): void {
    if (this.socket) return;
    const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io({ path: '/socket.io', withCredentials: true });
    this.socket = socket;
    socket.on('connect', () => this.setLink('live'));
    socket.on('disconnect', (reason) => {
      this.setLink('reconnecting');
      // the server closed it (session ended?): check before trying again
      if (reason === 'io server disconnect') this.retryLater(onUnauthenticated);
    });
    socket.on('connect_error', () => {
      this.setLink('reconnecting');
      // refused by the server's middleware: socket.io does not retry by itself
      if (!socket.active) this.retryLater(onUnauthenticated);
    });
    socket.on('call:update', (call) => this.apply(call));
    socket.on('calls:snapshot', (snapshot) => void this.applySnapshot(snapshot));
    // the server could not list the calls on connect (its database is down?): ask again shortly
    socket.on('calls:snapshot-failed', () => this.retrySnapshot());
    socket.on('pbx:status', (status) => this.setPbx(status));
    document.addEventListener('visibilitychange', this.onVisible);
  }

  disconnect(): void {
    clearTimeout(this.retry);
    clearTimeout(this.snapshotRetry);
    document.removeEventListener('visibilitychange', this.onVisible);
    this.socket?.disconnect();
    this.socket = null;
    this.calls.clear();
    this.link = 'connecting';
    this.snapshots = 0;
  }

  /** Asks for a fresh snapshot (after the tab slept); resolves when applied or after 10 s. */
  requestSnapshot(): Promise<void> {
    const socket = this.socket;
    if (!socket?.connected) return Promise.resolve();
    return new Promise((resolve) => {
      socket.timeout(10_000).emit('calls:snapshot', {}, (err, result) => {
        if (!err && result && !('error' in result)) void this.applySnapshot(result).then(resolve);
        else {
          this.retrySnapshot();
          resolve();
        }
      });
    });
  }

  private snapshotRetry: ReturnType<typeof setTimeout> | undefined;
  private snapshotDelayMs = 2000;

  /** Asks for a snapshot again later, backing off up to 30 s while the server cannot give one. */
  private retrySnapshot(): void {
    clearTimeout(this.snapshotRetry);
    this.snapshotRetry = setTimeout(() => {
      const before = this.snapshots;
      void this.requestSnapshot().then(() => {
        this.snapshotDelayMs = this.snapshots > before ? 2000 : Math.min(this.snapshotDelayMs * 2, 30_000);
      });
    }, this.snapshotDelayMs);
  }

  private readonly onVisible = () => {
    if (document.visibilityState === 'visible') void this.requestSnapshot();
  };

  private retryLater(onUnauthenticated: () => void): void {
    clearTimeout(this.retry);
    this.retry = setTimeout(() => {
      api.me().then(
        () => this.socket?.connect(),
        (err: unknown) => {
          if (err instanceof ApiError && err.status === 401) onUnauthenticated();
          else this.retryLater(onUnauthenticated);
        },
      );
    }, 2000);
  }

  private async applySnapshot(snapshot: CallsSnapshot): Promise<void> {
    const inSnapshot = new Set<string>();
    for (const c of [...snapshot.live, ...snapshot.recent]) {
      inSnapshot.add(c.id);
      this.apply(c);
    }
    // a call we held as live that the snapshot no longer lists ended while we were away
    const vanished = [...this.calls.values()].filter((c) => c.state !== 'ended' && !inSnapshot.has(c.id));
    await Promise.all(
      vanished.map((c) =>
        api.call(c.id).then(
          (fresh) => this.apply(fresh),
          (err: unknown) => {
            if (err instanceof ApiError && err.status === 404) this.calls.delete(c.id);
          },
        ),
      ),
    );
    this.snapshots++;
    this.emitStatus();
  }

  private setLink(state: LinkState): void {
    if (this.link === state) return;
    this.link = state;
    this.emitStatus();
  }

  private emitStatus(): void {
    for (const l of this.statusListeners) l();
  }
}
