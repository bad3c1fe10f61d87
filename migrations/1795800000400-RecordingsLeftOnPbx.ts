import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The recordings stored here whose PBX copy is not deleted yet, oldest first: the fetcher looks for
 * them at every run (RECORDINGS_DELETE_FROM_PBX) and should not read the whole table to find the
 * few a failed delete left behind.
 */
export class RecordingsLeftOnPbx1795800000400 implements MigrationInterface {
  name = 'RecordingsLeftOnPbx1795800000400';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX recordings__idx__left_on_pbx ON recordings (stored_at) WHERE state = 'stored' AND deleted_from_pbx_at IS NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX recordings__idx__left_on_pbx`);
  }
}
