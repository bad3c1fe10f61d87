import net from 'node:net';
import type { PGlite } from '@electric-sql/pglite';
import type { Logger } from '../logger';

/**
 * PostgreSQL wire protocol in front of PGlite (one backend session shared by every connection).
 *
 * Replaces @electric-sql/pglite-socket's server, which queues each protocol *message* separately:
 * two pooled connections' Parse/Bind/Execute messages interleave (`bind message supplies 2
 * parameters, but prepared statement "" requires 1`, or worse, another connection's values), and
 * one failed message leaves its queue stuck. Here a connection's messages run as one unit up to
 * Sync or a simple Query, units never interleave, and a connection that opens a transaction keeps
 * the database until it commits or rolls back (or disconnects: rolled back).
 */
const SSL_REQUEST = 80877103;
const CANCEL_REQUEST = 80877102;
const PROTOCOL_3 = 196608;
/** message types that end a unit: Sync, simple Query, Terminate */
const UNIT_END = new Set(['S'.charCodeAt(0), 'Q'.charCodeAt(0), 'X'.charCodeAt(0)]);
const TERMINATE = 'X'.charCodeAt(0);

interface Conn {
  id: number;
  socket: net.Socket;
  buffer: Buffer;
  started: boolean;
  /** messages of the unit being gathered */
  pending: Buffer[];
  closed: boolean;
}

interface Unit {
  conn: Conn;
  messages: Buffer[];
}

export interface PgliteServer {
  close(): Promise<void>;
  stats(): { connections: number; queued: number };
}

export async function servePglite(db: PGlite, path: string, logger: Logger): Promise<PgliteServer> {
  const conns = new Set<Conn>();
  const queue: Unit[] = [];
  let owner: Conn | null = null;
  let running = false;
  let nextId = 1;

  async function execute(unit: Unit): Promise<void> {
    for (const message of unit.messages) {
      if (unit.conn.closed) return;
      if (message[0] === TERMINATE) {
        unit.conn.socket.end();
        return;
      }
      await db.execProtocolRawStream(new Uint8Array(message), {
        onRawData: (data) => {
          if (!unit.conn.closed && data.length) unit.conn.socket.write(Buffer.from(data));
        },
      });
    }
  }

  async function pump(): Promise<void> {
    if (running) return;
    running = true;
    try {
      for (;;) {
        if (owner?.closed) {
          // a client vanished inside its transaction: roll it back, release the database
          await db.runExclusive(() => db.exec('ROLLBACK')).catch(() => undefined);
          owner = null;
        }
        const i = owner ? queue.findIndex((u) => u.conn === owner) : 0;
        if (i < 0 || queue.length === 0) break;
        const unit = queue.splice(i, 1)[0]!;
        try {
          await db.runExclusive(() => execute(unit));
        } catch (err) {
          logger.error({ err, connection: unit.conn.id }, 'embedded database: a request failed; closing that connection');
          unit.conn.socket.destroy();
        }
        owner = !unit.conn.closed && db.isInTransaction() ? unit.conn : null;
      }
    } finally {
      running = false;
    }
  }

  function onData(c: Conn, data: Buffer): void {
    c.buffer = c.buffer.length ? Buffer.concat([c.buffer, data]) : data;
    for (;;) {
      if (!c.started) {
        if (c.buffer.length < 8) return;
        const length = c.buffer.readInt32BE(0);
        const code = c.buffer.readInt32BE(4);
        if (c.buffer.length < length) return;
        const message = c.buffer.subarray(0, length);
        c.buffer = c.buffer.subarray(length);
        if (code === SSL_REQUEST) c.socket.write('N');
        else if (code === CANCEL_REQUEST)
          c.socket.end(); // PGlite has no backend to signal
        else if (code === PROTOCOL_3) {
          c.started = true;
          queue.push({ conn: c, messages: [Buffer.from(message)] });
          void pump();
        } else {
          c.socket.destroy();
          return;
        }
        continue;
      }
      if (c.buffer.length < 5) return;
      const length = 1 + c.buffer.readInt32BE(1);
      if (c.buffer.length < length) return;
      const message = Buffer.from(c.buffer.subarray(0, length));
      c.buffer = c.buffer.subarray(length);
      c.pending.push(message);
      if (UNIT_END.has(message[0]!)) {
        queue.push({ conn: c, messages: c.pending });
        c.pending = [];
        void pump();
      }
    }
  }

  const server = net.createServer((socket) => {
    const c: Conn = { id: nextId++, socket, buffer: Buffer.alloc(0), started: false, pending: [], closed: false };
    conns.add(c);
    socket.setNoDelay(true);
    socket.on('data', (d) => onData(c, d));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      c.closed = true;
      conns.delete(c);
      for (let i = queue.length - 1; i >= 0; i--) if (queue[i]!.conn === c) queue.splice(i, 1);
      void pump();
    });
  });
  await db.waitReady;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, resolve);
  });
  return {
    async close() {
      for (const c of conns) c.socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      while (running) await new Promise((r) => setTimeout(r, 5));
    },
    stats: () => ({ connections: conns.size, queued: queue.length }),
  };
}
