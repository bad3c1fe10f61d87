import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseWavHeader, wavHeader, WavError, type WavInfo } from './wav';

/**
 * The recordings directory (RECORDINGS_DIR): a download goes into `.incoming/` while it streams
 * (sha-256 and size computed on the way), is verified (size, WAV header, duration), synced, and
 * only then renamed into `<yyyy>/<mm>/<recording id>.wav`. Paths come from recording ids only,
 * never from anything a user or the PBX sent.
 */

/** `.raw` from MixMonitor's `D` option: signed 16-bit little-endian, 8 kHz, two interleaved channels. */
export const RAW_FORMAT = { channels: 2, sampleRate: 8000, bitsPerSample: 16 } as const;

const STORED_PATH = /^\d{4}\/\d{2}\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.wav$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A verification that failed: the copy is not what the PBX has (retried with backoff). */
export class RecordingVerifyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecordingVerifyError';
  }
}

/** `<yyyy>/<mm>/<id>.wav` (UTC month of `at`), relative to the recordings directory. */
export function storedPathFor(recordingId: string, at: Date): string {
  const id = recordingId.toLowerCase();
  if (!UUID.test(id)) throw new Error(`not a recording id: ${recordingId}`);
  return `${at.getUTCFullYear()}/${String(at.getUTCMonth() + 1).padStart(2, '0')}/${id}.wav`;
}

/**
 * The absolute path of a stored recording. `storedPath` comes from the database, and is checked
 * anyway: its shape, and that it resolves inside `root`.
 */
export function resolveStored(root: string, storedPath: string): string {
  if (!STORED_PATH.test(storedPath)) throw new Error(`stored_path has an unexpected shape: ${JSON.stringify(storedPath)}`);
  return resolveInside(root, storedPath);
}

/** `relative` resolved under `root`; throws when it would leave it (`..`, an absolute path). */
export function resolveInside(root: string, relative: string): string {
  const base = path.resolve(root);
  const full = path.resolve(base, relative);
  if (relative.includes('\0') || full === base || !full.startsWith(base + path.sep)) {
    throw new Error(`path ${JSON.stringify(relative)} leaves ${base}`);
  }
  return full;
}

export interface ReceivedRecording {
  /** the temporary file in `.incoming/`, complete and synced */
  tempFile: string;
  sizeBytes: number;
  sha256: string;
  info: WavInfo;
}

export interface ReceiveOptions {
  /** `wav` is checked as it is; `raw` is wrapped into a two-channel WAV */
  format: 'wav' | 'raw';
  /** what the source said the file's size is (Content-Length, stat); checked when known */
  expectedSize: number | null;
  signal?: AbortSignal;
}

export function createRecordingStorage(root: string) {
  const dir = path.resolve(root);
  const incoming = path.join(dir, '.incoming');

  async function fsyncPath(file: string): Promise<void> {
    const fh = await fsp.open(file, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  async function hashFile(file: string): Promise<string> {
    const hash = crypto.createHash('sha256');
    await pipeline(fs.createReadStream(file), hash);
    return hash.digest('hex');
  }

  async function readHead(file: string, size: number): Promise<Buffer> {
    const fh = await fsp.open(file, 'r');
    try {
      const head = Buffer.alloc(Math.min(size, 4096));
      const { bytesRead } = await fh.read(head, 0, head.length, 0);
      return head.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  }

  return {
    dir,

    /**
     * Streams `input` into a temporary file and verifies it. A `raw` input becomes a WAV: the
     * header is written in front once the length is known (a trailing partial frame is cut).
     * Throws RecordingVerifyError (the temporary file removed) when the copy is not whole.
     */
    async receive(input: Readable, o: ReceiveOptions): Promise<ReceivedRecording> {
      await fsp.mkdir(incoming, { recursive: true });
      const tempFile = path.join(incoming, `${crypto.randomUUID()}.part`);
      const hash = crypto.createHash('sha256');
      let received = 0;
      const header = o.format === 'raw' ? wavHeader({ ...RAW_FORMAT, dataBytes: 0 }) : null;
      const count = new Transform({
        transform(chunk: Buffer, _enc, done) {
          received += chunk.length;
          if (!header) hash.update(chunk);
          done(null, chunk);
        },
      });
      try {
        const out = fs.createWriteStream(tempFile, { flags: 'wx' });
        if (header) out.write(header); // a placeholder, rewritten below with the real length
        await pipeline(input, count, out, { signal: o.signal });
        if (o.expectedSize !== null && received !== o.expectedSize) {
          throw new RecordingVerifyError(`incomplete download: ${received} of ${o.expectedSize} bytes`);
        }
        let sizeBytes = received;
        let sha256: string;
        if (header) {
          const frame = RAW_FORMAT.channels * (RAW_FORMAT.bitsPerSample / 8);
          const dataBytes = received - (received % frame);
          const fh = await fsp.open(tempFile, 'r+');
          try {
            await fh.write(wavHeader({ ...RAW_FORMAT, dataBytes }), 0, 44, 0);
            await fh.truncate(44 + dataBytes);
            await fh.sync();
          } finally {
            await fh.close();
          }
          sizeBytes = 44 + dataBytes;
          sha256 = await hashFile(tempFile);
        } else {
          await fsyncPath(tempFile);
          sha256 = hash.digest('hex');
        }
        let info: WavInfo;
        try {
          info = parseWavHeader(await readHead(tempFile, sizeBytes), sizeBytes);
        } catch (err) {
          if (err instanceof WavError) throw new RecordingVerifyError(`not a usable WAV file: ${err.message}`);
          throw err;
        }
        return { tempFile, sizeBytes, sha256, info };
      } catch (err) {
        await fsp.rm(tempFile, { force: true });
        throw err;
      }
    },

    /** Moves a verified temporary file to its place (`storedPath`) and syncs the directory. */
    async commit(tempFile: string, storedPath: string): Promise<string> {
      const target = resolveStored(dir, storedPath);
      await fsp.mkdir(path.dirname(target), { recursive: true });
      await fsp.rename(tempFile, target);
      try {
        await fsyncPath(path.dirname(target));
      } catch {
        // some filesystems refuse to sync a directory; the rename itself is atomic
      }
      return target;
    },

    discard: (tempFile: string) => fsp.rm(tempFile, { force: true }),

    path: (storedPath: string) => resolveStored(dir, storedPath),

    /** Deletes a stored file; false when it was already gone. */
    async remove(storedPath: string): Promise<boolean> {
      try {
        await fsp.unlink(resolveStored(dir, storedPath));
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw err;
      }
    },
  };
}

export type RecordingStorage = ReturnType<typeof createRecordingStorage>;
