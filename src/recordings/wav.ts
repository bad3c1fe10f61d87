/**
 * RIFF/WAVE headers: read one (to verify a downloaded recording and learn its format) and write
 * one (to wrap the headerless signed-linear `.raw` that MixMonitor's `D` option writes). Pure.
 */

export interface WavInfo {
  /** 1 = PCM; Asterisk also writes 49 (GSM, `.WAV`/wav49) */
  audioFormat: number;
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  /** byte offset of the first sample */
  dataOffset: number;
  /** bytes of sample data present (the header's size, capped to what the file holds) */
  dataBytes: number;
  durationSeconds: number;
}

export class WavError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WavError';
  }
}

/**
 * Reads the header of a WAV file from its first bytes (`head`, at least up to the `data` chunk's
 * header: 4 KiB is plenty) and its total size. Throws WavError on anything that is not a WAV.
 */
export function parseWavHeader(head: Buffer, fileSize: number): WavInfo {
  if (head.length < 12 || head.toString('latin1', 0, 4) !== 'RIFF' || head.toString('latin1', 8, 12) !== 'WAVE') {
    throw new WavError('not a RIFF/WAVE file');
  }
  let offset = 12;
  let fmt: Pick<WavInfo, 'audioFormat' | 'channels' | 'sampleRate' | 'bitsPerSample'> | null = null;
  while (offset + 8 <= head.length) {
    const id = head.toString('latin1', offset, offset + 4);
    const size = head.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > head.length) throw new WavError('truncated fmt chunk');
      fmt = {
        audioFormat: head.readUInt16LE(body),
        channels: head.readUInt16LE(body + 2),
        sampleRate: head.readUInt32LE(body + 4),
        bitsPerSample: head.readUInt16LE(body + 14),
      };
    } else if (id === 'data') {
      if (!fmt) throw new WavError('data chunk before fmt chunk');
      if (fmt.channels < 1 || fmt.sampleRate < 1) throw new WavError('invalid fmt chunk');
      const available = Math.max(0, fileSize - body);
      // a recording still being written (or by a crashed writer) says 0 or 0xFFFFFFFF
      const dataBytes = size === 0 || size === 0xffffffff ? available : Math.min(size, available);
      const bytesPerSecond = fmt.audioFormat === 1 ? (fmt.sampleRate * fmt.channels * fmt.bitsPerSample) / 8 : 0;
      return {
        ...fmt,
        dataOffset: body,
        dataBytes,
        durationSeconds: bytesPerSecond > 0 ? dataBytes / bytesPerSecond : gsmDuration(fmt.audioFormat, dataBytes, fmt.sampleRate),
      };
    }
    offset = body + size + (size % 2);
  }
  throw new WavError('no data chunk');
}

/** WAV49 (GSM 6.10 in WAV): 65 bytes per 320 samples. */
function gsmDuration(audioFormat: number, dataBytes: number, sampleRate: number): number {
  return audioFormat === 49 ? ((dataBytes / 65) * 320) / sampleRate : 0;
}

/** A 44-byte canonical PCM header for `dataBytes` of interleaved little-endian samples. */
export function wavHeader(o: { channels: number; sampleRate: number; bitsPerSample: number; dataBytes: number }): Buffer {
  const h = Buffer.alloc(44);
  const blockAlign = (o.channels * o.bitsPerSample) / 8;
  h.write('RIFF', 0, 'latin1');
  h.writeUInt32LE(36 + o.dataBytes, 4);
  h.write('WAVE', 8, 'latin1');
  h.write('fmt ', 12, 'latin1');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(o.channels, 22);
  h.writeUInt32LE(o.sampleRate, 24);
  h.writeUInt32LE(o.sampleRate * blockAlign, 28);
  h.writeUInt16LE(blockAlign, 32);
  h.writeUInt16LE(o.bitsPerSample, 34);
  h.write('data', 36, 'latin1');
  h.writeUInt32LE(o.dataBytes, 40);
  return h;
}
