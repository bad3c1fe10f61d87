import os from 'node:os';
import type { DataSource, EntityManager, QueryRunner } from 'typeorm';
import type { Logger } from '../logger';
import type { CallDraft, CallLegDraft, ContactMatch, RecordingState } from './call-record';

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

/** One journal line: an AMI frame, or one of calltrack's own control events. */
export interface JournalEntry {
  pbxCallId: string | null;
  receivedAt: Date;
  mono: number;
  kind: 'ami' | 'control';
  /** a string is stored as it is (an AMI frame's raw text); anything else as JSON */
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
  /** most journal events written in one batch (default 20 000) */
  maxBatchEvents?: number;
  /** journal events buffered (a slow or absent database) before back-pressure (default 50 000) */
  maxBufferedEvents?: number;
  /**
   * bytes of journal lines buffered before back-pressure (default 8 MiB: ~14 000 typical frames);
   * while the database is down (writes failing), four times as many (still within
   * maxBufferedEvents): pausing the PBX link does not bring the database back, and what is
   * buffered is not lost
   */
  maxBufferedJournalBytes?: number;
  /** calls with changes not yet written before back-pressure (default 5 000) */
  maxBufferedCalls?: number;
  /** after each successful write */
  onApplied?: (calls: AppliedCall[]) => void;
  /**
   * how the journal is written (default: 'copy' on PostgreSQL, 'json' on PGlite, found out with
   * the first write)
   */
  journalFormat?: JournalFormat;
  /** true: the buffer is full, stop reading the PBX; false: drained enough to go on */
  onBackpressure?: (on: boolean) => void;
  /**
   * the journal lines' `source`: the pipeline that saw the events (default: this host, process id
   * and start time; see journalSourceOf)
   */
  journalSource?: string;
  /** retry backoff after a failed write, ms (default 250 → 30 000) */
  retryBaseMs?: number;
  retryCapMs?: number;
}

export type CallStore = ReturnType<typeof createCallStore>;

/**
 * Who journals: this host, process id and start time (`host:pid:base36 ms`). One tracker per
 * source saw its events, so calls:rebuild replays each source apart (see call-rebuild.ts).
 */
export function journalSourceOf(host = os.hostname(), pid = process.pid, startedAt = Date.now()): string {
  return `${host}:${pid}:${startedAt.toString(36)}`;
}

/** PostgreSQL text cannot hold NUL: a payload with one is journalled with U+FFFD instead. */
const noNul = (text: string) => (text.includes('\u0000') ? text.replaceAll('\u0000', '\ufffd') : text);

/** The payload column's text: a string as it is, anything else as JSON. */
function payloadText(payload: unknown): string {
  return noNul(typeof payload === 'string' ? payload : (JSON.stringify(payload) ?? 'null'));
}

/**
 * How journal lines reach the table. 'copy': COPY … FROM STDIN in CSV format (PostgreSQL: about
 * half the server's work of an INSERT … SELECT, the table's write path only). 'json': one INSERT
 * … SELECT FROM json_to_recordset over a JSON array (PGlite, whose socket does not speak the COPY
 * sub-protocol).
 */
export type JournalFormat = 'copy' | 'json';

/** A journal line as up to three strings (written one after the other: no concatenation). */
type Line = [head: string, body: string, tail: string];

/**
 * `,{"s": source, "p": pbx_call_id, "r": received_at in epoch ms, "m": mono, "k": kind, "d": payload
 * text}`; `source` comes as `,{"s":"…",` (the store's, made once).
 */
function jsonLine(e: JournalEntry, source: string): Line {
  // a non-finite mono is sent as text: float8 reads 'NaN' / 'Infinity'
  const mono = Number.isFinite(e.mono) ? String(e.mono) : JSON.stringify(String(e.mono));
  const at = e.receivedAt.getTime();
  return [
    `${source}"p":${JSON.stringify(e.pbxCallId)},"r":${Number.isNaN(at) ? 'null' : at},"m":${mono},"k":${JSON.stringify(e.kind)},"d":`,
    JSON.stringify(payloadText(e.payload)),
    '}',
  ];
}

/** A quoted CSV field: only `"` is special inside (doubled); line ends and backslashes are data. */
function csvQuoted(s: string): string {
  return s.includes('"') ? `"${s.replace(/"/g, '""')}"` : `"${s}"`;
}

/** toISOString of the last time seen (frames of one read share their millisecond). */
let lastIsoMs = NaN;
let lastIso = '';
function isoOf(d: Date): string {
  const ms = d.getTime();
  if (ms !== lastIsoMs) {
    lastIso = Number.isNaN(ms) ? '' : d.toISOString();
    lastIsoMs = ms;
  }
  return lastIso;
}

