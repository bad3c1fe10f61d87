import type { DataSource, EntityManager } from 'typeorm';
import type { Logger } from '../logger';
import type { CallDraft, ContactMatch, RecordingState } from './call-record';

/** A call as the capture pipeline hands it to the database: the tracker's draft plus who and what. */
export interface CallSnapshot {
  id: string;
  version: number;
  draft: CallDraft;
  agentUserId: string | null;
  legUserIds: (string | null)[];
  contactId: string | null;
  organizationId: string | null;
  contactMatch: ContactMatch;
  recordingId: string | null;
}

/** One journal line: a raw AMI frame, or one of calltrack's own control events. */
export interface JournalEntry {
  pbxCallId: string | null;
  receivedAt: Date;
  mono: number;
  kind: 'ami' | 'control';
  payload: unknown;
}

/** What the database holds after a write (ids and annotations may differ from the snapshot's). */
export interface AppliedCall {
  id: string;
  pbxCallId: string;
  version: number;
  topic: string | null;
  outcomeId: string | null;
  outcomeName: string | null;
  notes: string | null;
  recordingId: string | null;
}

export interface CallStoreOptions {
  ds: DataSource;
  logger: Logger;
  /** how long changes wait to be batched, ms (default 20) */
  flushDelayMs?: number;
  /** most calls written in one transaction (default 1000) */
  maxBatchCalls?: number;
  /** most journal events written in one transaction (default 5000) */
  maxBatchEvents?: number;
  /** journal events buffered during an outage before back-pressure (default 200 000) */
  maxBufferedEvents?: number;
  /** after each successful write */
  onApplied?: (calls: AppliedCall[]) => void;
  /** true: the buffer is full, stop reading the PBX; false: drained enough to go on */
  onBackpressure?: (on: boolean) => void;
  /** retry backoff after a failed write, ms (default 250 → 30 000) */
  retryBaseMs?: number;
  retryCapMs?: number;
}

export type CallStore = ReturnType<typeof createCallStore>;

/** Strings in jsonb may not contain NUL; a frame with one is journalled with U+FFFD instead. */
const jsonForPg = (value: unknown) => JSON.stringify(value).replace(/\\u0000/g, '\\ufffd');

function recordingState(d: CallDraft): RecordingState {
  return d.state === 'ended' && !d.answeredAt ? 'empty' : 'pending';
}

const UPSERT_CALLS = `
  WITH up AS (
  INSERT INTO calls AS c (id, pbx_call_id, version, direction, state, disposition, missed, external_number,
                          external_number_raw, tracking_number, started_at, answered_at, ended_at, agent_extension,
                          agent_user_id, hangup_by, end_reason, contact_id, organization_id, contact_match,
                          related_pbx_call_ids, recording_file)
  SELECT x.id, x.pbx_call_id, x.version, x.direction, x.state, x.disposition, x.missed, x.external_number,
         x.external_number_raw, x.tracking_number, x.started_at, x.answered_at, x.ended_at, x.agent_extension,
         x.agent_user_id, x.hangup_by, x.end_reason, x.contact_id, x.organization_id, x.contact_match,
         x.related_pbx_call_ids, x.recording_file
    FROM jsonb_to_recordset($1::jsonb) AS x(
         id uuid, pbx_call_id text, version bigint, direction text, state text, disposition text, missed boolean,
         external_number text, external_number_raw text, tracking_number text, started_at timestamptz,
         answered_at timestamptz, ended_at timestamptz, agent_extension text, agent_user_id uuid, hangup_by text,
         end_reason text, contact_id uuid, organization_id uuid, contact_match text, related_pbx_call_ids text[],
         recording_file text)
  ON CONFLICT (pbx_call_id) DO UPDATE SET
         version = EXCLUDED.version, direction = EXCLUDED.direction, state = EXCLUDED.state,
         disposition = EXCLUDED.disposition, missed = EXCLUDED.missed, external_number = EXCLUDED.external_number,
         external_number_raw = EXCLUDED.external_number_raw, tracking_number = EXCLUDED.tracking_number,
         started_at = EXCLUDED.started_at, answered_at = EXCLUDED.answered_at, ended_at = EXCLUDED.ended_at,
         agent_extension = EXCLUDED.agent_extension, agent_user_id = EXCLUDED.agent_user_id,
         hangup_by = EXCLUDED.hangup_by, end_reason = EXCLUDED.end_reason, contact_id = EXCLUDED.contact_id,
         organization_id = EXCLUDED.organization_id, contact_match = EXCLUDED.contact_match,
         related_pbx_call_ids = EXCLUDED.related_pbx_call_ids, recording_file = EXCLUDED.recording_file,
         updated_at = now()
   -- idempotent: an older version never overwrites a newer one, and nothing reopens an ended call
   WHERE c.version < EXCLUDED.version AND NOT (c.state = 'ended' AND EXCLUDED.state <> 'ended')
  RETURNING c.id, c.pbx_call_id, c.version, c.topic, c.outcome_id, c.notes)
  SELECT up.*, o.name AS outcome_name FROM up LEFT JOIN outcomes o ON o.id = up.outcome_id`;

