import type { DataSource } from 'typeorm';
import type { Logger } from '../logger';
import type { CallCapture } from './call-capture';
import type { CallStore } from './call-store';
import type { PbxEvent } from './pbx-event';

export interface JournalRow {
  id: string;
  /** the pipeline that journalled it (null: written before sources were kept) */
  source: string | null;
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
 * journal order through fresh capture pipelines that do not journal again. Annotations stay.
 *
 * Each source (the process that journalled the rows) gets a pipeline of its own, as it had one
 * live: its control events (link lost, resync, PBX restart) judge only the calls it tracked, and
 * a process that took over the PBX listener started with an empty tracker. `sources` limits the
 * rebuild to those sources' rows.
 */
export async function rebuildCalls(deps: {
  ds: DataSource;
  /** a fresh pipeline (one per source) over `store` */
  newCapture: () => CallCapture;
  store: CallStore;
  decode: JournalDecoder;
  logger: Logger;
  from: Date;
  to: Date;
  sources?: readonly string[];
  batchSize?: number;
}): Promise<{ events: number; calls: number; sources: number }> {
  const { ds, store, decode, from, to } = deps;
  const batchSize = deps.batchSize ?? 5000;
  const sources = deps.sources ? [...deps.sources] : null;
  const [{ count }] = (await ds.query(
    `SELECT count(DISTINCT pbx_call_id)::int AS count FROM call_events
      WHERE received_at >= $1 AND received_at < $2 AND ($3::text[] IS NULL OR source = ANY($3))`,
    [from, to, sources],
  )) as [{ count: number }];
  const captures = new Map<string | null, CallCapture>();
  let lastId = '0';
  let events = 0;
  for (;;) {
    const rows: JournalRow[] = await ds.query(
      `SELECT id::text AS id, source, pbx_call_id, received_at, mono, kind, payload
         FROM call_events e
        WHERE e.id > $3
          AND ($5::text[] IS NULL OR e.source = ANY($5))
          AND (e.pbx_call_id IN (SELECT pbx_call_id FROM call_events
                                  WHERE received_at >= $1 AND received_at < $2 AND ($5::text[] IS NULL OR source = ANY($5)))
               OR (e.pbx_call_id IS NULL AND e.received_at >= $1 AND e.received_at < $2))
        ORDER BY e.id
        LIMIT $4`,
      [from, to, lastId, batchSize, sources],
    );
    if (!rows.length) break;
    for (const row of rows) {
      let capture = captures.get(row.source);
      if (capture === undefined) captures.set(row.source, (capture = deps.newCapture()));
      const event = decode(row);
      if (event) capture.handle(event);
      events += 1;
    }
    lastId = rows[rows.length - 1]!.id;
    await store.flush();
  }
  for (const capture of captures.values()) await capture.idle();
  await store.flush();
  deps.logger.info({ events, calls: count, sources: captures.size }, 'calls rebuilt from the journal');
  return { events, calls: count, sources: captures.size };
}

/** Control events were journalled as JSON: bring their dates back. */
export function reviveControlEvent(payload: unknown): PbxEvent | null {
  if (typeof payload !== 'object' || payload === null || !('type' in payload)) return null;
  const e = payload as PbxEvent & { at: string | Date };
  return { ...e, at: new Date(e.at) } as PbxEvent;
}