/**
 * `source,pbx_call_id,received_at,mono,kind,"payload"\n` (CSV: an unquoted empty field is NULL;
 * `source` comes as `"…",`, the store's, made once). A raw
 * AMI frame goes in as it is, quoted: its CR LF line ends need no escaping (in COPY's text format
 * every one of them had to be). A payload with a `\.` line would end the data: journal-payload.ts
 * never hands one over as raw text, and JSON has none.
 */
function copyLine(e: JournalEntry, source: string): Line {
  const text = payloadText(e.payload);
  // the payload's quotes are in head and tail: the text itself is written as it is (a frame's raw
  // text is not copied into a quoted string first)
  return [
    `${source}${e.pbxCallId === null ? '' : csvQuoted(e.pbxCallId)},${isoOf(e.receivedAt)},${e.mono},${e.kind},"`,
    text.includes('"') ? text.replace(/"/g, '""') : text,
    '"\n',
  ];
}

/**
 * A Buffer journal lines are written into, and how many runs of it are still to be written. Once
 * it is full (no longer written into) and every run of it is written, it goes back to the pool.
 */
interface Chunk {
  buf: Buffer;
  runs: number;
  full: boolean;
  /** a run of it was handed to a write that failed on its data: it is never reused */
  spent: boolean;
}

/** Journal lines back to back in a Buffer (part of `chunk`); `ends[i]` is where line i ends. */
interface JournalRun {
  chunk: Chunk;
  buf: Buffer;
  ends: number[];
}

const CHUNK_BYTES = 256 * 1024;
/** journal bytes buffered before back-pressure, by default */
const JOURNAL_BUFFER_BYTES = 8 * 1024 * 1024;
/**
 * chunks kept for reuse: a full buffer's worth (8 MiB), so a database that falls behind and
 * catches up leaves no garbage Buffers, which only a full GC gives back (their JS objects are old)
 */
const POOL_CHUNKS = JOURNAL_BUFFER_BYTES / CHUNK_BYTES;
/** how many times maxBufferedJournalBytes may wait while the database is down */
const OUTAGE_BUFFER_FACTOR = 4;

/**
 * The journal lines waiting to be written, serialized into Buffers as they are queued. Nothing of
 * a queued event stays on the V8 heap (the frame and its JSON die young instead of being promoted
 * while they wait for the database), and a batch is a memory copy, not a string join.
 *
 * The Buffers are reused once written: a new 256 KiB Buffer every ~400 events was memory outside
 * the V8 heap that only a full GC gave back (tens of MiB of RSS at 10k events/s), and malloc
 * churn besides.
 */
class JournalQueue {
  /** closed runs, oldest first */
  private runs: JournalRun[] = [];
  private chunk: Chunk = { buf: Buffer.alloc(0), runs: 0, full: false, spent: false };
  private pool: Buffer[] = [];
  /** the open run: chunk.buf[start, used), its line ends (absolute in the chunk) */
  private start = 0;
  private used = 0;
  private openEnds: number[] = [];
  length = 0;
  /** bytes of the lines queued */
  bytes = 0;

  push([head, body, tail]: Line): void {
    // at most 3 bytes a UTF-16 unit: write directly when that surely fits, else measure
    const room = this.chunk.buf.length - this.used;
    if ((head.length + body.length + tail.length) * 3 > room) {
      const size = Buffer.byteLength(head) + Buffer.byteLength(body) + Buffer.byteLength(tail);
      if (size > room) this.nextChunk(size);
    }
    const buf = this.chunk.buf;
    const from = this.used;
    this.used += buf.write(head, this.used);
    this.used += buf.write(body, this.used);
    this.used += buf.write(tail, this.used);
    this.openEnds.push(this.used);
    this.length++;
    this.bytes += this.used - from;
  }

  /** Up to `max` lines from the head. */
  take(max: number): JournalRun[] {
    this.close();
    const out: JournalRun[] = [];
    let n = 0;
    while (n < max && this.runs.length) {
      const run = this.runs[0]!;
      const want = max - n;
      if (run.ends.length <= want) {
        this.runs.shift();
        out.push(run);
        n += run.ends.length;
      } else {
        const cut = run.ends[want - 1]!;
        out.push({ chunk: run.chunk, buf: run.buf.subarray(0, cut), ends: run.ends.slice(0, want) });
        this.runs[0] = { chunk: run.chunk, buf: run.buf.subarray(cut), ends: run.ends.slice(want).map((e) => e - cut) };
        run.chunk.runs++;
        n += want;
      }
    }
    this.length -= n;
    for (const r of out) this.bytes -= r.buf.length;
    return out;
  }

  /** Puts lines taken earlier back at the head, in order (a failed write). */
  unshift(runs: JournalRun[]): void {
    this.close();
    this.runs.unshift(...runs);
    this.length += lineCount(runs);
    for (const r of runs) this.bytes += r.buf.length;
  }

  /** Runs taken earlier are written (or dropped): their bytes may be reused. */
  release(runs: JournalRun[], spent = false): void {
    for (const r of runs) {
      const c = r.chunk;
      c.runs--;
      if (spent) c.spent = true;
      this.recycle(c);
    }
  }

  /** Each line of the runs alone, as a one-line run (writing lines one by one after a refused batch). */
  singleLines(runs: JournalRun[]): JournalRun[] {
    const out: JournalRun[] = [];
    for (const r of runs) {
      let from = 0;
      for (const end of r.ends) {
        out.push({ chunk: r.chunk, buf: r.buf.subarray(from, end), ends: [end - from] });
        from = end;
      }
      r.chunk.runs += r.ends.length;
    }
    // the lines now stand for the runs they were cut from
    this.release(runs, true);
    return out;
  }

  private close(): void {
    if (!this.openEnds.length) return;
    const start = this.start;
    this.runs.push({ chunk: this.chunk, buf: this.chunk.buf.subarray(start, this.used), ends: this.openEnds.map((e) => e - start) });
    this.chunk.runs++;
    this.openEnds = [];
    this.start = this.used;
  }

  private nextChunk(size: number): void {
    this.close();
    const old = this.chunk;
    old.full = true;
    this.recycle(old);
    const buf = size <= CHUNK_BYTES && this.pool.length ? this.pool.pop()! : Buffer.allocUnsafe(Math.max(CHUNK_BYTES, size));
    this.chunk = { buf, runs: 0, full: false, spent: false };
    this.start = this.used = 0;
  }

  private recycle(c: Chunk): void {
    // a chunk reaches no runs once: runs are only added to the open chunk or cut from outstanding ones
    if (c.full && c.runs === 0 && !c.spent && c.buf.length === CHUNK_BYTES && this.pool.length < POOL_CHUNKS) this.pool.push(c.buf);
  }
}

const lineCount = (runs: JournalRun[]) => runs.reduce((n, r) => n + r.ends.length, 0);

/** The runs' bytes in one Buffer; json lines (`,{…}`) become the array `[{…},{…}]`. */
function joinRuns(runs: JournalRun[], format: JournalFormat): Buffer {
  let size = format === 'json' ? 1 : 0; // the first line's comma becomes '[', and ']' is added
  for (const r of runs) size += r.buf.length;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const r of runs) at += r.buf.copy(out, at);
  if (format === 'json') {
    out[0] = 0x5b; // '['
    out[at] = 0x5d; // ']'
  }
  return out;
}

