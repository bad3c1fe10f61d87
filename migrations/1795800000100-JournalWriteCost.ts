import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The journal is written ~30 rows per call and read back only whole, by calls:rebuild (never
 * queried inside a payload), so its write cost is what matters:
 * - payload as text (the frame's JSON as calltrack wrote it; calls:rebuild casts it back to json):
 *   PostgreSQL's jsonb input (parse, sort and dedupe keys) was the largest part of its work;
 * - received_at (append-only, in time order) under a BRIN index instead of a B-tree.
 * COPY of 300,000 typical frames on PostgreSQL 15: 5.5–5.9 s before, 3.0–3.1 s after (measured
 * for test/bench/ingest.bench.ts).
 */
export class JournalWriteCost1795800000100 implements MigrationInterface {
  name = 'JournalWriteCost1795800000100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE call_events ALTER COLUMN payload TYPE text USING payload::text`);
    await q.query(`DROP INDEX call_events__idx__received_at`);
    await q.query(`CREATE INDEX call_events__idx__received_at ON call_events USING brin (received_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX call_events__idx__received_at`);
    await q.query(`CREATE INDEX call_events__idx__received_at ON call_events (received_at)`);
    await q.query(`ALTER TABLE call_events ALTER COLUMN payload TYPE jsonb USING payload::jsonb`);
  }
}
