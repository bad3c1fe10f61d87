/**
 * Talk analytics of a two-channel call recording (MixMonitor option `D`: the customer and the agent
 * on separate channels of one file), without any cloud service or model: a small energy-based voice
 * activity detector (VAD) per channel, then talk time, talk/listen ratio, longest monologue, silence
 * and overtalk from the two channels' talk spurts. Pure; `readPcm` (re-exported from ./pcm) is the
 * only I/O.
 *
 * The detector, per channel:
 *  1. Frames of 20 ms; each frame's RMS level in dBFS (digital silence = -100 dBFS).
 *  2. Threshold = the channel's noise floor (the 10th percentile of its frame levels) + 12 dB,
 *     never below -45 dBFS (an absolute floor, so a clean line's faint hiss or a far-away echo is
 *     not speech) and never above -35 dBFS (on a channel that talks nearly all the time the 10th
 *     percentile is speech, not noise; normal telephone speech is around -26 dBFS).
 *  3. Crosstalk/echo: a frame counts only if it is also no more than 20 dB below the loudest frame
 *     of the OTHER channel within the last 200 ms. Echo of the other party (line echo, a
 *     speakerphone) arrives attenuated and a little later, so it is suppressed while the other party
 *     speaks. Real overtalk is two people talking at comparable levels, which passes this test, so
 *     both channels count and the overlap is overtalk. The cost: when one party is more than 20 dB
 *     louder than the other, the quiet party's words under the loud one are missed (overtalk is
 *     under-counted), and echo weaker than 20 dB below the speech (no echo canceller at all) can
 *     still count as talk.
 *  4. Hangover as gap bridging: active frames separated by a pause of at most 200 ms belong to the
 *     same talk spurt (pauses between syllables and words). No tail is added after the last active
 *     frame, so talk time is not inflated by 200 ms per spurt.
 *  5. Minimum burst: a spurt with fewer than 100 ms of active frames (a click, a cough, a burst of
 *     line noise) is dropped.
 *
 * The metrics, from the two channels' spurts:
 *  - talk seconds: the length of each party's spurts; agentTalkShare = agent / (agent + customer),
 *    talkListenRatio = agent / customer (null when the customer never spoke);
 *  - overtalk: the time both parties' spurts overlap; silence: the time in neither;
 *  - monologue: a stretch where one party holds the floor: their spurts, joined across their own
 *    pauses of at most 2 s, and cut wherever the other party talks for more than 1 s (a spurt of
 *    the other party of at most 1 s, a backchannel like "yes" or "uh-huh", does not end it; a longer
 *    one ends the monologue when it starts). The longest such stretch, by either party
 *    (the agent on an exact tie).
 * Seconds are rounded to 0.01, shares and the ratio to 0.001.
 *
 * Cost: one pass over the samples into per-frame levels (2 × 50 floats per second of audio, 240 KB
 * for a 10-minute call), then passes over those frames; no per-sample intermediate arrays. A
 * 10-minute 8 kHz call takes a few tens of milliseconds.
 */
import type { RecordingAnalytics } from '../calls/call-record';

export { readPcm } from './pcm';

/** The contract's analytics (src/calls/call-record.ts, shared with the web app), as computed here. */
export type TalkAnalytics = RecordingAnalytics;

const FRAME_SECONDS = 0.02;
/** level of an all-zero frame, and the bottom of the level histogram */
const SILENCE_DB = -100;
const NOISE_PERCENTILE = 0.1;
const NOISE_MARGIN_DB = 12;
const ABSOLUTE_FLOOR_DB = -45;
const THRESHOLD_CEILING_DB = -35;
const CROSSTALK_MARGIN_DB = 20;
const CROSSTALK_WINDOW_SECONDS = 0.2;
const HANGOVER_SECONDS = 0.2;
const MIN_BURST_SECONDS = 0.1;
const INTERRUPTION_SECONDS = 1;
const MONOLOGUE_MAX_PAUSE_SECONDS = 2;
/** histogram resolution for the noise-floor percentile */
const BINS_PER_DB = 2;

/** A talk spurt or any other stretch of time, in samples per channel: [start, end). */
interface Span {
  start: number;
  end: number;
}