/** The node-postgres client behind a TypeORM query runner (connected: the one it holds). */
function pgClient<C>(runner: QueryRunner): Promise<C> {
  return (runner as unknown as { connect(): Promise<C> }).connect();
}

const COPY_JOURNAL = `COPY call_events (source, pbx_call_id, received_at, mono, kind, payload) FROM STDIN WITH (FORMAT csv)`;

// The array goes as one text parameter in binary format (a Buffer: its UTF-8 bytes as they are).
const INSERT_JOURNAL = `
  INSERT INTO call_events (source, pbx_call_id, received_at, mono, kind, payload)
  SELECT x.s, x.p, to_timestamp(x.r / 1000.0), x.m, x.k, x.d
    FROM json_to_recordset($1::text::json) AS x(s text, p text, r float8, m float8, k text, d text)`;

/** The parts of a node-postgres connection a COPY FROM STDIN uses. */
interface PgConnection {
  query(text: string): void;
  endCopyFrom(): void;
  /** its socket (node-postgres writes each message with `stream.write` once `stream.writable`) */
  stream: { writable: boolean; cork(): void; uncork(): void; write(data: Buffer): boolean };
}

/**
 * `COPY … FROM STDIN` with its data in Buffers (one CopyData message each), as a node-postgres Submittable
 * (`client.query(submittable)`, the interface pg-query-stream and pg-copy-streams use): the
 * client hands it the connection when the server asks for the data, and reports the end or the
 * error (an ErrorResponse, or the socket's error) through these handlers.
 */
