import type { DataSource } from 'typeorm';
import type { CallRecordDto } from '../calls/call-record';
import type { Logger } from '../logger';
import type { Role } from '../users/user.entity';

/**
 * Who may see a call, on the pushed record: the access rule of calls.repository.ts (`accessClause`)
 * evaluated on the DTO instead of in SQL. Supervisors and admins see every call; a manager sees
 * the calls where they are the agent, on any leg, or whose contact they own. The contact's owner is
 * not in the DTO: it comes from a small cache (ContactOwners).
 */

/** Every supervisor and admin socket is in this room. */
export const SUPERVISORS_ROOM = 'supervisors';
export const userRoom = (userId: string) => `user:${userId}`;

export const seesEverythingRole = (role: Role) => role === 'admin' || role === 'supervisor';

/** The users who see the call as a manager would (supervisors and admins aside). */
export function callViewers(call: CallRecordDto, contactOwnerId: string | null): Set<string> {
  const viewers = new Set<string>();
  if (call.agent?.userId) viewers.add(call.agent.userId);
  for (const leg of call.legs) if (leg.userId) viewers.add(leg.userId);
  if (contactOwnerId) viewers.add(contactOwnerId);
  return viewers;
}

/** The rooms a `call:update` goes to: supervisors plus each viewer's own room. */
export function audienceRooms(call: CallRecordDto, contactOwnerId: string | null): string[] {
  const rooms = [SUPERVISORS_ROOM];
  for (const userId of callViewers(call, contactOwnerId)) rooms.push(userRoom(userId));
  return rooms;
}

export function maySee(viewer: { userId: string; role: Role }, call: CallRecordDto, contactOwnerId: string | null): boolean {
  return seesEverythingRole(viewer.role) || callViewers(call, contactOwnerId).has(viewer.userId);
}

/** contact id → owner id (null: no owner, or no such contact), for the ids given. */
export type LoadContactOwners = (contactIds: string[]) => Promise<Map<string, string | null>>;

/** One primary-key query for many contacts. */
export function contactOwnersFromDatabase(ds: DataSource): LoadContactOwners {
  return async (ids) => {
    const rows: { id: string; owner_id: string | null }[] = ids.length
      ? await ds.query(`SELECT id, owner_id FROM contacts WHERE id = ANY($1::uuid[])`, [ids])
      : [];
    const owners = new Map<string, string | null>(ids.map((id) => [id, null]));
    for (const r of rows) owners.set(r.id, r.owner_id);
    return owners;
  };
}

export interface ContactOwners {
  /** The owner when cached (string | null); undefined when it must be loaded with get(). Synchronous: the push path. */
  peek(contactId: string): string | null | undefined;
  get(contactId: string): Promise<string | null>;
  getMany(contactIds: string[]): Promise<Map<string, string | null>>;
  /** Forget one contact (or all): the next lookup reads the database. */
  invalidate(contactId?: string): void;
  /** Re-reads every cached owner now (the timer does it every `refreshMs`). */
  refresh(): Promise<void>;
  size(): number;
  close(): void;
}

export interface ContactOwnersOptions {
  load: LoadContactOwners;
  logger: Logger;
  /**
   * Every cached owner is re-read this often, in one primary-key query: a contact reassigned by any
   * process (or the CLI) applies to the pushes within this time. Default 5 s.
   */
  refreshMs?: number;
  /** An entry not used for this long is dropped. Default 10 min. */
  idleMs?: number;
  /** At most this many entries (the least recently used go first). Default 20,000. */
  max?: number;
}

/**
 * contactId → ownerId, kept fresh cheaply: the push path reads it synchronously; a miss costs one
 * primary-key query (concurrent misses for the same contact share it); a timer re-reads all
 * cached entries in one query, so an ownership change made anywhere applies within `refreshMs`.
 */
export function createContactOwners(o: ContactOwnersOptions): ContactOwners {
  const refreshMs = o.refreshMs ?? 5000;
  const idleMs = o.idleMs ?? 10 * 60_000;
  const max = o.max ?? 20_000;
  /** insertion order = least recently used first (an entry is re-inserted when used) */
  const cache = new Map<string, { ownerId: string | null; usedAt: number }>();
  const loading = new Map<string, Promise<string | null>>();
  let generation = 0;
  let refreshing: Promise<void> | null = null;

  function remember(id: string, ownerId: string | null, now = Date.now()): void {
    cache.delete(id);
    cache.set(id, { ownerId, usedAt: now });
    while (cache.size > max) cache.delete(cache.keys().next().value!);
  }

  function peek(id: string): string | null | undefined {
    const hit = cache.get(id);
    if (!hit) return undefined;
    const now = Date.now();
    // re-insert at most once a second per entry: keeps LRU order without churning the map
    if (now - hit.usedAt > 1000) remember(id, hit.ownerId, now);
    return hit.ownerId;
  }

  async function loadMany(ids: string[]): Promise<Map<string, string | null>> {
    const gen = generation;
    const owners = await o.load(ids);
    if (gen === generation) for (const [id, ownerId] of owners) remember(id, ownerId);
    return owners;
  }

  function get(id: string): Promise<string | null> {
    const hit = peek(id);
    if (hit !== undefined) return Promise.resolve(hit);
    let pending = loading.get(id);
    if (!pending) {
      pending = loadMany([id]).then((m) => m.get(id) ?? null);
      loading.set(id, pending);
      const done = () => loading.delete(id);
      pending.then(done, done);
    }
    return pending;
  }

  async function refresh(): Promise<void> {
    const now = Date.now();
    for (const [id, e] of cache) if (now - e.usedAt > idleMs) cache.delete(id);
    const ids = [...cache.keys()];
    if (!ids.length) return;
    const gen = generation;
    const owners = await o.load(ids);
    if (gen !== generation) return;
    for (const [id, ownerId] of owners) {
      const e = cache.get(id);
      if (e) e.ownerId = ownerId;
    }
  }

  const timer = setInterval(() => {
    if (refreshing) return;
    refreshing = refresh()
      .catch((err: unknown) => o.logger.warn({ err }, 'could not refresh the contact owners; keeping the cached ones'))
      .finally(() => (refreshing = null));
  }, refreshMs);
  timer.unref();

  return {
    peek,
    get,
    async getMany(ids) {
      const out = new Map<string, string | null>();
      const missing: string[] = [];
      for (const id of new Set(ids)) {
        const hit = peek(id);
        if (hit === undefined) missing.push(id);
        else out.set(id, hit);
      }
      if (missing.length) for (const [id, ownerId] of await loadMany(missing)) out.set(id, ownerId);
      return out;
    },
    invalidate(id) {
      generation += 1;
      if (id === undefined) cache.clear();
      else cache.delete(id);
    },
    refresh,
    size: () => cache.size,
    close: () => clearInterval(timer),
  };
}
