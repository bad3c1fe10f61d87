import type { DataSource } from 'typeorm';
import type { Logger } from '../logger';
import type { CallCapture } from './call-capture';
import type { CallStore } from './call-store';
import type { PbxEvent } from './pbx-event';

export interface JournalRow {
  id: string;
  pbx_call_id: string | null;
  received_at: Date;
  mono: number;
  kind: 'ami' | 'control';
  /** the stored text: JSON, or an AMI frame's raw text (see asterisk/journal-payload.ts) */
  payload: string;
}

/** Turns a journal row back into the event the tracker saw (AMI frames go through toPbxEvent again). */
export type JournalDecoder = (row: JournalRow) => PbxEvent | null;

/**
 * Regenerates the records of the calls that have journal events between `from` and `to`: every
 * event of those calls (also outside the window, so a call is always rebuilt whole) is replayed in
 * journal order through a fresh capture pipeline that does not journal again. Annotations stay.
 */
export async function rebuildCalls(deps: {
  ds: DataSource;
  capture: CallCapture;
  store: CallStore;
  decode: JournalDecoder;
  logger: Logger;
  from: Date;
  to: Date;
  batchSize?: number;
}): Promise<{ events: number; calls: number }> {
  const { ds, capture, store, decode, from, to } = deps;
  const batchSize = deps.batchSize ?? 5000;
  const [{ count }] = (await ds.query(
    `SELECT count(DISTINCT pbx_call_id)::int AS count FROM call_events WHERE received_at >= $1 AND received_at < $2`,
    [from, to],
  )) as [{ count: number }];
  let lastId = '0';
  let events = 0;
  for (;;) {
    const rows: JournalRow[] = await ds.query(
      `SELECT id::text AS id, pbx_call_id, received_at, mono, kind, payload
         FROM call_events e
        WHERE e.id > $3
          AND (e.pbx_call_id IN (SELECT pbx_call_id FROM call_events WHERE received_at >= $1 AND received_at < $2)
               OR (e.pbx_call_id IS NULL AND e.received_at >= $1 AND e.received_at < $2))
        ORDER BY e.id
        LIMIT $4`,
      [from, to, lastId, batchSize],
    );
    if (!rows.length) break;
    for (const row of rows) {
      const event = decode(row);
      if (event) capture.handle(event);
      events += 1;
    }
    lastId = rows[rows.length - 1]!.id;
    await store.flush();
  }
  await capture.idle();
  await store.flush();
  deps.logger.info({ events, calls: count }, 'calls rebuilt from the journal');
  return { events, calls: count };
}

/** Control events were journalled as JSON: bring their dates back. */
export function reviveControlEvent(payload: unknown): PbxEvent | null {
  if (typeof payload !== 'object' || payload === null || !('type' in payload)) return null;
  const e = payload as PbxEvent & { at: string | Date };
  return { ...e, at: new Date(e.at) } as PbxEvent;
}
