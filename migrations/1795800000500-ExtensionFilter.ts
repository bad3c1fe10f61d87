import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The calls list filtered by an extension (`?agent=101`: the call's agent, or a leg of it): each of
 * the two ways walks an index of its own. Without them a rare extension walked the whole calls
 * table newest first, and every query read all of call_legs into a hash (1M calls: 380 ms for a
 * rare extension, 270 ms for one with no calls).
 */
export class ExtensionFilter1795800000500 implements MigrationInterface {
  name = 'ExtensionFilter1795800000500';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX call_legs__idx__extension ON call_legs (extension, call_id)`);
    await q.query(`CREATE INDEX calls__idx__agent_extension ON calls (agent_extension, started_at DESC, id DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX calls__idx__agent_extension`);
    await q.query(`DROP INDEX call_legs__idx__extension`);
  }
}
