import type { DataSource } from 'typeorm';
import type { Logger } from '../logger';
import type { RecordingStorage } from './recording-storage';

/**
 * Retention (RECORDINGS_RETENTION_DAYS; 0: keep forever): a stored recording whose copy is older
 * than N days — counted from `stored_at`, when calltrack verified its copy — loses its file; the
 * row stays, `purged` with `purged_at`, its format, checksum and talk analytics kept, `stored_path`
 * null. Runs at start and then daily; `calltrack recordings:purge` runs it by hand.
 *
 * Batches are claimed with `FOR UPDATE SKIP LOCKED`, so several processes purging at once share the
 * work; a file is deleted before its row says so (a crash in between leaves a row pointing at no
 * file, which the next run marks purged).
 */
export interface RecordingRetentionOptions {
  ds: DataSource;
  storage: RecordingStorage;
  logger: Logger;
  /** 0: keep forever */
  retentionDays: number;
  /** default 24 h */
  intervalMs?: number;
  /** rows per transaction. Default 200. */
  batchSize?: number;
  /** only recordings whose file name starts with this (tests: several test files share one database) */
  onlyFileNamePrefix?: string;
}

export function createRecordingRetention(o: RecordingRetentionOptions) {
  const { ds, storage } = o;
  const log = o.logger.child({ component: 'recordings-retention' });
  const batchSize = o.batchSize ?? 200;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | null = null;

  /** Purges every stored recording older than `days` (default: the configured retention); returns how many. */
  async function purge(days: number = o.retentionDays): Promise<number> {
    if (!(days > 0)) return 0;
    let total = 0;
    for (;;) {
      const purged = await ds.transaction(async (m) => {
        const rows: { id: string; stored_path: string | null }[] = await m.query(
          `SELECT id, stored_path FROM recordings
            WHERE state = 'stored' AND stored_at < clock_timestamp() - $1::double precision * interval '1 day'
              AND ($3::text IS NULL OR starts_with(file_name, $3))
            ORDER BY stored_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
          [days, batchSize, o.onlyFileNamePrefix ?? null],
        );
        const done: string[] = [];
        for (const r of rows) {
          try {
            if (r.stored_path) await storage.remove(r.stored_path);
            done.push(r.id);
          } catch (err) {
            log.error({ err, recordingId: r.id }, 'could not delete an expired recording: kept, retried at the next purge');
          }
        }
        if (done.length) {
          await m.query(
            `UPDATE recordings SET state = 'purged', purged_at = now(), stored_path = NULL, updated_at = now() WHERE id = ANY($1::uuid[])`,
            [done],
          );
        }
        return { claimed: rows.length, done: done.length };
      });
      total += purged.done;
      if (purged.claimed < batchSize || purged.done === 0) break;
    }
    if (total) log.info({ purged: total, retentionDays: days }, 'expired recordings deleted');
    return total;
  }

  const runLogged = () => {
    if (running) return;
    running = purge()
      .catch((err: unknown) => {
        log.error({ err }, 'recording retention purge failed (retried tomorrow)');
        return 0;
      })
      .finally(() => {
        running = null;
      });
  };

  return {
    purge,
    /** Purges now and then every `intervalMs`. No-op without a retention. */
    start(): void {
      if (timer || !(o.retentionDays > 0)) return;
      timer = setInterval(runLogged, o.intervalMs ?? 24 * 3600_000);
      timer.unref();
      runLogged();
    },
    async stop(): Promise<void> {
      if (timer) clearInterval(timer);
      timer = undefined;
      await running;
    },
  };
}

export type RecordingRetention = ReturnType<typeof createRecordingRetention>;
