import type { DataSource } from 'typeorm';
import type { CallRecordDto, Direction, RecordingState } from '../calls/call-record';
import type { CallsRepository } from '../calls/calls.repository';
import type { Logger } from '../logger';
import { RecordingNotFoundError, RecordingPermanentError, type RecordingSource } from './recording-sources';
import { storedPathFor, type RecordingStorage } from './recording-storage';
import { analyseTalk, readPcm, type TalkAnalytics } from './talk-analytics';

/**
 * The fetch worker: copies each ended call's recording from the PBX into RECORDINGS_DIR.
 *
 * Work list: recordings in state `pending`, or `failed` with a next attempt planned, whose call has
 * ended and whose `next_attempt_at` has come (null: now), oldest first. A row is claimed by one
 * `UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED) RETURNING` that counts the attempt and
 * leases the row (`next_attempt_at` = now + lease), so two processes never fetch the same file and
 * a process that dies mid-download leaves the row to be retried when the lease runs out.
 *
 * One attempt: open the file at the source, stream it into a temporary file (sha-256, size), verify
 * (the size the source announced; a WAV header; `.raw` wrapped into a two-channel WAV), rename it
 * into place, store the format and, for two channels, the talk analytics; then (only now, and only
 * with RECORDINGS_DELETE_FROM_PBX) delete the PBX's copy. Every state change bumps the call's
 * version and publishes it (`call:update`), so live cards show it.
 *
 * Outcomes: a header-only WAV → `empty`. Not found → retried on a short schedule (Asterisk may
 * still be closing the file after hangup), then `missing`. Any other error → `failed`, retried with
 * capped, jittered exponential backoff up to `maxAttempts`, then it stays failed (POST …/retry).
 *
 * Woken by `call:update` of an ended call with a pending recording (after `wakeDelayMs`: the bus
 * publishes before the capture's batched write commits), by the earliest planned retry, and by a
 * poll every `pollMs` as a safety net (other processes' calls, missed wake-ups).
 */

export interface FetchRetryOptions {
  /** first backoff after a failure; doubles per attempt. Default 10 s. */
  baseMs?: number;
  /** the longest backoff. Default 1 h. */
  capMs?: number;
  /** attempts before a failing recording stays `failed`. Default 12 (about 3 h in all). */
  maxAttempts?: number;
  /** waits between attempts that found no file; one more not-found attempt → `missing`. Default 5 s, 15 s, 30 s, 60 s. */
  notFoundDelaysMs?: number[];
  /** 0..1, replaces Math.random for the jitter (tests) */
  random?: () => number;
}

export interface RecordingFetcherOptions {
  ds: DataSource;
  /** null: nothing to fetch from (no ARI, no RECORDINGS_SOURCE_DIR): recordings stay pending */
  source: RecordingSource | null;
  /** false while the source cannot be used (ARI not connected): nothing is claimed, so no attempt is wasted */
  sourceReady?: () => boolean;
  storage: RecordingStorage;
  calls: CallsRepository;
  publish: (call: CallRecordDto) => void;
  /** the call bus, to wake up when a call with a recording ends */
  subscribe?: (listener: (call: CallRecordDto) => void) => () => void;
  logger: Logger;
  deleteFromPbx: boolean;
  retry?: FetchRetryOptions;
  /** default 30 s */
  pollMs?: number;
  /** default 1.5 s */
  wakeDelayMs?: number;
  /** how long a claimed row is left alone before another process may take it over. Default 15 min. */
  leaseMs?: number;
  /** recordings fetched at once. Default 2. */
  concurrency?: number;
  /** replaces readPcm + analyseTalk (tests) */
  analyse?: (file: string, customerChannel: 0 | 1) => Promise<TalkAnalytics>;
  /** only recordings whose file name starts with this (tests: several test files share one database) */
  onlyFileNamePrefix?: string;
}

interface Job {
  id: string;
  call_id: string;
  file_name: string;
  attempts: number;
  direction: Direction;
  started_at: Date;
}

/** the shortest wait between two runs planned from the work list */
const MIN_GAP_MS = 250;

const nowMicrosSql = `(extract(epoch from clock_timestamp()) * 1000000)::bigint`;

