import type { DataSource, QueryRunner } from 'typeorm';
import type { Logger } from '../logger';

/**
 * One process per PBX holds the AMI listener: a PostgreSQL session advisory lock elects it, the
 * others stand by and take over within `intervalMs` when the leader's database session ends.
 */
export function electListener(o: {
  ds: DataSource;
  key: string;
  logger: Logger;
  onElected: () => Promise<void> | void;
  onDeposed: () => Promise<void> | void;
  intervalMs?: number;
}) {
  const { ds, key, logger } = o;
  let runner: QueryRunner | null = null;
  let leader = false;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let busy: Promise<void> = Promise.resolve();

  async function release(): Promise<void> {
    const r = runner;
    runner = null;
    if (r && !r.isReleased) await r.release().catch(() => undefined);
  }

  async function tick(): Promise<void> {
    if (stopped) return;
    try {
      if (!leader) {
        runner ??= ds.createQueryRunner();
        await runner.connect();
        const [row] = (await runner.query(`SELECT pg_try_advisory_lock(hashtext($1)) AS won`, [key])) as { won: boolean }[];
        if (row?.won) {
          leader = true;
          logger.info({ key }, 'this process holds the PBX listener');
          await o.onElected();
        } else {
          await release();
        }
      } else {
        await runner!.query('SELECT 1');
      }
    } catch (err) {
      if (leader) {
        leader = false;
        logger.error({ err }, 'lost the database session holding the PBX listener lock; standing by');
        await o.onDeposed();
      }
      await release();
    }
  }

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      busy = tick().finally(schedule);
    }, o.intervalMs ?? 5000);
    timer.unref();
  };

  return {
    /** Tries once at once, then keeps trying (or checking the lock) every interval. */
    async start(): Promise<void> {
      busy = tick();
      await busy;
      schedule();
    },
    isLeader: () => leader,
    async stop(): Promise<void> {
      stopped = true;
      if (timer) clearTimeout(timer);
      await busy.catch(() => undefined);
      if (leader) {
        leader = false;
        await o.onDeposed();
        await runner?.query(`SELECT pg_advisory_unlock(hashtext($1))`, [key]).catch(() => undefined);
      }
      await release();
    },
  };
}
