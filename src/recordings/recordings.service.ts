import { once } from 'node:events';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { DataSource } from 'typeorm';
import { z } from 'zod';
import type { AuditService } from '../audit/audit.service';
import { RECORDING_STATES, type RecordingState } from '../calls/call-record';
import { accessClause } from '../calls/calls.repository';
import { AppError, conflict, notFound } from '../errors';
import type { Logger } from '../logger';
import type { Principal } from '../users/principal';
import type { RecordingFetcher } from './recording-fetcher';
import type { RecordingStorage } from './recording-storage';
import type { AudioAnalysis } from './audio-analysis';

/**
 * Playback, waveform, retry and the states overview. Every call-scoped operation first asks the
 * calls repository whether the principal may see the call (404 when not, like a call that does not
 * exist): the same access rule as the call record. Files are found from the database row only (ids in, never paths).
 */

export const waveformQuery = z
  .object({ buckets: z.coerce.number().int().min(10, 'must be between 10 and 4000').max(4000, 'must be between 10 and 4000').default(600) })
  .strict();

export const recordingsOverviewQuery = z
  .object({
    state: z.enum(RECORDING_STATES as [RecordingState, ...RecordingState[]]).optional(),
    limit: z.coerce.number().int().min(1, 'must be between 1 and 100').max(100, 'must be between 1 and 100').default(50),
  })
  .strict();

export const recordingDownloadQuery = z.object({ download: z.enum(['1', 'true', '0', 'false']).optional() }).strict();

/** A recording's fetch state, for supervisors (retry, overview). */
export interface RecordingStateDto {
  id: string;
  callId: string;
  callStartedAt: string;
  fileName: string;
  state: RecordingState;
  source: 'ari' | 'dir' | null;
  attempts: number;
  lastError: string | null;
  nextAttemptAt: string | null;
  storedAt: string | null;
  purgedAt: string | null;
  deletedFromPbxAt: string | null;
  sizeBytes: number | null;
  durationSeconds: number | null;
  channels: number | null;
  updatedAt: string;
}