/** Which channel of a two-channel recording is the customer (see asterisk-config: MixMonitor runs on the call's first channel). */
export function customerChannelOf(direction: Direction): 0 | 1 {
  // inbound: MixMonitor runs on the trunk channel, whose read side (left) is the customer;
  // outbound and internal: on the calling phone's channel, so the other party is on the right
  return direction === 'inbound' ? 0 : 1;
}

function formatOf(format: string): 'wav' | 'raw' {
  if (format === 'wav' || format === 'wav49') return 'wav';
  if (format === 'raw') return 'raw';
  throw new RecordingPermanentError(`unsupported recording format "${format}" (calltrack takes .wav and .raw)`);
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err)).slice(0, 1000);

export function createRecordingFetcher(o: RecordingFetcherOptions) {
  const { ds, storage, calls, logger } = o;
  const log = logger.child({ component: 'recordings' });
  const baseMs = o.retry?.baseMs ?? 10_000;
  const capMs = o.retry?.capMs ?? 3_600_000;
  const maxAttempts = o.retry?.maxAttempts ?? 12;
  const notFoundDelaysMs = o.retry?.notFoundDelaysMs ?? [5_000, 15_000, 30_000, 60_000];
  const random = o.retry?.random ?? Math.random;
  const pollMs = o.pollMs ?? 30_000;
  const wakeDelayMs = o.wakeDelayMs ?? 1_500;
  const leaseMs = o.leaseMs ?? 15 * 60_000;
  const concurrency = Math.max(1, o.concurrency ?? 2);
  const analyse =
    o.analyse ??
    (async (file: string, customerChannel: 0 | 1) => {
      const { info, pcm } = await readPcm(file);
      return analyseTalk(pcm, { sampleRate: info.sampleRate, channels: 2, customerChannel });
    });

  let started = false;
  let stopping = false;
  let wakeTimer: NodeJS.Timeout | undefined;
  let wakeAt = Infinity;
  let pollTimer: NodeJS.Timeout | undefined;
  let unsubscribe: (() => void) | undefined;
  let active: Promise<number> | null = null;
  let again = false;
  const inFlight = new Set<AbortController>();

  /** The backoff after failed attempt number `attempt` (1-based): equal jitter over min(cap, base·2^(n-1)). */
  function backoffMs(attempt: number): number {
    const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt - 1, 30));
    return Math.round(ceiling / 2 + (ceiling / 2) * random());
  }

  async function claim(): Promise<Job | null> {
    const [rows] = (await ds.query(
      `UPDATE recordings r
          SET attempts = r.attempts + 1, next_attempt_at = clock_timestamp() + $1::double precision * interval '1 millisecond', updated_at = now()
         FROM calls c
        WHERE c.id = r.call_id
          AND r.id = (SELECT q.id FROM recordings q JOIN calls qc ON qc.id = q.call_id
                       WHERE (q.state = 'pending' OR (q.state = 'failed' AND q.next_attempt_at IS NOT NULL))
                         AND (q.next_attempt_at IS NULL OR q.next_attempt_at <= clock_timestamp())
                         AND qc.state = 'ended'
                         AND ($2::text IS NULL OR starts_with(q.file_name, $2))
                       ORDER BY q.created_at, q.id
                       LIMIT 1
                       FOR UPDATE OF q SKIP LOCKED)
       RETURNING r.id, r.call_id, r.file_name, r.attempts, c.direction, c.started_at`,
      [leaseMs, o.onlyFileNamePrefix ?? null],
    )) as [Job[], number];
    return rows[0] ?? null;
  }

  /** Bumps the call's version and publishes it whole, as every writer of a call does. */
  async function publishCall(callId: string): Promise<void> {
    try {
      await ds.query(`UPDATE calls SET version = GREATEST(version + 1, ${nowMicrosSql}), updated_at = now() WHERE id = $1`, [callId]);
      const [call] = await calls.findByIds([callId]);
      if (call) o.publish(call);
    } catch (err) {
      log.warn({ err, callId }, 'could not publish the recording state');
    }
  }

  /** Sets the outcome of an attempt, unless the row changed hands meanwhile (a retry, a purge). */
  async function settle(job: Job, state: RecordingState, fields: { lastError?: string | null; nextInMs?: number | null }) {
    const [rows] = (await ds.query(
      `UPDATE recordings SET state = $2, last_error = $3,
              next_attempt_at = CASE WHEN $4::double precision IS NULL THEN NULL ELSE clock_timestamp() + $4 * interval '1 millisecond' END,
              updated_at = now()
        WHERE id = $1 AND state IN ('pending', 'failed') AND attempts = $5
        RETURNING id`,
      [job.id, state, fields.lastError ?? null, fields.nextInMs ?? null, job.attempts],
    )) as [{ id: string }[], number];
    return rows.length > 0;
  }

  async function attempt(job: Job, signal: AbortSignal): Promise<void> {
    const jobLog = log.child({ recordingId: job.id, callId: job.call_id, fileName: job.file_name, attempt: job.attempts });
    const source = o.source!;
    let opened: Awaited<ReturnType<RecordingSource['open']>> | undefined;
    let tempFile: string | undefined;
    try {
      opened = await source.open(job.file_name);
      const received = await storage.receive(opened.stream, { format: formatOf(opened.format), expectedSize: opened.size, signal });
      tempFile = received.tempFile;
      const { info } = received;
      if (info.dataBytes === 0 || !(info.durationSeconds > 0)) {
        // MixMonitor's `b` option on a call never bridged: a header and no audio
        await storage.discard(tempFile);
        tempFile = undefined;
        const [rows] = (await ds.query(
          `UPDATE recordings SET state = 'empty', source = $2, size_bytes = $3, duration_seconds = 0, channels = $4, sample_rate = $5,
                  last_error = NULL, next_attempt_at = NULL, updated_at = now()
            WHERE id = $1 AND state IN ('pending', 'failed') AND attempts = $6 RETURNING id`,
          [job.id, source.kind, received.sizeBytes, info.channels, info.sampleRate, job.attempts],
        )) as [{ id: string }[], number];
        if (rows.length) {
          jobLog.info({ sizeBytes: received.sizeBytes }, 'recording is empty (no audio)');
          await publishCall(job.call_id);
        }
        return;
      }
      const storedPath = storedPathFor(job.id, job.started_at);
      const file = await storage.commit(tempFile, storedPath);
      tempFile = undefined;
      const customerChannel = info.channels === 2 ? customerChannelOf(job.direction) : null;
      let analytics: TalkAnalytics | null = null;
      if (customerChannel !== null && info.audioFormat === 1 && info.bitsPerSample === 16) {
        try {
          analytics = await analyse(file, customerChannel);
        } catch (err) {
          jobLog.warn({ err }, 'talk analytics failed: the recording is stored without them');
        }
      }
      const [rows] = (await ds.query(
        `UPDATE recordings
            SET state = 'stored', source = $2, stored_path = $3, sha256 = $4, size_bytes = $5, duration_seconds = $6,
                channels = $7, sample_rate = $8, customer_channel = $9, stored_at = now(), purged_at = NULL,
                last_error = NULL, next_attempt_at = NULL, analytics = $10::jsonb,
                agent_talk_share = $11, silence_share = $12, overtalk_share = $13, longest_monologue_seconds = $14,
                updated_at = now()
          WHERE id = $1 AND state IN ('pending', 'failed') AND attempts = $15
          RETURNING id`,
        [
          job.id,
          source.kind,
          storedPath,
          received.sha256,
          received.sizeBytes,
          info.durationSeconds,
          info.channels,
          info.sampleRate,
          customerChannel,
          analytics ? JSON.stringify(analytics) : null,
          analytics?.agentTalkShare ?? null,
          analytics?.silenceShare ?? null,
          analytics?.overtalkShare ?? null,
          analytics?.longestMonologueSeconds ?? null,
          job.attempts,
        ],
      )) as [{ id: string }[], number];
      if (!rows.length) {
        // retried or purged meanwhile: whoever holds the row now decides; this copy is not recorded
        jobLog.warn('the recording row changed during the download: this copy is dropped');
        await storage.remove(storedPath).catch(() => undefined);
        return;
      }
      jobLog.info(
        { sizeBytes: received.sizeBytes, durationSeconds: info.durationSeconds, channels: info.channels, source: source.kind },
        'recording stored',
      );
      if (o.deleteFromPbx) {
        try {
          await deleteFromPbx(source, job.id, job.file_name);
        } catch (err) {
          jobLog.warn({ err: message(err) }, 'stored, but could not delete the recording from the PBX (tried again at a later run)');
        }
      }
      await publishCall(job.call_id);
    } catch (err) {
      opened?.stream.destroy();
      if (tempFile) await storage.discard(tempFile).catch(() => undefined);
      if (signal.aborted) {
        // shutting down: give the attempt back, the next start takes it up at once
        await ds
          .query(`UPDATE recordings SET attempts = attempts - 1, next_attempt_at = NULL WHERE id = $1 AND attempts = $2`, [
            job.id,
            job.attempts,
          ])
          .catch(() => undefined);
        return;
      }
      if (err instanceof RecordingNotFoundError) {
        const wait = notFoundDelaysMs[job.attempts - 1];
        const missing = wait === undefined;
        const changed = await settle(job, missing ? 'missing' : 'pending', { lastError: message(err), nextInMs: missing ? null : wait });
        if (missing) jobLog.warn({ attempts: job.attempts }, 'recording not found at the source: missing');
        else jobLog.info({ retryInMs: wait }, 'recording not found at the source yet');
        if (changed && missing) await publishCall(job.call_id);
        return;
      }
      const permanent = err instanceof RecordingPermanentError;
      const giveUp = permanent || job.attempts >= maxAttempts;
      const wait = giveUp ? null : backoffMs(job.attempts);
      const changed = await settle(job, 'failed', { lastError: message(err), nextInMs: wait });
      jobLog.warn(
        { err: message(err), retryInMs: wait, attempts: job.attempts },
        giveUp ? 'recording fetch failed for good (POST /api/calls/:id/recording/retry to try again)' : 'recording fetch failed',
      );
      if (changed && (job.attempts === 1 || giveUp)) await publishCall(job.call_id);
    }
  }

  /** A stored recording's PBX copy goes, and the row says so; a copy already gone counts as deleted. */
  async function deleteFromPbx(source: RecordingSource, id: string, fileName: string): Promise<void> {
    try {
      await source.remove(fileName);
    } catch (err) {
      if (!(err instanceof RecordingNotFoundError)) throw err;
    }
    await ds.query(`UPDATE recordings SET deleted_from_pbx_at = now(), updated_at = now() WHERE id = $1 AND deleted_from_pbx_at IS NULL`, [
      id,
    ]);
  }

  /**
   * RECORDINGS_DELETE_FROM_PBX: the PBX copies of stored recordings that a delete right after the
   * copy did not remove (the PBX or ARI was down then), a few at a time, oldest first, at every
   * run. A copy already gone counts as deleted. Stored a minute ago at least, so a delete right
   * after a copy (here or on another node) is not raced.
   */
  async function deleteLeftovers(): Promise<void> {
    if (!o.deleteFromPbx || !o.source || stopping) return;
    const source = o.source;
    const rows = (await ds.query(
      `SELECT id, file_name FROM recordings
        WHERE state = 'stored' AND deleted_from_pbx_at IS NULL AND stored_at < now() - interval '1 minute'
          AND ($1::text IS NULL OR starts_with(file_name, $1))
        ORDER BY stored_at LIMIT 20`,
      [o.onlyFileNamePrefix ?? null],
    )) as { id: string; file_name: string }[];
    let failed = 0;
    let lastError = '';
    for (const row of rows) {
      if (stopping) return;
      try {
        await deleteFromPbx(source, row.id, row.file_name);
      } catch (err) {
        failed++;
        lastError = message(err);
      }
    }
    if (failed) {
      log.warn({ recordings: failed, err: lastError }, 'could not delete stored recordings from the PBX; trying again at the next run');
    } else if (rows.length) log.info({ recordings: rows.length }, 'deleted stored recordings left on the PBX');
  }

  /** Claims and fetches until nothing is due, then deletes PBX copies left behind; returns how many attempts were made. */
  async function drain(): Promise<number> {
    if (!o.source) return 0;
    let count = 0;
    const lane = async () => {
      while (!stopping && (o.sourceReady?.() ?? true)) {
        const job = await claim();
        if (!job) return;
        count++;
        const controller = new AbortController();
        inFlight.add(controller);
        try {
          await attempt(job, controller.signal);
        } catch (err) {
          // the outcome could not be written (the database is down): this lane stops; the lease
          // runs out and the row is taken up again
          log.error({ err, recordingId: job.id }, 'could not record the outcome of a recording fetch');
          return;
        } finally {
          inFlight.delete(controller);
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, lane));
    if (o.sourceReady?.() ?? true) await deleteLeftovers();
    return count;
  }

  function wake(delayMs = 0): void {
    if (!started || stopping) return;
    const at = Date.now() + delayMs;
    if (wakeTimer && wakeAt <= at) return;
    if (wakeTimer) clearTimeout(wakeTimer);
    wakeAt = at;
    wakeTimer = setTimeout(kick, delayMs);
    wakeTimer.unref();
  }

  function kick(): void {
    wakeTimer = undefined;
    wakeAt = Infinity;
    if (active) {
      again = true;
      return;
    }
    active = drain()
      .catch((err: unknown) => {
        log.error({ err }, 'recording fetcher failed (retrying at the next poll)');
        return 0;
      })
      .finally(() => {
        active = null;
        if (again) {
          again = false;
          wake(0);
        } else void planNext();
      });
  }

  /** Wakes up for the earliest planned attempt, when it comes before the next poll. */
  async function planNext(): Promise<void> {
    // a source that is down (ARI disconnected) is tried again at the next poll
    if (!started || stopping || !o.source || !(o.sourceReady?.() ?? true)) return;
    try {
      const [row] = (await ds.query(
        `SELECT extract(epoch from (min(r.next_attempt_at) - clock_timestamp())) * 1000 AS ms
           FROM recordings r JOIN calls c ON c.id = r.call_id
          WHERE (r.state = 'pending' OR (r.state = 'failed' AND r.next_attempt_at IS NOT NULL)) AND c.state = 'ended'
            AND ($1::text IS NULL OR starts_with(r.file_name, $1))`,
        [o.onlyFileNamePrefix ?? null],
      )) as { ms: number | string | null }[];
      const ms = row?.ms === null || row?.ms === undefined ? null : Number(row.ms);
      // never sooner than MIN_GAP_MS: a row another process is claiming right now looks due too
      if (ms !== null && ms < pollMs) wake(Math.max(MIN_GAP_MS, Math.ceil(ms)));
    } catch (err) {
      log.debug({ err }, 'could not plan the next recording fetch');
    }
  }

  return {
    /** Starts the worker: an immediate run, the poll, and wake-ups from the call bus. Idempotent. */
    start(): void {
      if (started || !o.source) return;
      started = true;
      stopping = false;
      unsubscribe = o.subscribe?.((call) => {
        if (call.state === 'ended' && call.recording?.state === 'pending') wake(wakeDelayMs);
      });
      pollTimer = setInterval(() => wake(0), pollMs);
      pollTimer.unref();
      wake(0);
      log.info({ source: o.source.describe, deleteFromPbx: o.deleteFromPbx }, 'recording fetcher started');
    },

    /** Stops the worker: downloads in progress are aborted and given back. */
    async stop(): Promise<void> {
      if (!started) return;
      stopping = true;
      unsubscribe?.();
      if (pollTimer) clearInterval(pollTimer);
      if (wakeTimer) clearTimeout(wakeTimer);
      wakeTimer = undefined;
      for (const c of inFlight) c.abort();
      await active?.catch(() => undefined);
      started = false;
    },

    /** Asks for a run now (POST …/retry). */
    wake: () => wake(0),

    /** One run until nothing is due, awaited (tests, the CLI). Returns the attempts made. */
    async runOnce(): Promise<number> {
      while (active) await active.catch(() => undefined);
      const run = drain();
      active = run;
      try {
        return await run;
      } finally {
        active = null;
      }
    },

    backoffMs,
    /** whether a source is configured */
    enabled: () => o.source !== null,
  };
}

export type RecordingFetcher = ReturnType<typeof createRecordingFetcher>;
