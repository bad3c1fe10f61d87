import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The audit log in the order its entries were written: `seq`, an identity, orders and pages it.
 * `at` (now(), the transaction's start) ties for entries of one transaction and, on the embedded
 * database, for entries written within the same millisecond: the order fell to the random id. The
 * cursor was `at` to the millisecond while PostgreSQL keeps microseconds, so a page could skip the
 * entries of the millisecond it ended in. Existing rows are numbered in the table's order.
 */
export class AuditOrder1795800000300 implements MigrationInterface {
  name = 'AuditOrder1795800000300';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE audit_log ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY`);
    await q.query(`CREATE UNIQUE INDEX audit_log__uq__seq ON audit_log (seq)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE audit_log DROP COLUMN seq`);
  }
}
