import { readFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import { parseWavHeader, WavError, type WavInfo } from './wav';

/**
 * Reads a 16-bit PCM WAV file into memory: its header and its samples, interleaved as in the file
 * (`pcm[frame * channels + channel]`). Anything else (GSM/WAV49, 8-bit, float, not a WAV at all)
 * is a WavError. A trailing partial sample frame (a recording cut mid-write) is dropped.
 */
export async function readPcm(file: string): Promise<{ info: WavInfo; pcm: Int16Array }> {
  const buf = await readFile(file);
  const info = parseWavHeader(buf, buf.length);
  if (info.audioFormat !== 1 || info.bitsPerSample !== 16) {
    throw new WavError(`only 16-bit PCM WAV can be analysed (this one: format ${info.audioFormat}, ${info.bitsPerSample} bits per sample)`);
  }
  const blockAlign = info.channels * 2;
  const bytes = info.dataBytes - (info.dataBytes % blockAlign);
  const start = buf.byteOffset + info.dataOffset;
  let pcm: Int16Array;
  if (start % 2 === 0 && endianness() === 'LE') {
    pcm = new Int16Array(buf.buffer, start, bytes / 2);
  } else {
    // odd offset (a chunk before `data` with an odd size) or a big-endian host: copy
    const copy = Buffer.from(buf.subarray(info.dataOffset, info.dataOffset + bytes));
    if (endianness() === 'BE') copy.swap16();
    pcm = new Int16Array(copy.buffer, copy.byteOffset, bytes / 2);
  }
  return { info: { ...info, dataBytes: bytes, durationSeconds: bytes / blockAlign / info.sampleRate }, pcm };
}
