import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { AriClient } from '../asterisk/ari.client';
import { AppError } from '../errors';
import { resolveInside } from './recording-storage';
import type { RecordingSource as SourceKind } from './recording.entity';

/**
 * Where recordings come from, by the file name the PBX gave them (`calltrack/in-1795715947.0.wav`,
 * relative to Asterisk's recordings directory):
 * - `ari`: Asterisk's stored recordings over ARI (`GET /ari/recordings/stored/{name}/file`; the
 *   name is the file name without its extension);
 * - `dir`: a directory shared with Asterisk (docker-compose: RECORDINGS_SOURCE_DIR), the file at
 *   `<dir>/<file name>`, which must stay inside the directory.
 */

export interface SourceFile {
  stream: Readable;
  /** the format as the source reports it (`wav`, `raw`, `WAV` …), lower-cased */
  format: string;
  /** bytes the source says the file has (Content-Length, stat); null when it does not say */
  size: number | null;
}

/** The source has no such recording (yet: Asterisk may still be closing it). */
export class RecordingNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecordingNotFoundError';
  }
}

/** A problem retrying cannot fix (an unsupported format, a name that leaves the directory). */
export class RecordingPermanentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecordingPermanentError';
  }
}

export interface RecordingSource {
  kind: SourceKind;
  /** what /health and logs say about it */
  describe: string;
  open(fileName: string): Promise<SourceFile>;
  /** Deletes the PBX's copy (RECORDINGS_DELETE_FROM_PBX, after a verified copy). */
  remove(fileName: string): Promise<void>;
}

const extensionOf = (fileName: string) => {
  const m = /\.([A-Za-z0-9]+)$/.exec(fileName);
  return m ? m[1]!.toLowerCase() : '';
};

/** The ARI stored-recording name: the file name without its extension. */
export function ariName(fileName: string): string {
  return fileName.replace(/\.[A-Za-z0-9]+$/, '');
}

export function ariSource(ari: AriClient): RecordingSource {
  const call = async <T>(run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (err) {
      if (err instanceof AppError && err.code === 'not-found') throw new RecordingNotFoundError(err.message);
      if (err instanceof AppError && err.code === 'validation') throw new RecordingPermanentError(err.message);
      throw err;
    }
  };
  return {
    kind: 'ari',
    describe: 'ARI',
    async open(fileName) {
      const name = ariName(fileName);
      const meta = await call(() => ari.storedRecording(name));
      const stream = await call(() => ari.downloadRecording(name));
      const length = Number((stream as Readable & { headers?: Record<string, unknown> }).headers?.['content-length']);
      return { stream, format: meta.format.toLowerCase(), size: Number.isSafeInteger(length) && length >= 0 ? length : null };
    },
    async remove(fileName) {
      await call(() => ari.deleteRecording(ariName(fileName)));
    },
  };
}

export function directorySource(root: string): RecordingSource {
  const dir = path.resolve(root);
  const locate = (fileName: string) => {
    try {
      return resolveInside(dir, fileName);
    } catch {
      throw new RecordingPermanentError(`recording file name ${JSON.stringify(fileName)} leaves ${dir}`);
    }
  };
  return {
    kind: 'dir',
    describe: `directory ${dir}`,
    async open(fileName) {
      const file = locate(fileName);
      let stat: fs.Stats;
      try {
        stat = await fsp.stat(file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new RecordingNotFoundError(`${fileName} not found in ${dir}`);
        throw err;
      }
      if (!stat.isFile()) throw new RecordingPermanentError(`${fileName} in ${dir} is not a file`);
      // read exactly the size seen now: a file still growing shows up as a size mismatch, not a torn copy
      const stream = stat.size > 0 ? fs.createReadStream(file, { start: 0, end: stat.size - 1 }) : Readable.from([]);
      return { stream, format: extensionOf(fileName), size: stat.size };
    },
    async remove(fileName) {
      await fsp.rm(locate(fileName), { force: true });
    },
  };
}

/**
 * Demo mode: every recording name maps to one of the WAV files shipped with the demo (an outbound
 * call's `out-…` name to an outbound one, when there is one; chosen by the name, so a call always
 * gets the same file). Lets a quick-start user play recordings.
 */
export function demoSource(files: string[]): RecordingSource {
  if (files.length === 0) throw new Error('demo recordings: no files');
  const outbound = files.filter((f) => path.basename(f).includes('outbound'));
  const others = files.filter((f) => !outbound.includes(f));
  return {
    kind: 'dir',
    describe: 'demo recordings',
    async open(fileName) {
      const isOutbound = /(^|\/)out-/.test(fileName);
      const group = (isOutbound ? outbound : others).length ? (isOutbound ? outbound : others) : files;
      let h = 0;
      for (const ch of fileName) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
      const file = group[h % group.length]!;
      const stat = await fsp.stat(file);
      return { stream: fs.createReadStream(file), format: extensionOf(file), size: stat.size };
    },
    async remove() {
      // the shipped files stay
    },
  };
}