export function analyseTalk(pcm: Int16Array, o: { sampleRate: number; channels: 2; customerChannel: 0 | 1 }): TalkAnalytics {
  const channels: number = o.channels;
  if (channels !== 2) {
    throw new RangeError(
      `talk analytics needs a 2-channel recording (customer and agent on separate channels, MixMonitor option D); this one has ${channels} channel${channels === 1 ? '' : 's'}`,
    );
  }
  if (!Number.isInteger(o.sampleRate) || o.sampleRate <= 0) throw new RangeError(`invalid sample rate ${o.sampleRate}`);
  if (o.customerChannel !== 0 && o.customerChannel !== 1) throw new RangeError(`invalid customer channel ${String(o.customerChannel)}`);

  const samples = Math.floor(pcm.length / 2);
  const frameLength = Math.max(1, Math.round(o.sampleRate * FRAME_SECONDS));
  const levels = frameLevels(pcm, samples, frameLength);
  const thresholds = [threshold(levels[0]), threshold(levels[1])] as const;
  const toFrames = (seconds: number) => Math.round((seconds * o.sampleRate) / frameLength);
  const vad = {
    frameLength,
    samples,
    crosstalkFrames: toFrames(CROSSTALK_WINDOW_SECONDS),
    hangoverFrames: toFrames(HANGOVER_SECONDS),
    minBurstFrames: toFrames(MIN_BURST_SECONDS),
  };
  const recent = [trailingMax(levels[0], vad.crosstalkFrames), trailingMax(levels[1], vad.crosstalkFrames)] as const;
  const spurts = [talkSpurts(levels[0], recent[1], thresholds[0], vad), talkSpurts(levels[1], recent[0], thresholds[1], vad)] as const;
  const customer = spurts[o.customerChannel];
  const agent = spurts[o.customerChannel === 0 ? 1 : 0];

  const agentTalk = totalLength(agent);
  const customerTalk = totalLength(customer);
  const overtalk = totalLength(intersection(agent, customer));
  const silence = samples - (agentTalk + customerTalk - overtalk);
  const interruption = INTERRUPTION_SECONDS * o.sampleRate;
  const maxPause = MONOLOGUE_MAX_PAUSE_SECONDS * o.sampleRate;
  const agentMonologue = longestMonologue(agent, customer, interruption, maxPause);
  const customerMonologue = longestMonologue(customer, agent, interruption, maxPause);
  const monologue = Math.max(agentMonologue, customerMonologue);

  const seconds = (n: number) => round(n / o.sampleRate, 2);
  const share = (part: number, whole: number) => (whole > 0 ? round(part / whole, 3) : 0);
  return {
    durationSeconds: seconds(samples),
    agentTalkSeconds: seconds(agentTalk),
    customerTalkSeconds: seconds(customerTalk),
    agentTalkShare: agentTalk + customerTalk > 0 ? share(agentTalk, agentTalk + customerTalk) : null,
    talkListenRatio: customerTalk > 0 ? round(agentTalk / customerTalk, 3) : null,
    longestMonologueSeconds: seconds(monologue),
    longestMonologueBy: monologue === 0 ? null : agentMonologue >= customerMonologue ? 'agent' : 'customer',
    silenceShare: share(silence, samples),
    overtalkSeconds: seconds(overtalk),
    overtalkShare: share(overtalk, samples),
  };
}

/**
 * Per channel, the peak (max |sample|) of each of `buckets` equal slices of the recording, as a
 * fraction of full scale (32768), rounded to 0.001: `peaks[channel][bucket]`, for drawing a
 * waveform. A recording with fewer samples than `buckets` leaves the buckets between its samples 0.
 */
export function waveformPeaks(pcm: Int16Array, o: { channels: number; buckets: number }): number[][] {
  const { channels, buckets } = o;
  if (!Number.isInteger(channels) || channels < 1) throw new RangeError(`invalid channel count ${channels}`);
  if (!Number.isInteger(buckets) || buckets < 1) throw new RangeError(`invalid bucket count ${buckets}`);
  const samples = Math.floor(pcm.length / channels);
  return Array.from({ length: channels }, (_, c) => {
    const peaks = new Array<number>(buckets);
    for (let b = 0; b < buckets; b++) {
      const end = Math.floor(((b + 1) * samples) / buckets) * channels;
      let lo = 0;
      let hi = 0;
      for (let i = Math.floor((b * samples) / buckets) * channels + c; i < end; i += channels) {
        const v = pcm[i]!;
        if (v > hi) hi = v;
        else if (v < lo) lo = v;
      }
      peaks[b] = round(Math.min(1, Math.max(hi, -lo) / 32768), 3);
    }
    return peaks;
  });
}

// ---- the detector -----------------------------------------------------------------------------

/** RMS level (dBFS) of each 20 ms frame of both channels of interleaved stereo; one pass. */
function frameLevels(pcm: Int16Array, samples: number, frameLength: number): [Float32Array, Float32Array] {
  const frames = Math.ceil(samples / frameLength);
  const left = new Float32Array(frames);
  const right = new Float32Array(frames);
  const fullScale = 32768 * 32768;
  for (let f = 0; f < frames; f++) {
    const from = f * frameLength;
    const to = Math.min(from + frameLength, samples);
    let sumL = 0;
    let sumR = 0;
    for (let i = from * 2, end = to * 2; i < end; i += 2) {
      const l = pcm[i]!;
      const r = pcm[i + 1]!;
      sumL += l * l;
      sumR += r * r;
    }
    const n = to - from;
    left[f] = sumL > 0 ? Math.max(SILENCE_DB, 10 * Math.log10(sumL / n / fullScale)) : SILENCE_DB;
    right[f] = sumR > 0 ? Math.max(SILENCE_DB, 10 * Math.log10(sumR / n / fullScale)) : SILENCE_DB;
  }
  return [left, right];
}

