import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { DatabaseTarget } from '../../src/db/data-source';

/**
 * A TCP/unix-socket proxy in front of the test database that a test can cut and restore: the
 * database "goes away" for the app while the database itself keeps running for everyone else.
 */
export interface DbProxy {
  target: DatabaseTarget;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startDbProxy(): Promise<DbProxy> {
  const url = process.env.DATABASE_URL;
  const upstream = url
    ? (() => {
        const u = new URL(url);
        return { host: u.hostname, port: Number(u.port || 5432) };
      })()
    : { path: path.join(process.env.CALLTRACK_TEST_SOCKET_DIR!, '.s.PGSQL.5432') };
  const sockets = new Set<net.Socket>();
  let open = true;
  const server = net.createServer((client) => {
    if (!open) return client.destroy();
    const up = net.connect(upstream as net.NetConnectOpts);
    sockets.add(client).add(up);
    const drop = () => {
      client.destroy();
      up.destroy();
      sockets.delete(client);
      sockets.delete(up);
    };
    client.on('error', drop).on('close', drop);
    up.on('error', drop).on('close', drop);
    client.pipe(up).pipe(client);
  });
  let target: DatabaseTarget;
  if (url) {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const u = new URL(url);
    u.hostname = '127.0.0.1';
    u.port = String((server.address() as net.AddressInfo).port);
    target = { url: u.toString(), poolSize: 4 };
  } else {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ct-px-'));
    await new Promise<void>((r) => server.listen(path.join(dir, '.s.PGSQL.5432'), r));
    target = { socketDir: dir, poolSize: 4 };
  }
  return {
    target,
    cut() {
      open = false;
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    restore() {
      open = true;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