interface StateRow {
  id: string;
  call_id: string;
  call_started_at: Date;
  file_name: string;
  state: RecordingState;
  source: 'ari' | 'dir' | null;
  attempts: number;
  last_error: string | null;
  next_attempt_at: Date | null;
  stored_at: Date | null;
  purged_at: Date | null;
  deleted_from_pbx_at: Date | null;
  size_bytes: string | null;
  duration_seconds: number | null;
  channels: number | null;
  updated_at: Date;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

function toStateDto(r: StateRow): RecordingStateDto {
  return {
    id: r.id,
    callId: r.call_id,
    callStartedAt: r.call_started_at.toISOString(),
    fileName: r.file_name,
    state: r.state,
    source: r.source,
    attempts: r.attempts,
    lastError: r.last_error,
    nextAttemptAt: iso(r.next_attempt_at),
    storedAt: iso(r.stored_at),
    purgedAt: iso(r.purged_at),
    deletedFromPbxAt: iso(r.deleted_from_pbx_at),
    sizeBytes: r.size_bytes === null ? null : Number(r.size_bytes),
    durationSeconds: r.duration_seconds,
    channels: r.channels,
    updatedAt: r.updated_at.toISOString(),
  };
}

const SELECT_STATE = `
  SELECT r.id, r.call_id, c.started_at AS call_started_at, r.file_name, r.state, r.source, r.attempts, r.last_error,
         r.next_attempt_at, r.stored_at, r.purged_at, r.deleted_from_pbx_at, r.size_bytes, r.duration_seconds, r.channels, r.updated_at
    FROM recordings r JOIN calls c ON c.id = r.call_id`;

/** Why there is nothing to play, by state (details.recordingState lets the web app say it in its language). */
const UNAVAILABLE: Record<Exclude<RecordingState, 'stored'>, string> = {
  pending: 'The recording is not available yet: it is being fetched from the PBX (pending)',
  failed: 'The recording is not available: fetching it from the PBX failed (failed)',
  missing: 'The recording is not available: the PBX has no such file (missing)',
  purged: 'The recording was deleted at the end of its retention period (purged)',
  empty: 'The recording is empty: the call was never connected (empty)',
};

/** A stored recording, ready to serve. */
export interface PlayableRecording {
  recordingId: string;
  callId: string;
  file: string;
  size: number;
  lastModified: Date;
  /** strong: the file's sha-256 */
  etag: string;
  /** for Content-Disposition on download */
  downloadName: string;
}

export type RecordingAction = 'recording.listen' | 'recording.download';

export interface RecordingsServiceDeps {
  ds: DataSource;
  audit: AuditService;
  storage: RecordingStorage;
  fetcher: RecordingFetcher;
  /** waveform peaks, computed off the main thread */
  audio: Pick<AudioAnalysis, 'waveform'>;
  logger: Logger;
  /** the overview shows them */
  settings: { source: 'ari' | 'dir' | null; retentionDays: number; deleteFromPbx: boolean };
  /** one audit entry per user, call and action within this window. Default 10 min. */
  auditWindowMs?: number;
}

export type RecordingsService = ReturnType<typeof createRecordingsService>;

export function createRecordingsService(deps: RecordingsServiceDeps) {
  const { ds, audit, storage, fetcher } = deps;
  const auditWindowMs = deps.auditWindowMs ?? 10 * 60_000;
  const audited = new Map<string, number>();
  const waveforms = new Map<string, unknown>();

  /** A stored recording whose file cannot be read: logged (someone removed it), answered as missing. */
  function gone(err: unknown, recordingId: string, callId: string): AppError {
    deps.logger.error({ err, recordingId, callId }, 'a stored recording file cannot be read from RECORDINGS_DIR');
    return new AppError('not-found', UNAVAILABLE.missing, { recordingState: 'missing' });
  }

  /** 404 unless the principal may see the call (the call access rule of calls.repository). */
  async function visible(p: Principal, callId: string): Promise<void> {
    const params: unknown[] = [callId];
    const rows: unknown[] = await ds.query(`SELECT 1 FROM calls c WHERE c.id = $1 AND ${accessClause(p, params)}`, params);
    if (!rows.length) throw notFound('Call');
  }

  /** The stored recording of a call the principal may see, in one query (the playback path). */
  async function stored(p: Principal, callId: string) {
    const params: unknown[] = [callId];
    const [row] = (await ds.query(
      `SELECT c.started_at, r.id, r.state, r.stored_path, r.sha256, r.size_bytes, r.stored_at, r.customer_channel
         FROM calls c LEFT JOIN recordings r ON r.call_id = c.id
        WHERE c.id = $1 AND ${accessClause(p, params)}`,
      params,
    )) as {
      started_at: Date;
      id: string | null;
      state: RecordingState | null;
      stored_path: string | null;
      sha256: string | null;
      size_bytes: string | null;
      stored_at: Date | null;
      customer_channel: 0 | 1 | null;
    }[];
    if (!row) throw notFound('Call'); // not visible is the same answer as not there
    if (!row.id || !row.state) throw notFound('Recording of this call');
    if (row.state !== 'stored' || !row.stored_path) {
      const state = row.state === 'stored' ? 'missing' : row.state;
      throw new AppError('not-found', UNAVAILABLE[state], { recordingState: state });
    }
    return { ...row, id: row.id, stored_path: row.stored_path };
  }

  return {
    /** The stored recording of a call the principal may see, with what HTTP needs to serve it. */
    async playable(p: Principal, callId: string): Promise<PlayableRecording> {
      const row = await stored(p, callId);
      const file = storage.path(row.stored_path);
      // size and time from the row (the verified copy): no stat per request; an older row without them is stat'ed
      let size = row.size_bytes === null ? null : Number(row.size_bytes);
      let lastModified = row.stored_at;
      if (size === null || lastModified === null) {
        try {
          const stat = await fsp.stat(file);
          size = stat.size;
          lastModified = stat.mtime;
        } catch (err) {
          throw gone(err, row.id, callId);
        }
      }
      const day = row.started_at.toISOString().slice(0, 19).replace(/[:T]/g, '-');
      return {
        recordingId: row.id,
        callId,
        file,
        size,
        lastModified,
        etag: `"${row.sha256 ?? `${size.toString(16)}-${lastModified.getTime().toString(16)}`}"`,
        downloadName: `call-${day}-${row.id.slice(0, 8)}.wav`,
      };
    },

    /** Opens bytes start..end of a playable recording (404 `missing` when its file is gone from RECORDINGS_DIR). */
    async open(rec: PlayableRecording, start: number, end: number): Promise<Readable> {
      const stream = fs.createReadStream(rec.file, { start, end, highWaterMark: 64 * 1024 });
      try {
        await once(stream, 'open');
      } catch (err) {
        stream.destroy();
        throw gone(err, rec.recordingId, rec.callId);
      }
      return stream;
    },

    /**
     * Writes `recording.listen` / `recording.download` to the audit log, once per user, call and
     * action per window (a player's seeks and range requests are one listen).
     */
    async recordAccess(p: Principal, rec: PlayableRecording, action: RecordingAction, range: string | null, ip: string | null) {
      const key = `${p.userId}\u0000${rec.callId}\u0000${action}`;
      const now = Date.now();
      const last = audited.get(key);
      if (last !== undefined && now - last < auditWindowMs) return;
      if (audited.size >= 10_000) {
        for (const [k, at] of audited) if (now - at >= auditWindowMs) audited.delete(k);
        if (audited.size >= 10_000) audited.clear();
      }
      audited.set(key, now);
      try {
        await audit.record(p, action, 'call', rec.callId, { recordingId: rec.recordingId, ...(range ? { range } : {}) }, ip);
      } catch (err) {
        audited.delete(key);
        throw err;
      }
    },

    /** Peaks per channel (0..1) in `buckets` slices, for the player's waveform. 16-bit PCM only. */
    async waveform(p: Principal, callId: string, buckets: number) {
      const row = await stored(p, callId);
      const key = `${row.id}:${row.sha256 ?? ''}:${buckets}`;
      const cached = waveforms.get(key);
      if (cached) return cached;
      let wave;
      try {
        wave = await deps.audio.waveform(storage.path(row.stored_path), buckets);
      } catch (err) {
        throw conflict(`No waveform for this recording: ${err instanceof Error ? err.message : String(err)}`);
      }
      const result = {
        durationSeconds: wave.info.durationSeconds,
        sampleRate: wave.info.sampleRate,
        channels: wave.info.channels,
        customerChannel: wave.info.channels === 2 ? row.customer_channel : null,
        peaks: wave.peaks,
      };
      if (waveforms.size >= 32) waveforms.delete(waveforms.keys().next().value!);
      waveforms.set(key, result);
      return result;
    },

    /** Supervisor/admin: a failed or missing recording goes back to pending, fetched now. */
    async retry(p: Principal, callId: string, ip: string | null): Promise<RecordingStateDto> {
      await visible(p, callId);
      const [rows] = (await ds.query(
        `UPDATE recordings SET state = 'pending', attempts = 0, next_attempt_at = NULL, last_error = NULL, updated_at = now()
          WHERE call_id = $1 AND state IN ('failed', 'missing') RETURNING id`,
        [callId],
      )) as [{ id: string }[], number];
      const [row] = (await ds.query(`${SELECT_STATE} WHERE r.call_id = $1`, [callId])) as StateRow[];
      if (!row) throw notFound('Recording of this call');
      if (!rows.length) {
        throw new AppError('conflict', `Only a failed or missing recording can be retried; this one is ${row.state}`, {
          recordingState: row.state,
        });
      }
      await audit.record(p, 'recording.retry', 'call', callId, { recordingId: row.id }, ip);
      fetcher.wake();
      return toStateDto(row);
    },

    /** Supervisor/admin: how many recordings are in each state, and the latest in one state (default: failed and missing). */
    async overview(q: z.output<typeof recordingsOverviewQuery>) {
      const counts = Object.fromEntries(RECORDING_STATES.map((s) => [s, 0])) as Record<RecordingState, number>;
      const rows = (await ds.query(`SELECT state, count(*)::int AS n FROM recordings GROUP BY state`)) as {
        state: RecordingState;
        n: number;
      }[];
      for (const r of rows) counts[r.state] = r.n;
      const states = q.state ? [q.state] : ['failed', 'missing'];
      const items = (await ds.query(`${SELECT_STATE} WHERE r.state = ANY($1::text[]) ORDER BY r.updated_at DESC, r.id LIMIT $2`, [
        states,
        q.limit,
      ])) as StateRow[];
      return { ...deps.settings, counts, items: items.map(toStateDto) };
    },
  };
}
