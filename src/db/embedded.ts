import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Logger } from '../logger';
import { servePglite } from './pglite-server';

/**
 * The embedded default: PostgreSQL (PGlite, WASM) persisted in DATA_DIR and served on a unix socket
 * in DATA_DIR, so the ordinary `pg` driver and the very same migrations and queries run on it.
 * One process opens the data directory at a time (a pid lock file); others connect to its socket.
 */
export interface EmbeddedDatabase {
  /** directory holding `.s.PGSQL.5432`: pass it to `pg` as `host` */
  readonly socketDir: string;
  stop(): Promise<void>;
}

const SOCKET_NAME = '.s.PGSQL.5432';
const LOCK_NAME = 'embedded.lock';
const MAX_UNIX_SOCKET_PATH = 107;

export function embeddedSocketPath(dataDir: string): string {
  return path.join(dataDir, SOCKET_NAME);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function acquireLock(dataDir: string): () => void {
  const lockPath = path.join(dataDir, LOCK_NAME);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(lockPath, String(process.pid), { flag: 'wx' });
      return () => fs.rmSync(lockPath, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(fs.readFileSync(lockPath, 'utf8').trim());
      if (Number.isInteger(holder) && holder !== process.pid && pidAlive(holder)) {
        throw new Error(`The embedded database in ${dataDir} is open in another process (pid ${holder})`, { cause: err });
      }
      fs.rmSync(lockPath, { force: true }); // stale lock of a process that died
    }
  }
  throw new Error(`Could not lock the embedded database in ${dataDir}`);
}

/** True when a running calltrack already serves the embedded database of `dataDir`. */
export function embeddedServerRunning(dataDir: string): Promise<boolean> {
  const socketPath = embeddedSocketPath(dataDir);
  if (!fs.existsSync(socketPath)) return Promise.resolve(false);
  return new Promise((resolve) => {
    const s = net.connect(socketPath);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export async function openEmbeddedDatabase(dataDir: string, logger: Logger): Promise<EmbeddedDatabase> {
  const socketPath = embeddedSocketPath(dataDir);
  if (socketPath.length > MAX_UNIX_SOCKET_PATH) {
    throw new Error(`DATA_DIR path is too long for a unix socket (${socketPath.length} > ${MAX_UNIX_SOCKET_PATH} characters)`);
  }
  fs.mkdirSync(dataDir, { recursive: true });
  const release = acquireLock(dataDir);
  try {
    fs.rmSync(socketPath, { force: true });
    const started = Date.now();
    const { PGlite } = await import('@electric-sql/pglite');
    const db = await PGlite.create(path.join(dataDir, 'pgdata'));
    const server = await servePglite(db, socketPath, logger);
    logger.info({ dataDir, ms: Date.now() - started }, 'embedded database ready');
    return {
      socketDir: dataDir,
      async stop() {
        await server.close();
        await db.close();
        fs.rmSync(socketPath, { force: true });
        release();
      },
    };
  } catch (err) {
    release();
    throw err;
  }
}
