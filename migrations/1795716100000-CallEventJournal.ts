import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The append-only journal of PBX events (raw AMI frames and calltrack's own control events: link
 * lost, resync, PBX restart, stale sweep), linked to their call, so records can be rebuilt.
 */
export class CallEventJournal1795716100000 implements MigrationInterface {
  name = 'CallEventJournal1795716100000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE call_events (
        id bigint GENERATED ALWAYS AS IDENTITY,
        pbx_call_id text,
        received_at timestamptz NOT NULL,
        mono double precision NOT NULL,
        kind text NOT NULL,
        payload jsonb NOT NULL,
        CONSTRAINT call_events_pkey PRIMARY KEY (id),
        CONSTRAINT call_events__chk__kind CHECK (kind IN ('ami', 'control'))
      )`);
    await q.query(`CREATE INDEX call_events__idx__pbx_call_id ON call_events (pbx_call_id)`);
    await q.query(`CREATE INDEX call_events__idx__received_at ON call_events (received_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE call_events`);
  }
}
