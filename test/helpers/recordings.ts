import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createAriClient, type AriClient } from '../../src/asterisk/ari.client';
import type { RecordingState } from '../../src/calls/call-record';
import { createLogger } from '../../src/logger';
import { parseWavHeader } from '../../src/recordings/wav';
import type { FakeAri } from './fake-ari';
import type { TestContext } from './test-context';

/** Real recordings from the lab Asterisk 22 (8 kHz mono 16-bit PCM, MixMonitor `b`). */
export const FIXTURES = path.join(__dirname, '..', 'fixtures', 'recordings');
/** 5 s */
export const SHORT_WAV = path.join(FIXTURES, 'in-380441234567-1795715947.0.wav');
/** 12 s */
export const LONG_WAV = path.join(FIXTURES, 'in-380441234567-1795714621.46.wav');

export const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
export const unique = () => crypto.randomBytes(5).toString('hex');

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `ct-${prefix}-`));
}

/** Waits for `condition` (a deadlock guard with a generous deadline, not a timing assertion). */
export async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The samples of a 16-bit PCM WAV, as the bytes of its data chunk. */
export function pcmBytes(wav: Buffer): Buffer {
  const info = parseWavHeader(wav, wav.length);
  return wav.subarray(info.dataOffset, info.dataOffset + info.dataBytes);
}

/**
 * A MixMonitor `D` `.raw`: two interleaved 16-bit channels, `left` and `right` (mono sample bytes,
 * the shorter padded with silence).
 */
export function stereoRaw(left: Buffer, right: Buffer): Buffer {
  const frames = Math.max(left.length, right.length) / 2;
  const out = Buffer.alloc(frames * 4);
  for (let i = 0; i < frames; i++) {
    out.writeInt16LE(i * 2 + 1 < left.length ? left.readInt16LE(i * 2) : 0, i * 4);
    out.writeInt16LE(i * 2 + 1 < right.length ? right.readInt16LE(i * 2) : 0, i * 4 + 2);
  }
  return out;
}

/** An ended call (factory) with a recordings row as the capture pipeline leaves it. */
export async function seedRecording(
  ctx: TestContext,
  o: {
    fileName: string;
    state?: RecordingState;
    call?: Parameters<TestContext['f']['call']>[0];
  },
): Promise<{ callId: string; recordingId: string }> {
  const callId = await ctx.f.call(o.call ?? {});
  await ctx.ds.query(`UPDATE calls SET recording_file = $2 WHERE id = $1`, [callId, o.fileName]);
  const [row] = (await ctx.ds.query(`INSERT INTO recordings (call_id, file_name, state) VALUES ($1, $2, $3) RETURNING id`, [
    callId,
    o.fileName,
    o.state ?? 'pending',
  ])) as { id: string }[];
  return { callId, recordingId: row!.id };
}

export interface RecordingRow {
  id: string;
  state: RecordingState;
  source: string | null;
  stored_path: string | null;
  sha256: string | null;
  size_bytes: string | null;
  duration_seconds: number | null;
  channels: number | null;
  sample_rate: number | null;
  customer_channel: number | null;
  attempts: number;
  last_error: string | null;
  next_attempt_at: Date | null;
  stored_at: Date | null;
  purged_at: Date | null;
  deleted_from_pbx_at: Date | null;
  analytics: Record<string, unknown> | null;
  agent_talk_share: number | null;
  silence_share: number | null;
  overtalk_share: number | null;
  longest_monologue_seconds: number | null;
  /** seconds from the database's now to next_attempt_at */
  next_in_seconds: number | null;
}

export async function recordingRow(ctx: TestContext, id: string): Promise<RecordingRow> {
  const [row] = (await ctx.ds.query(
    `SELECT *, extract(epoch from (next_attempt_at - clock_timestamp()))::float8 AS next_in_seconds FROM recordings WHERE id = $1`,
    [id],
  )) as RecordingRow[];
  if (!row) throw new Error(`no recording ${id}`);
  return row;
}

/** Makes a planned retry due now (time passing, without waiting). */
export async function makeDue(ctx: TestContext, id: string): Promise<void> {
  await ctx.ds.query(`UPDATE recordings SET next_attempt_at = clock_timestamp() - interval '1 second' WHERE id = $1`, [id]);
}

/** The real ARI client wrapper, connected to the fake ARI server. */
export async function connectedAri(fake: FakeAri): Promise<AriClient> {
  const ari = createAriClient({
    url: fake.url,
    username: fake.username,
    password: fake.password,
    app: 'calltrack',
    logger: createLogger('silent'),
    reconnectDelay: () => 20,
    requestTimeoutMs: 2000,
  });
  ari.start();
  await until(() => ari.state().status === 'connected', 'ARI connected');
  return ari;
}

/** Every file under `dir`, relative, sorted. */
export function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .filter((f) => fs.statSync(path.join(dir, f)).isFile())
    .map((f) => f.split(path.sep).join('/'))
    .sort();
}
