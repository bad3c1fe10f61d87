import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Each journal line names the pipeline that wrote it (`source`: host, process id and start time of
 * the capture that saw the event). A capture's tracker lives as long as its process, and its
 * control events (link lost, resync, PBX restart) concern only the calls it tracked, so
 * calls:rebuild replays each source through a tracker of its own, as the live processes did. Rows
 * written before this column have none: they are one source. A nullable column without a default
 * is added without rewriting the table.
 */
export class JournalSource1795800000200 implements MigrationInterface {
  name = 'JournalSource1795800000200';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE call_events ADD COLUMN source text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE call_events DROP COLUMN source`);
  }
}
