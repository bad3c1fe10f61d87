import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The journal keeps each frame's payload as `json` (its text, checked to be JSON) instead of
 * `jsonb`: it is written ~30 times per call and read back only whole (calls:rebuild), never
 * queried inside, and PostgreSQL's jsonb input (parse, sort and dedupe keys) was the largest part
 * of its work on the capture path: COPY of 300,000 typical frames took 5.5–5.9 s into jsonb and
 * 3.6–3.9 s into json on PostgreSQL 15 (measured for test/bench/ingest.bench.ts).
 */
export class JournalPayloadJson1795800000100 implements MigrationInterface {
  name = 'JournalPayloadJson1795800000100';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE call_events ALTER COLUMN payload TYPE json USING payload::json`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE call_events ALTER COLUMN payload TYPE jsonb USING payload::jsonb`);
  }
}
