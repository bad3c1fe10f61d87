import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Router, type Request, type Response } from 'express';
import { principal, requireAuth, requireRole } from '../http/auth.middleware';
import { parse, uuidParam } from '../http/validate';
import { parseRange, type RangeResult } from './http-range';
import {
  recordingDownloadQuery,
  recordingsOverviewQuery,
  waveformQuery,
  type PlayableRecording,
  type RecordingsService,
} from './recordings.service';

/**
 * GET /api/calls/:id/recording serves the WAV with byte ranges, so an `<audio>` element can seek:
 * `Accept-Ranges: bytes`, 206 + `Content-Range` for one range (several are coalesced into one, see
 * http-range.ts), 416 + `Content-Range: bytes *\/<size>` for a malformed or unsatisfiable range,
 * `If-Range` (ETag or date) falls back to the whole file when the recording changed. ETag is the
 * file's sha-256. `Cache-Control: private`: a shared cache must never keep a recording.
 * HEAD answers the same headers without a body (and without an audit entry: nothing was heard).
 */
export function recordingsRoutes(deps: { recordings: RecordingsService }): Router {
  const { recordings } = deps;
  const router = Router();
  const supervisors = requireRole('supervisor', 'admin');

  router.get('/api/calls/:id/recording', requireAuth, async (req, res) => {
    const { id } = parse(uuidParam, req.params, 'params');
    const q = parse(recordingDownloadQuery, req.query, 'query');
    const download = q.download === '1' || q.download === 'true';
    const rec = await recordings.playable(principal(req), id);
    const range = ifRangeHolds(req, rec) ? parseRange(req.headers.range, rec.size) : ({ kind: 'full' } as RangeResult);
    const common = {
      'Accept-Ranges': 'bytes',
      'Cache-Control': 'private',
      ETag: rec.etag,
      'Last-Modified': rec.lastModified.toUTCString(),
      'X-Content-Type-Options': 'nosniff',
    };
    if (range.kind === 'unsatisfiable') {
      res.set({ ...common, 'Content-Range': `bytes */${rec.size}` });
      res.status(416).json({
        error: {
          code: 'range-not-satisfiable',
          message: `Range ${JSON.stringify(req.headers.range)} is not satisfiable (${rec.size} bytes)`,
        },
      });
      return;
    }
    const { start, end } = range.kind === 'partial' ? range.range : { start: 0, end: rec.size - 1 };
    const body = req.method !== 'HEAD' && rec.size > 0;
    // opened before any header is set: a file gone from RECORDINGS_DIR is a plain JSON 404
    const file = body ? await recordings.open(rec, start, end) : null;
    if (file) {
      try {
        await recordings.recordAccess(
          principal(req),
          rec,
          download ? 'recording.download' : 'recording.listen',
          range.kind === 'partial' ? `${start}-${end}` : null,
          req.ip ?? null,
        );
      } catch (err) {
        file.destroy();
        throw err;
      }
    }
    res.set({
      ...common,
      'Content-Type': 'audio/wav',
      'Content-Disposition': `${download ? 'attachment' : 'inline'}; filename="${rec.downloadName}"`,
      'Content-Length': String(Math.max(0, end - start + 1)),
      ...(range.kind === 'partial' && { 'Content-Range': `bytes ${start}-${end}/${rec.size}` }),
    });
    res.status(range.kind === 'partial' ? 206 : 200);
    if (!file) {
      res.end();
      return;
    }
    await streamTo(res, file);
  });

  router.get('/api/calls/:id/recording/waveform', requireAuth, async (req, res) => {
    const { id } = parse(uuidParam, req.params, 'params');
    const { buckets } = parse(waveformQuery, req.query, 'query');
    res.setHeader('Cache-Control', 'private');
    res.json(await recordings.waveform(principal(req), id, buckets));
  });

  router.post('/api/calls/:id/recording/retry', supervisors, async (req, res) => {
    const { id } = parse(uuidParam, req.params, 'params');
    res.status(202).json(await recordings.retry(principal(req), id, req.ip ?? null));
  });

  router.get('/api/recordings', supervisors, async (req, res) => {
    res.json(await recordings.overview(parse(recordingsOverviewQuery, req.query, 'query')));
  });

  return router;
}

/**
 * If-Range (RFC 9110 §13.1.5): the range applies only if the validator still matches — a strong
 * ETag compared exactly, or a date equal to Last-Modified; otherwise the whole file is sent.
 */
function ifRangeHolds(req: Request, rec: PlayableRecording): boolean {
  const ifRange = req.get('if-range');
  if (!ifRange || !req.headers.range) return true;
  const value = ifRange.trim();
  if (value.startsWith('"') || value.startsWith('W/')) return value === rec.etag;
  const date = Date.parse(value);
  return !Number.isNaN(date) && Math.floor(rec.lastModified.getTime() / 1000) === Math.floor(date / 1000);
}

/** Streams an opened file to the answer; a client that goes away just ends it. */
async function streamTo(res: Response, file: Readable): Promise<void> {
  try {
    await pipeline(file, res);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ECONNRESET' || res.destroyed) return;
    if (!res.headersSent) throw err;
    res.destroy(err as Error);
  }
}