/** The speech threshold of one channel: its noise floor + margin, clamped (see the module comment). */
function threshold(levels: Float32Array): number {
  if (levels.length === 0) return ABSOLUTE_FLOOR_DB;
  const histogram = new Uint32Array(-SILENCE_DB * BINS_PER_DB + 1);
  for (const level of levels) histogram[Math.floor((level - SILENCE_DB) * BINS_PER_DB)]!++;
  const rank = Math.ceil(levels.length * NOISE_PERCENTILE);
  let seen = 0;
  let bin = 0;
  for (; bin < histogram.length; bin++) {
    seen += histogram[bin]!;
    if (seen >= rank) break;
  }
  const noiseFloor = SILENCE_DB + (bin + 0.5) / BINS_PER_DB;
  return Math.max(ABSOLUTE_FLOOR_DB, Math.min(noiseFloor + NOISE_MARGIN_DB, THRESHOLD_CEILING_DB));
}

/** For each frame, the loudest of it and the `width` frames before it (a monotonic deque, O(n)). */
function trailingMax(levels: Float32Array, width: number): Float32Array {
  const out = new Float32Array(levels.length);
  const queue = new Int32Array(levels.length);
  let head = 0;
  let tail = 0;
  for (let f = 0; f < levels.length; f++) {
    const level = levels[f]!;
    while (tail > head && levels[queue[tail - 1]!]! <= level) tail--;
    queue[tail++] = f;
    if (queue[head]! < f - width) head++;
    out[f] = levels[queue[head]!]!;
  }
  return out;
}

/**
 * The talk spurts of one channel, in samples: frames above `threshold` and not mere echo of the
 * other channel (`otherRecent`: its trailing max level), bridged across short pauses, short bursts
 * dropped. One pass over the frames.
 */
function talkSpurts(
  own: Float32Array,
  otherRecent: Float32Array,
  threshold: number,
  vad: { frameLength: number; samples: number; hangoverFrames: number; minBurstFrames: number },
): Span[] {
  const spurts: Span[] = [];
  let start = -1; // first frame of the open spurt
  let last = -1; // last active frame of the open spurt
  let active = 0; // active frames in the open spurt
  for (let f = 0; f < own.length; f++) {
    const level = own[f]!;
    if (level < threshold || level < otherRecent[f]! - CROSSTALK_MARGIN_DB) continue;
    if (start >= 0 && f - last - 1 <= vad.hangoverFrames) {
      last = f;
      active++;
      continue;
    }
    if (active >= vad.minBurstFrames) spurts.push(span(start, last, vad));
    start = f;
    last = f;
    active = 1;
  }
  if (active >= vad.minBurstFrames) spurts.push(span(start, last, vad));
  return spurts;
}

/** Frames `first`..`last` (inclusive) as samples. */
function span(first: number, last: number, vad: { frameLength: number; samples: number }): Span {
  return { start: first * vad.frameLength, end: Math.min((last + 1) * vad.frameLength, vad.samples) };
}

// ---- time arithmetic on sorted, non-overlapping spans -----------------------------------------

function totalLength(spans: readonly Span[]): number {
  let total = 0;
  for (const s of spans) total += s.end - s.start;
  return total;
}

function intersection(a: readonly Span[], b: readonly Span[]): Span[] {
  const out: Span[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    const start = Math.max(x.start, y.start);
    const end = Math.min(x.end, y.end);
    if (start < end) out.push({ start, end });
    if (x.end < y.end) i++;
    else j++;
  }
  return out;
}

/** `a` with every span of `b` cut out. */
function difference(a: readonly Span[], b: readonly Span[]): Span[] {
  const out: Span[] = [];
  let j = 0;
  for (const x of a) {
    let start = x.start;
    while (j < b.length && b[j]!.end <= start) j++;
    for (let k = j; k < b.length && b[k]!.start < x.end; k++) {
      const y = b[k]!;
      if (y.start > start) out.push({ start, end: y.start });
      start = Math.max(start, y.end);
    }
    if (start < x.end) out.push({ start, end: x.end });
  }
  return out;
}

/** The longest monologue of the party talking in `own` (see the module comment), in samples. */
function longestMonologue(own: readonly Span[], other: readonly Span[], interruption: number, maxPause: number): number {
  const interruptions = other.filter((s) => s.end - s.start > interruption);
  const floor = difference(own, interruptions);
  let longest = 0;
  let k = 0;
  let current: Span | null = null;
  for (const piece of floor) {
    if (current) {
      while (k < interruptions.length && interruptions[k]!.end <= current.end) k++;
      const interrupted = k < interruptions.length && interruptions[k]!.start < piece.start;
      if (!interrupted && piece.start - current.end <= maxPause) {
        current.end = piece.end;
        continue;
      }
      longest = Math.max(longest, current.end - current.start);
    }
    current = { ...piece };
  }
  if (current) longest = Math.max(longest, current.end - current.start);
  return longest;
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