/**
 * Write-behind persistence for the capture pipeline: the event path only queues (it never waits on
 * the database); changes are coalesced per call and written in batches, one transaction each,
 * idempotently (unique linkedid + version guard). A failed write keeps everything queued and
 * retries with backoff; past `maxBufferedEvents` it asks the PBX link to pause, loudly.
 */
export function createCallStore(o: CallStoreOptions) {
  const { ds, logger } = o;
  const flushDelayMs = o.flushDelayMs ?? 20;
  const maxBatchCalls = o.maxBatchCalls ?? 1000;
  const maxBatchEvents = o.maxBatchEvents ?? 5000;
  const maxBufferedEvents = o.maxBufferedEvents ?? 200_000;
  const retryBaseMs = o.retryBaseMs ?? 250;
  const retryCapMs = o.retryCapMs ?? 30_000;

  const dirty = new Map<string, CallSnapshot>();
  let events: JournalEntry[] = [];
  let timer: NodeJS.Timeout | null = null;
  let writing: Promise<void> | null = null;
  let failures = 0;
  let outageSince: Date | null = null;
  let lastOutageLog = 0;
  let backpressure = false;
  let closed = false;
  const stats = { callsWritten: 0, eventsWritten: 0, batches: 0, failedBatches: 0 };

  function schedule(delay = flushDelayMs): void {
    if (timer || closed) return;
    timer = setTimeout(() => {
      timer = null;
      void drain();
    }, delay);
  }

  function checkBackpressure(): void {
    if (!backpressure && events.length >= maxBufferedEvents) {
      backpressure = true;
      logger.error(
        { bufferedEvents: events.length, bufferedCalls: dirty.size },
        'CALL CAPTURE BACK-PRESSURE: the database is not keeping up; pausing the PBX link until the buffer drains',
      );
      o.onBackpressure?.(true);
    } else if (backpressure && events.length <= maxBufferedEvents / 2) {
      backpressure = false;
      logger.warn({ bufferedEvents: events.length }, 'call capture buffer drained; resuming the PBX link');
      o.onBackpressure?.(false);
    }
  }

  async function writeBatch(m: EntityManager, calls: CallSnapshot[], journal: JournalEntry[]): Promise<AppliedCall[]> {
    if (journal.length) {
      await m.query(
        `INSERT INTO call_events (pbx_call_id, received_at, mono, kind, payload)
         SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::float8[], $4::text[], $5::jsonb[])`,
        [
          journal.map((e) => e.pbxCallId),
          journal.map((e) => e.receivedAt),
          journal.map((e) => e.mono),
          journal.map((e) => e.kind),
          journal.map((e) => jsonForPg(e.payload)),
        ],
      );
    }
    if (!calls.length) return [];
    const rows = calls.map((s) => ({
      id: s.id,
      pbx_call_id: s.draft.pbxCallId,
      version: s.version,
      direction: s.draft.direction,
      state: s.draft.state,
      disposition: s.draft.disposition,
      missed: s.draft.missed,
      external_number: s.draft.externalNumber,
      external_number_raw: s.draft.externalNumberRaw,
      tracking_number: s.draft.trackingNumber,
      started_at: s.draft.startedAt,
      answered_at: s.draft.answeredAt,
      ended_at: s.draft.endedAt,
      agent_extension: s.draft.agentExtension,
      agent_user_id: s.agentUserId,
      hangup_by: s.draft.hangupBy,
      end_reason: s.draft.endReason,
      contact_id: s.contactId,
      organization_id: s.organizationId,
      contact_match: s.contactMatch,
      related_pbx_call_ids: s.draft.relatedPbxCallIds,
      recording_file: s.draft.recordingFile,
    }));
    const applied: {
      id: string;
      pbx_call_id: string;
      version: string;
      topic: string | null;
      outcome_id: string | null;
      outcome_name: string | null;
      notes: string | null;
    }[] =
      await m.query(UPSERT_CALLS, [JSON.stringify(rows)]);
    if (!applied.length) return [];
    const byPbx = new Map(calls.map((s) => [s.draft.pbxCallId, s]));
    const ids = applied.map((a) => a.id);
    await m.query(`DELETE FROM call_legs WHERE call_id = ANY($1::uuid[])`, [ids]);
    const legs = applied.flatMap((a) => {
      const s = byPbx.get(a.pbx_call_id)!;
      return s.draft.legs.map((l, seq) => ({
        call_id: a.id,
        seq,
        extension: l.extension,
        user_id: s.legUserIds[seq] ?? null,
        ringing_at: l.ringingAt,
        answered_at: l.answeredAt,
        ended_at: l.endedAt,
        result: l.result,
      }));
    });
    if (legs.length) {
      await m.query(
        `INSERT INTO call_legs (call_id, seq, extension, user_id, ringing_at, answered_at, ended_at, result)
         SELECT x.call_id, x.seq, x.extension, x.user_id, x.ringing_at, x.answered_at, x.ended_at, x.result
           FROM jsonb_to_recordset($1::jsonb) AS x(call_id uuid, seq integer, extension text, user_id uuid,
                ringing_at timestamptz, answered_at timestamptz, ended_at timestamptz, result text)`,
        [JSON.stringify(legs)],
      );
    }
    const recordings = applied
      .map((a) => ({ a, s: byPbx.get(a.pbx_call_id)! }))
      .filter(({ s }) => s.draft.recordingFile && s.recordingId)
      .map(({ a, s }) => ({ id: s.recordingId, call_id: a.id, file_name: s.draft.recordingFile, state: recordingState(s.draft) }));
    const recordingIds = new Map<string, string>();
    if (recordings.length) {
      const rows2: { id: string; call_id: string }[] = await m.query(
        `INSERT INTO recordings AS r (id, call_id, file_name, state)
         SELECT x.id, x.call_id, x.file_name, x.state
           FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, call_id uuid, file_name text, state text)
         ON CONFLICT (call_id) DO UPDATE SET file_name = EXCLUDED.file_name,
                state = CASE WHEN r.state IN ('pending', 'empty') THEN EXCLUDED.state ELSE r.state END, updated_at = now()
         RETURNING r.id, r.call_id`,
        [JSON.stringify(recordings)],
      );
      for (const r of rows2) recordingIds.set(r.call_id, r.id);
    }
    return applied.map((a) => ({
      id: a.id,
      pbxCallId: a.pbx_call_id,
      version: Number(a.version),
      topic: a.topic,
      outcomeId: a.outcome_id,
      outcomeName: a.outcome_name,
      notes: a.notes,
      recordingId: recordingIds.get(a.id) ?? null,
    }));
  }

  const isDataError = (err: unknown) => /^(22|23)/.test(String((err as { code?: string }).code ?? ''));

  async function writeOnce(): Promise<boolean> {
    const calls = [...dirty.values()].slice(0, maxBatchCalls);
    for (const s of calls) dirty.delete(s.draft.pbxCallId);
    const journal = events.slice(0, maxBatchEvents);
    events = events.slice(journal.length);
    if (!calls.length && !journal.length) return false;
    try {
      const applied = await ds.transaction((m) => writeBatch(m, calls, journal));
      stats.batches += 1;
      stats.callsWritten += calls.length;
      stats.eventsWritten += journal.length;
      if (outageSince) {
        logger.warn({ since: outageSince, retries: failures }, 'database writes recovered; buffered calls and events are being written');
        outageSince = null;
      }
      failures = 0;
      checkBackpressure();
      if (applied.length) o.onApplied?.(applied);
      return true;
    } catch (err) {
      stats.failedBatches += 1;
      if (isDataError(err) && calls.length + journal.length > 1) {
        // one bad row must not block the others: write them one by one, log and drop the bad ones
        for (const s of calls) await writeAlone([s], []);
        for (const e of journal) await writeAlone([], [e]);
        return true;
      }
      if (isDataError(err)) {
        logger.error({ err, pbxCallId: calls[0]?.draft.pbxCallId }, 'a call or journal event was refused by the database; dropped');
        return true;
      }
      // put everything back, keeping any newer snapshot queued meanwhile
      for (const s of calls) if (!dirty.has(s.draft.pbxCallId)) dirty.set(s.draft.pbxCallId, s);
      events = journal.concat(events);
      failures += 1;
      outageSince ??= new Date();
      if (Date.now() - lastOutageLog > 10_000) {
        lastOutageLog = Date.now();
        logger.error({ err, bufferedCalls: dirty.size, bufferedEvents: events.length }, 'database write failed; buffering calls and retrying');
      }
      checkBackpressure();
      const delay = Math.min(retryCapMs, retryBaseMs * 2 ** Math.min(failures, 16)) * (0.5 + Math.random() / 2);
      setTimeout(() => schedule(0), delay).unref?.();
      throw err;
    }
  }

  async function writeAlone(calls: CallSnapshot[], journal: JournalEntry[]): Promise<void> {
    try {
      const applied = await ds.transaction((m) => writeBatch(m, calls, journal));
      if (applied.length) o.onApplied?.(applied);
    } catch (err) {
      logger.error({ err, pbxCallId: calls[0]?.draft.pbxCallId ?? journal[0]?.pbxCallId }, 'a call or journal event was refused by the database; dropped');
    }
  }

  function drain(): Promise<void> {
    if (writing) return writing;
    writing = (async () => {
      try {
        while (await writeOnce()) {
          /* keep writing while there is work */
        }
      } catch {
        /* writeOnce scheduled the retry */
      } finally {
        writing = null;
      }
    })();
    return writing;
  }

  return {
    saveCall(snapshot: CallSnapshot): void {
      dirty.set(snapshot.draft.pbxCallId, snapshot);
      schedule();
    },
    journal(entry: JournalEntry): void {
      events.push(entry);
      if (events.length >= maxBufferedEvents) checkBackpressure();
      schedule();
    },
    /** Resolves once everything queued so far is written (rejects if the database is down). */
    async flush(): Promise<void> {
      while (dirty.size || events.length || writing) {
        if (writing) await writing;
        else if (!(await writeOnce())) break;
      }
    },
    pending: () => ({ calls: dirty.size, events: events.length, outageSince }),
    stats: () => ({ ...stats, pendingCalls: dirty.size, pendingEvents: events.length }),
    async close(): Promise<void> {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = null;
      if (writing) await writing.catch(() => undefined);
    },
  };
}