class CopyFromStdin {
  readonly done: Promise<void>;
  private settle!: (err: Error | null) => void;
  constructor(
    private readonly text: string,
    private readonly data: Buffer[],
  ) {
    this.done = new Promise<void>((resolve, reject) => {
      let settled = false;
      this.settle = (err) => {
        if (settled) return;
        settled = true;
        if (err) reject(err);
        else resolve();
      };
    });
  }
  submit(connection: PgConnection): void {
    connection.query(this.text);
  }
  handleCopyInResponse(connection: PgConnection): void {
    const stream = connection.stream;
    if (!stream.writable) return; // node-postgres reports the closed socket as the query's error
    stream.cork();
    for (const chunk of this.data) {
      if (!chunk.length) continue;
      // A CopyData message ('d', its length, the bytes) written as two parts: sendCopyFromChunk
      // would copy each chunk into a message buffer of its own, garbage outside the V8 heap that
      // only a full GC collects.
      const header = Buffer.allocUnsafe(5);
      header[0] = 0x64;
      header.writeInt32BE(chunk.length + 4, 1);
      stream.write(header);
      stream.write(chunk);
    }
    connection.endCopyFrom();
    stream.uncork();
  }
  handleCommandComplete(): void {}
  handleReadyForQuery(): void {
    this.settle(null);
  }
  handleError(err: Error): void {
    this.settle(err);
  }
  // not sent for a COPY FROM; present because the client may call them on its active query
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyData(): void {}
}

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
    FROM json_to_recordset($1::json) AS x(
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
  RETURNING c.id, c.pbx_call_id, c.version, c.topic, c.outcome_id, c.notes, (c.xmax = 0) AS inserted)
  SELECT up.*, o.name AS outcome_name FROM up LEFT JOIN outcomes o ON o.id = up.outcome_id`;

const UPSERT_RECORDINGS = `
  INSERT INTO recordings AS r (id, call_id, file_name, state)
  SELECT x.id, x.call_id, x.file_name, x.state
    FROM json_to_recordset($1::json) AS x(id uuid, call_id uuid, file_name text, state text)
  ON CONFLICT (call_id) DO UPDATE SET file_name = EXCLUDED.file_name,
         state = CASE WHEN r.state IN ('pending', 'empty') THEN EXCLUDED.state ELSE r.state END, updated_at = now()
  RETURNING r.id, r.call_id`;

/**
 * A call's legs as they are now: the legs are upserted by (call_id, seq), and a leg that did not
 * change is not written at all (a delete and re-insert of every leg of the call was about a third
 * of PostgreSQL's time per call write). $1: the legs.
 */
const UPSERT_LEGS = `
  INSERT INTO call_legs AS l (call_id, seq, extension, user_id, ringing_at, answered_at, ended_at, result)
  SELECT x.call_id, x.seq, x.extension, x.user_id, x.ringing_at, x.answered_at, x.ended_at, x.result
    FROM json_to_recordset($1::json) AS x(call_id uuid, seq integer, extension text, user_id uuid,
         ringing_at timestamptz, answered_at timestamptz, ended_at timestamptz, result text)
  ON CONFLICT (call_id, seq) DO UPDATE SET extension = EXCLUDED.extension, user_id = EXCLUDED.user_id,
         ringing_at = EXCLUDED.ringing_at, answered_at = EXCLUDED.answered_at, ended_at = EXCLUDED.ended_at,
         result = EXCLUDED.result
   WHERE (l.extension, l.user_id, l.ringing_at, l.answered_at, l.ended_at, l.result)
         IS DISTINCT FROM (EXCLUDED.extension, EXCLUDED.user_id, EXCLUDED.ringing_at, EXCLUDED.answered_at,
                           EXCLUDED.ended_at, EXCLUDED.result)`;

/**
 * Legs past a call's new count go: $1 the calls' ids, $2 their leg counts. Run only for calls that
 * may have such legs (written before, by another process or a rebuild): legs are only ever added
 * while calltrack tracks a call. `call_id = ANY($1)` probes the (call_id, seq) index; a join with
 * json_to_recordset or unnest made the planner hash-join the whole call_legs table (5.5 ms at 28k
 * legs, every batch, growing with the table; 0.5 ms this way).
 */
const TRIM_LEGS = `
  DELETE FROM call_legs l
   WHERE l.call_id = ANY($1::uuid[]) AND l.seq >= ($2::integer[])[array_position($1::uuid[], l.call_id)]`;

/** What the store last committed of a call: its legs and recording row are rewritten only when changed. */
interface Written {
  /** the call's id in the database */
  callId: string;
  ended: boolean;
  legs: CallLegDraft[];
  legUserIds: (string | null)[];
  /** recordingSignature() of what was written */
  recording: string | null;
  recordingId: string | null;
}

interface BatchResult {
  applied: AppliedCall[];
  written: Array<[string, Written]>;
}

/** Safety bound of the Written map (it holds calls in progress: entries leave when the call is written ended). */
const MAX_WRITTEN = 50_000;

const sameTime = (a: Date | null, b: Date | null) => (a === null ? b === null : b !== null && a.getTime() === b.getTime());

function sameLegs(w: Written, s: CallSnapshot): boolean {
  const a = w.legs;
  const b = s.draft.legs;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (
      x.extension !== y.extension ||
      x.result !== y.result ||
      (w.legUserIds[i] ?? null) !== (s.legUserIds[i] ?? null) ||
      !sameTime(x.ringingAt, y.ringingAt) ||
      !sameTime(x.answeredAt, y.answeredAt) ||
      !sameTime(x.endedAt, y.endedAt)
    ) {
      return false;
    }
  }
  return true;
}

/** The recording row a snapshot implies (null: none), as one comparable string. */
function recordingSignature(s: CallSnapshot): string | null {
  return s.draft.recordingFile && s.recordingId ? `${s.recordingId}\u0000${s.draft.recordingFile}\u0000${recordingState(s.draft)}` : null;
}

/**
 * Write-behind persistence for the capture pipeline: the event path only queues (it never waits on
 * the database); changes are coalesced per call and written in batches, one transaction each,
 * idempotently (unique linkedid + version guard). The journal and the calls are two lanes on two
 * connections: each writes its batches one after the other and neither waits for the other (the
 * journal, cheap to write, never piles up behind a slow calls transaction). A failed write keeps
 * everything queued and retries with backoff; past `maxBufferedEvents` events,
 * `maxBufferedJournalBytes` bytes of them or `maxBufferedCalls` calls it asks the PBX link to pause,
 * loudly, until half is written.
 */
export function createCallStore(o: CallStoreOptions) {
  const { ds, logger } = o;
  const flushDelayMs = o.flushDelayMs ?? 20;
  const maxBatchCalls = o.maxBatchCalls ?? 1000;
  const maxBatchEvents = o.maxBatchEvents ?? 20_000;
  const maxBufferedEvents = o.maxBufferedEvents ?? 50_000;
  const maxBufferedBytes = o.maxBufferedJournalBytes ?? JOURNAL_BUFFER_BYTES;
  const maxBufferedCalls = o.maxBufferedCalls ?? 5000;
  const retryBaseMs = o.retryBaseMs ?? 250;
  const retryCapMs = o.retryCapMs ?? 30_000;

  const source = noNul(o.journalSource ?? journalSourceOf());
  const copySource = `${csvQuoted(source)},`;
  const jsonSource = `,{"s":${JSON.stringify(source)},`;
  const lineOf = (e: JournalEntry, f: JournalFormat) => (f === 'copy' ? copyLine(e, copySource) : jsonLine(e, jsonSource));
  const dirty = new Map<string, CallSnapshot>();
  const events = new JournalQueue();
  let format: JournalFormat | null = o.journalFormat ?? null;
  /** journal entries queued before the format is known (until the first write) */
  let early: JournalEntry[] = [];
  const queued = () => events.length + early.length;
  /** what this store last committed of each call in progress (legs, recording row), by pbx call id */
  const written = new Map<string, Written>();
  let timer: NodeJS.Timeout | null = null;
  let outageSince: Date | null = null;
  let lastOutageLog = 0;
  let backpressure = false;
  let closed = false;
  const stats = { callsWritten: 0, eventsWritten: 0, batches: 0, failedBatches: 0 };

  function schedule(delay = flushDelayMs): void {
    if (timer || closed) return;
    timer = setTimeout(() => {
      timer = null;
      void journalLane.drain();
      void callsLane.drain();
    }, delay);
  }

  /** a slow database gets back-pressure early; one that is down gets a longer buffer */
  const byteLimit = () => (outageSince ? OUTAGE_BUFFER_FACTOR * maxBufferedBytes : maxBufferedBytes);

  function checkBackpressure(): void {
    if (!backpressure && (queued() >= maxBufferedEvents || events.bytes >= byteLimit() || dirty.size >= maxBufferedCalls)) {
      backpressure = true;
      logger.error(
        { bufferedEvents: queued(), bufferedBytes: events.bytes, bufferedCalls: dirty.size },
        'CALL CAPTURE BACK-PRESSURE: the database is not keeping up; pausing the PBX link until the buffer drains',
      );
      o.onBackpressure?.(true);
    } else if (backpressure && queued() <= maxBufferedEvents / 2 && events.bytes <= byteLimit() / 2 && dirty.size <= maxBufferedCalls / 2) {
      backpressure = false;
      logger.warn({ bufferedEvents: queued() }, 'call capture buffer drained; resuming the PBX link');
      o.onBackpressure?.(false);
    }
  }

  /** The journal lines: one statement (no transaction needed), on a connection of the pool. */
  async function writeJournal(journal: JournalRun[], f: JournalFormat): Promise<void> {
    if (f === 'json') {
      await ds.query(INSERT_JOURNAL, [joinRuns(journal, f)]);
      return;
    }
    // TypeORM's PostgresQueryRunner holds a pg client
    const runner = ds.createQueryRunner();
    try {
      const client = await pgClient<{ query(q: CopyFromStdin): unknown }>(runner);
      const copy = new CopyFromStdin(
        COPY_JOURNAL,
        journal.map((r) => r.buf),
      );
      client.query(copy);
      await copy.done;
    } finally {
      await runner.release();
    }
  }

  /** PGlite says so in version(); anything else is PostgreSQL. */
  async function detectFormat(): Promise<JournalFormat> {
    const rows: { version: string }[] = await ds.query('SELECT version() AS version');
    return /pglite/i.test(rows[0]?.version ?? '') ? 'json' : 'copy';
  }

  /**
   * One of the calls lane's statements, on the transaction's connection. On PostgreSQL it is a
   * named prepared statement: the server parses and plans it once per connection, then keeps a
   * generic plan (a perf profile of the server at 10,000 events/s had parsing and planning at about
   * a quarter of its CPU, not all of it these statements'). Not on PGlite, whose one session serves
   * every connection (two connections preparing the same name would clash).
   */
  async function run<T>(m: EntityManager, name: string, text: string, values: unknown[]): Promise<T[]> {
    if (format !== 'copy') return (await m.query(text, values)) as T[];
    const client = await pgClient<{ query(q: { name: string; text: string; values: unknown[] }): Promise<{ rows: T[] }> }>(m.queryRunner!);
    return (await client.query({ name, text, values })).rows;
  }

  async function writeCalls(m: EntityManager, calls: CallSnapshot[]): Promise<BatchResult> {
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
      inserted: boolean;
    }[] = await run(m, 'calltrack_upsert_calls', UPSERT_CALLS, [JSON.stringify(rows)]);
    if (!applied.length) return { applied: [], written: [] };
    const byPbx = new Map(calls.map((s) => [s.draft.pbxCallId, s]));
    // legs and recording rows are rewritten only when they changed since this store last wrote them
    const legsChanged = applied.filter((a) => {
      const w = written.get(a.pbx_call_id);
      return !(w && w.callId === a.id && sameLegs(w, byPbx.get(a.pbx_call_id)!));
    });
    const legs = legsChanged.flatMap((a) => {
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
    // legs past the new count: only in a row this store did not insert, and did not write itself
    // with as few legs
    const trims = legsChanged.filter((a) => {
      if (a.inserted) return false;
      const w = written.get(a.pbx_call_id);
      return !(w && w.callId === a.id && w.legs.length <= byPbx.get(a.pbx_call_id)!.draft.legs.length);
    });
    if (trims.length) {
      await m.query(TRIM_LEGS, [trims.map((a) => a.id), trims.map((a) => byPbx.get(a.pbx_call_id)!.draft.legs.length)]);
    }
    if (legs.length) await run(m, 'calltrack_upsert_legs', UPSERT_LEGS, [JSON.stringify(legs)]);
    const recordings = applied
      .map((a) => ({ a, s: byPbx.get(a.pbx_call_id)! }))
      .filter(({ a, s }) => {
        const sig = recordingSignature(s);
        const w = written.get(a.pbx_call_id);
        return sig !== null && !(w && w.callId === a.id && w.recording === sig);
      })
      .map(({ a, s }) => ({ id: s.recordingId, call_id: a.id, file_name: s.draft.recordingFile, state: recordingState(s.draft) }));
    const recordingIds = new Map<string, string>();
    if (recordings.length) {
      const rows2 = await run<{ id: string; call_id: string }>(m, 'calltrack_upsert_recordings', UPSERT_RECORDINGS, [
        JSON.stringify(recordings),
      ]);
      for (const r of rows2) recordingIds.set(r.call_id, r.id);
    }
    const out: AppliedCall[] = [];
    const writtenNow: Array<[string, Written]> = [];
    for (const a of applied) {
      const s = byPbx.get(a.pbx_call_id)!;
      const w = written.get(a.pbx_call_id);
      const recordingId = recordingIds.get(a.id) ?? (w && w.callId === a.id ? w.recordingId : null);
      out.push({
        id: a.id,
        pbxCallId: a.pbx_call_id,
        version: Number(a.version),
        topic: a.topic,
        outcomeId: a.outcome_id,
        outcomeName: a.outcome_name,
        notes: a.notes,
        recordingId,
      });
      writtenNow.push([
        a.pbx_call_id,
        {
          callId: a.id,
          ended: s.draft.state === 'ended',
          legs: s.draft.legs,
          legUserIds: s.legUserIds,
          recording: recordingSignature(s),
          recordingId,
        },
      ]);
    }
    return { applied: out, written: writtenNow };
  }

  /** After a commit: what the database now holds of each call written (ended calls are forgotten). */
  function remember(rows: Array<[string, Written]>): void {
    if (written.size > MAX_WRITTEN) written.clear();
    for (const [pbxCallId, w] of rows) {
      if (w.ended) written.delete(pbxCallId);
      else written.set(pbxCallId, w);
    }
  }

  const isDataError = (err: unknown) => /^(22|23)/.test(String((err as { code?: string }).code ?? ''));

  /** The journal lane: the next batch of lines, in arrival order. false: nothing to write. */
  async function writeJournalOnce(lane: Lane): Promise<boolean> {
    if (format === null) {
      try {
        format = await detectFormat();
      } catch (err) {
        retryLater(lane, err);
        throw err;
      }
      const f = format;
      for (const e of early) events.push(lineOf(e, f));
      early = [];
    }
    const f = format;
    const journal = events.take(maxBatchEvents);
    const journalLines = lineCount(journal);
    if (!journalLines) return false;
    try {
      await writeJournal(journal, f);
      stats.eventsWritten += journalLines;
      events.release(journal);
    } catch (err) {
      if (!isDataError(err)) {
        events.unshift(journal);
        retryLater(lane, err);
        throw err;
      }
      // one bad line must not block the others: write them one by one, log and drop the bad ones
      stats.failedBatches += 1;
      if (journalLines > 1) for (const line of events.singleLines(journal)) await writeLineAlone(line, f);
      else {
        refused(err, { journal: journal[0]?.buf.toString('utf8', 0, 200) });
        events.release(journal, true);
      }
    }
    succeeded(lane);
    return true;
  }

  /** The calls lane: the next batch of changed calls, in one transaction. false: nothing to write. */
  async function writeCallsOnce(lane: Lane): Promise<boolean> {
    const calls = [...dirty.values()].slice(0, maxBatchCalls);
    if (!calls.length) return false;
    for (const s of calls) dirty.delete(s.draft.pbxCallId);
    try {
      const { applied, written: writtenNow } = await ds.transaction((m) => writeCalls(m, calls));
      remember(writtenNow);
      stats.callsWritten += calls.length;
      if (applied.length) o.onApplied?.(applied);
    } catch (err) {
      if (!isDataError(err)) {
        // put the calls back, keeping any newer snapshot queued meanwhile
        for (const s of calls) if (!dirty.has(s.draft.pbxCallId)) dirty.set(s.draft.pbxCallId, s);
        retryLater(lane, err);
        throw err;
      }
      stats.failedBatches += 1;
      if (calls.length > 1) for (const s of calls) await writeCallAlone(s);
      else refused(err, { pbxCallId: calls[0]?.draft.pbxCallId });
    }
    succeeded(lane);
    return true;
  }

  /** After a batch written (or its refused rows dropped): the lane is healthy again. */
  function succeeded(lane: Lane): void {
    stats.batches += 1;
    lane.failures = 0;
    lane.retryAt = 0;
    if (outageSince && journalLane.failures === 0 && callsLane.failures === 0) {
      logger.warn({ since: outageSince }, 'database writes recovered; buffered calls and events are being written');
      outageSince = null;
    }
    checkBackpressure();
  }

  function refused(err: unknown, what: { pbxCallId?: string; journal?: string }): void {
    logger.error({ err, ...what }, 'a call or journal event was refused by the database; dropped');
  }

  /** A failed write: log (at most every 10 s) and try again with backoff; everything stays queued. */
  function retryLater(lane: Lane, err: unknown): void {
    lane.failures += 1;
    stats.failedBatches += 1;
    outageSince ??= new Date();
    if (Date.now() - lastOutageLog > 10_000) {
      lastOutageLog = Date.now();
      logger.error({ err, bufferedCalls: dirty.size, bufferedEvents: queued() }, 'database write failed; buffering calls and retrying');
    }
    checkBackpressure();
    const delay = Math.min(retryCapMs, retryBaseMs * 2 ** Math.min(lane.failures, 16)) * (0.5 + Math.random() / 2);
    // new work does not bring the retry forward (before, every queued change tried again 20 ms later)
    lane.retryAt = Date.now() + delay;
    setTimeout(() => {
      if (!closed) void lane.drain(true);
    }, delay).unref?.();
  }

  /** One call in a transaction of its own (after its batch was refused): written, or logged and dropped. */
  async function writeCallAlone(call: CallSnapshot): Promise<void> {
    try {
      const { applied, written: writtenNow } = await ds.transaction((m) => writeCalls(m, [call]));
      remember(writtenNow);
      stats.callsWritten += 1;
      if (applied.length) o.onApplied?.(applied);
    } catch (err) {
      refused(err, { pbxCallId: call.draft.pbxCallId });
    }
  }

  /** One journal line alone (after its batch was refused): written, or logged and dropped. */
  async function writeLineAlone(line: JournalRun, f: JournalFormat): Promise<void> {
    try {
      await writeJournal([line], f);
      stats.eventsWritten += 1;
    } catch (err) {
      refused(err, { journal: line.buf.toString('utf8', 0, 200) });
    } finally {
      events.release([line], true);
    }
  }

  /**
   * A lane writes its batches one after the other until nothing is left. drain() starts it (or
   * joins the run in progress) and resolves with the error that stopped it, if any (the retry is
   * already scheduled). After a failure it waits for its retry: drain() does nothing before
   * `retryAt` unless forced (the retry itself, flush()).
   */
  interface Lane {
    failures: number;
    retryAt: number;
    drain(force?: boolean): Promise<unknown>;
    /** the run in progress, if any */
    running(): Promise<unknown>;
  }

  /**
   * `backlog()`: enough is queued to write the next batch at once; below that, what is left waits
   * for the flush delay (at 10k events/s, writing each batch the moment the previous one finished
   * made ~200 small batches a second, each with its round trips and commit).
   */
  function createLane(once: (lane: Lane) => Promise<boolean>, backlog: () => boolean): Lane {
    let running: Promise<unknown> | null = null;
    const lane: Lane = {
      failures: 0,
      retryAt: 0,
      drain(force = false) {
        if (!running && !force && Date.now() < lane.retryAt) return Promise.resolve(null);
        running ??= (async () => {
          try {
            while ((await once(lane)) && backlog()) {
              /* keep writing while there is a backlog */
            }
            return null;
          } catch (err) {
            return err;
          } finally {
            running = null;
            // whatever is left goes after the flush delay (after a failure, at the retry)
            if (dirty.size || queued()) schedule();
          }
        })();
        return running;
      },
      running: () => running ?? Promise.resolve(null),
    };
    return lane;
  }

  const journalLane = createLane(writeJournalOnce, () => queued() >= maxBatchEvents / 20);
  const callsLane = createLane(writeCallsOnce, () => dirty.size >= maxBatchCalls / 10);

  return {
    /** the `source` of the journal lines this store writes */
    source,
    saveCall(snapshot: CallSnapshot): void {
      dirty.set(snapshot.draft.pbxCallId, snapshot);
      if (dirty.size >= maxBufferedCalls) checkBackpressure();
      schedule();
    },
    journal(entry: JournalEntry): void {
      if (format !== null) events.push(lineOf(entry, format));
      else early.push(entry);
      if (queued() >= maxBufferedEvents || events.bytes >= byteLimit()) checkBackpressure();
      schedule();
    },
    /** Resolves once everything queued so far is written (rejects if the database is down). */
    async flush(): Promise<void> {
      // drain() joins a batch in flight (its rows have left the queues already)
      do {
        const [journalError, callsError] = await Promise.all([journalLane.drain(true), callsLane.drain(true)]);
        if (journalError) throw journalError;
        if (callsError) throw callsError;
      } while (dirty.size || queued());
    },
    pending: () => ({ calls: dirty.size, events: queued(), outageSince }),
    stats: () => ({
      ...stats,
      pendingCalls: dirty.size,
      pendingEvents: queued(),
      pendingJournalBytes: events.bytes,
      journalFormat: format,
    }),
    async close(): Promise<void> {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = null;
      await Promise.all([journalLane.running(), callsLane.running()]);
    },
  };
}
