import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { analyseTalk, readPcm, waveformPeaks, type TalkAnalytics } from '../../src/recordings/talk-analytics';
import { wavHeader, WavError } from '../../src/recordings/wav';
import { AMI_FIXTURES_DIR } from '../helpers/fixtures';

/**
 * Talk analytics on generated two-channel WAVs whose speech/silence layout is known.
 *
 * Each party's speech is a harmonic voice (one pitch per party, harmonics up to 3.4 kHz) plus some
 * noise, amplitude-modulated like syllables (4 per second, the envelope dipping to -16 dB between
 * them and starting each phrase from that low), with 120 ms pauses inside phrases (shorter than the
 * detector's 200 ms hangover, so a phrase is one talk spurt), a level that changes from phrase to
 * phrase (0, -6, +3, -3 dB) and phrase edges at odd milliseconds (not on the 20 ms frame grid).
 * Both channels carry background noise (-62 dBFS, or a noisy line; swelling by ±3 dB) and an echo of the other party
 * at -30 dB, 40 ms late, as a telephone line does. The files are written with wavHeader and read
 * back with readPcm.
 *
 * Tolerance ("within 5%"): talk, overtalk and monologue seconds within 5% of the true value
 * (relative), or 0.1 s where the true value is below 2 s (a backchannel, nothing); silence share,
 * talk share and overtalk share within 0.02 of the truth (2% of the call's duration, e.g. 1.2 s of
 * a 60 s call); the talk/listen ratio within 5% relative. The truth is computed from the layout on a 1 ms
 * grid; the monologue truth is worked out by hand for each scenario (in its comment).
 */

const RATE = 8000;
const NOISE_DBFS = -62;
const ECHO_DB = -30;
const ECHO_DELAY_SECONDS = 0.04;

type Phrase = [start: number, end: number];

interface Scenario {
  name: string;
  duration: number;
  customerChannel: 0 | 1;
  agent: Phrase[];
  customer: Phrase[];
  /** speech level (about the RMS of a phrase), dBFS */
  agentDb?: number;
  customerDb?: number;
  /** background noise on the customer's channel, dBFS (default NOISE_DBFS; -Infinity: none at all) */
  customerNoiseDb?: number;
  /** echo path delay (default ECHO_DELAY_SECONDS) */
  echoDelaySeconds?: number;
  /** line clicks (5 ms at -10 dBFS) on both channels at these times, seconds */
  clicks?: number[];
  monologue: { seconds: number; by: 'agent' | 'customer' | null };
}

/** Deterministic noise: mulberry32. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One party's voice over the whole call (Float64, unit = full scale). */
function voice(phrases: Phrase[], duration: number, f0: number, db: number, seed: number): Float64Array {
  const n = Math.round(duration * RATE);
  const out = new Float64Array(n);
  // one pitch period of the harmonic carrier (f0 divides 8000), normalised to RMS 1
  const period = RATE / f0;
  const table = new Float64Array(period);
  let power = 0;
  for (let k = 1; k * f0 < 3400; k++) {
    const phase = k * 1.7;
    for (let i = 0; i < period; i++) table[i]! += Math.sin((2 * Math.PI * k * i) / period + phase) / k;
    power += 1 / (2 * k * k);
  }
  for (let i = 0; i < period; i++) table[i]! *= 0.85 / Math.sqrt(power);
  const random = prng(seed);
  const noise = 0.15 * Math.sqrt(12);
  phrases.forEach(([start, end], index) => {
    // carrier: 85% harmonic + 15% noise (RMS ~0.86); the envelope's RMS is ~0.65
    const gain = 10 ** ((db + [0, -6, 3, -3][index % 4]!) / 20) / 0.65;
    const from = Math.round(start * RATE);
    const to = Math.round(end * RATE);
    for (let s = from; s < to; s++) {
      const t = (s - from) / RATE;
      // a 120 ms pause every 1.3 s inside the phrase (not in its last 0.3 s)
      if (t % 1.3 >= 1.18 && (to - s) / RATE > 0.3) continue;
      const fade = Math.min(1, (s - from) / (0.01 * RATE), (to - s) / (0.01 * RATE));
      const syllable = Math.sin(Math.PI * 4 * t);
      const envelope = 0.15 + 0.85 * syllable * syllable;
      out[s] = gain * fade * envelope * (table[s % period]! + noise * (random() - 0.5));
    }
  });
  return out;
}

const mixes = new Map<Scenario, Int16Array>();

/** Interleaved stereo: each channel = its party + echo of the other party + background noise. */
function mix(sc: Scenario): Int16Array {
  const cached = mixes.get(sc);
  if (cached) return cached;
  const agentVoice = voice(sc.agent, sc.duration, 125, sc.agentDb ?? -20, 1);
  const customerVoice = voice(sc.customer, sc.duration, 200, sc.customerDb ?? -22, 2);
  const byChannel = sc.customerChannel === 0 ? [customerVoice, agentVoice] : [agentVoice, customerVoice];
  const n = agentVoice.length;
  const pcm = new Int16Array(n * 2);
  const echo = 10 ** (ECHO_DB / 20);
  const delay = Math.round((sc.echoDelaySeconds ?? ECHO_DELAY_SECONDS) * RATE);
  const noiseDb = [NOISE_DBFS, NOISE_DBFS];
  noiseDb[sc.customerChannel] = sc.customerNoiseDb ?? NOISE_DBFS;
  const noise = noiseDb.map((db) => 10 ** (db / 20) * Math.sqrt(12));
  const random = prng(3);
  for (let s = 0; s < n; s++) {
    // the background swells by ±3 dB (0.7 Hz), as line noise does
    const swell = 10 ** ((3 * Math.sin((2 * Math.PI * 0.7 * s) / RATE)) / 20);
    for (let c = 0; c < 2; c++) {
      const own = byChannel[c]![s]!;
      const other = s >= delay ? byChannel[1 - c]![s - delay]! : 0;
      const v = (own + echo * other + swell * noise[c]! * (random() - 0.5)) * 32768;
      pcm[s * 2 + c] = Math.max(-32768, Math.min(32767, Math.round(v)));
    }
  }
  for (const at of sc.clicks ?? []) {
    for (let s = Math.round(at * RATE), i = 0; i < 40; s++, i++) {
      for (let c = 0; c < 2; c++) pcm[s * 2 + c] = i % 2 === 0 ? 10362 : -10362;
    }
  }
  mixes.set(sc, pcm);
  return pcm;
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'talk-analytics-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function roundTrip(pcm: Int16Array, channels: number, name: string) {
  const data = Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength);
  const file = path.join(dir, `${name}.wav`);
  writeFileSync(file, Buffer.concat([wavHeader({ channels, sampleRate: RATE, bitsPerSample: 16, dataBytes: data.length }), data]));
  return readPcm(file);
}

/** The true talk/overtalk/silence of a layout, on a 1 ms grid. */
function truth(sc: Scenario) {
  const ms = Math.round(sc.duration * 1000);
  const talking = (phrases: Phrase[], t: number) => phrases.some(([a, b]) => t >= a * 1000 && t < b * 1000);
  let agent = 0;
  let customer = 0;
  let both = 0;
  let neither = 0;
  for (let t = 0; t < ms; t++) {
    const a = talking(sc.agent, t + 0.5);
    const c = talking(sc.customer, t + 0.5);
    if (a) agent++;
    if (c) customer++;
    if (a && c) both++;
    if (!a && !c) neither++;
  }
  return { agent: agent / 1000, customer: customer / 1000, overtalk: both / 1000, silence: neither / 1000, duration: ms / 1000 };
}

function expectSeconds(what: string, got: number, want: number) {
  const tolerance = want < 2 ? 0.1 : 0.05 * want;
  expect({ what, got, off: Math.abs(got - want) <= tolerance }).toEqual({ what, got, off: true });
}

function expectShare(what: string, got: number | null, want: number | null) {
  if (want === null) {
    expect({ what, got }).toEqual({ what, got: null });
    return;
  }
  expect({ what, got, off: got !== null && Math.abs(got - want) <= 0.02 }).toEqual({ what, got, off: true });
}

const analyses = new Map<Scenario, TalkAnalytics>();

async function analyse(sc: Scenario): Promise<TalkAnalytics> {
  const cached = analyses.get(sc);
  if (cached) return cached;
  const { info, pcm } = await roundTrip(mix(sc), 2, sc.name.replace(/[^a-z0-9]+/gi, '-'));
  expect(info).toMatchObject({ channels: 2, sampleRate: RATE, bitsPerSample: 16 });
  const result = analyseTalk(pcm, { sampleRate: info.sampleRate, channels: 2, customerChannel: sc.customerChannel });
  analyses.set(sc, result);
  return result;
}

function expectLayout(result: TalkAnalytics, sc: Scenario) {
  const t = truth(sc);
  expect(result.durationSeconds).toBe(t.duration);
  expectSeconds('agentTalkSeconds', result.agentTalkSeconds, t.agent);
  expectSeconds('customerTalkSeconds', result.customerTalkSeconds, t.customer);
  expectSeconds('overtalkSeconds', result.overtalkSeconds, t.overtalk);
  expectShare('silenceShare', result.silenceShare, t.silence / t.duration);
  expectShare('overtalkShare', result.overtalkShare, t.overtalk / t.duration);
  expectShare('agentTalkShare', result.agentTalkShare, t.agent + t.customer > 0 ? t.agent / (t.agent + t.customer) : null);
  if (t.customer > 0 && t.agent > 0) {
    const ratio = t.agent / t.customer;
    expect({ ratio: result.talkListenRatio, off: Math.abs((result.talkListenRatio ?? 0) - ratio) <= 0.05 * ratio }).toEqual({
      ratio: result.talkListenRatio,
      off: true,
    });
  }
  expectSeconds('longestMonologueSeconds', result.longestMonologueSeconds, sc.monologue.seconds);
  expect(result.longestMonologueBy).toBe(sc.monologue.by);
}

const scenarios: Scenario[] = [
  {
    // The agent explains for 48 s (own pauses of 1.0-1.5 s); the customer only says "uh-huh" twice
    // (0.5 s, under the 1 s interruption limit) and answers at the end.
    // Monologue: agent 2.03 → 50.05 = 48.02 s.
    name: 'agent monologue (inbound: customer on channel 0)',
    duration: 60,
    customerChannel: 0,
    agent: [
      [2.03, 12.01],
      [13.11, 25.07],
      [26.49, 38.02],
      [39.13, 50.05],
    ],
    customer: [
      [20.01, 20.52],
      [33.07, 33.55],
      [51.03, 58.01],
    ],
    monologue: { seconds: 48.02, by: 'agent' },
  },
  {
    // Turns of 3.7-7 s with 0.5-1 s gaps; every turn of the other party is longer than 1 s, so each
    // turn is its own monologue. Longest: the customer's 24.52 → 31.53 = 7.01 s.
    name: 'balanced dialogue (outbound: customer on channel 1)',
    duration: 60,
    customerChannel: 1,
    agent: [
      [1.01, 5.03],
      [10.52, 15.01],
      [20.03, 24.01],
      [32.51, 37.02],
      [43.01, 47.53],
      [53.52, 58.01],
    ],
    customer: [
      [5.81, 10.02],
      [15.63, 19.31],
      [24.52, 31.53],
      [37.79, 42.21],
      [48.33, 53.02],
    ],
    monologue: { seconds: 7.01, by: 'customer' },
  },
  {
    // Overlapping turns at comparable levels: 2.02 s, 1 s, 0.49 s and a 1.98 s interruption (agent
    // 25.03 → 27.01 inside the customer's 21.52 → 30.03): 5.49 s of overtalk.
    // Monologues: agent 1.01 → 8.01 (the customer's 8.01 → 15.02 interrupts) = 7 s; customer
    // 10.03 → 14.02 = 3.99 s, 22.01 → 25.03 = 3.02 s, 27.01 → 30.03 = 3.02 s; agent
    // 15.02 → 21.52 = 6.5 s. Longest: agent 7 s.
    name: 'overtalk (customer on channel 0)',
    duration: 32,
    customerChannel: 0,
    agent: [
      [1.01, 10.03],
      [14.02, 22.01],
      [25.03, 27.01],
    ],
    customer: [
      [8.01, 15.02],
      [21.52, 30.03],
    ],
    agentDb: -21,
    customerDb: -19,
    monologue: { seconds: 7, by: 'agent' },
  },
  {
    // 32 s on hold with nobody talking. Monologues: agent 1.01 → 8.02 = 7.01 s, customer
    // 40.02 → 48.03 = 8.01 s, agent 49.03 → 55.01 = 5.98 s (not joined to the first: a 41 s
    // pause). Longest: customer 8.01 s.
    name: 'long silence (customer on channel 1)',
    duration: 60,
    customerChannel: 1,
    agent: [
      [1.01, 8.02],
      [49.03, 55.01],
    ],
    customer: [[40.02, 48.03]],
    monologue: { seconds: 8.01, by: 'customer' },
  },
  {
    // The customer never speaks; the agent is loud (-10 dBFS), so the -30 dB echo on the customer's
    // channel is at about -40 dBFS, above the detector's -45 dBFS absolute floor: only the crosstalk
    // rule keeps it from counting as the customer talking.
    // Monologue: agent 3.01 → 40.01 (own pauses of 1.49 and 0.99 s) = 37 s.
    name: 'one silent party with loud echo (customer on channel 0)',
    duration: 45,
    customerChannel: 0,
    agent: [
      [3.01, 14.02],
      [15.51, 27.03],
      [28.02, 40.01],
    ],
    customer: [],
    agentDb: -10,
    monologue: { seconds: 37, by: 'agent' },
  },
  {
    // A quiet customer (-26 dBFS, a phrase at -32) on a noisy line (-42 dBFS of noise, swelling to
    // -39): the noise is above the -45 dBFS absolute floor, so the adaptive threshold (noise floor
    // + 12 dB, at most -35 dBFS) is what ignores the hiss and still finds the customer's words.
    // Monologues: agent 0.52 → 6.03 = 5.51 s, 12.51 → 20.02 = 7.51 s; customer 6.61 → 12.03 =
    // 5.42 s, 20.52 → 29.01 = 8.49 s. Longest: customer 8.49 s.
    name: 'quiet customer on a noisy line (customer on channel 1)',
    duration: 30,
    customerChannel: 1,
    agent: [
      [0.52, 6.03],
      [12.51, 20.02],
    ],
    customer: [
      [6.61, 12.03],
      [20.52, 29.01],
    ],
    customerDb: -26,
    customerNoiseDb: -42,
    monologue: { seconds: 8.49, by: 'customer' },
  },
  {
    // The customer's phone sends digital silence between words (silence suppression: no noise at
    // all, so the adaptive threshold alone would sit at -88 dBFS) and the echo path is long
    // (300 ms, beyond the crosstalk rule's 200 ms window): the agent's echo at -50 dBFS outlasts
    // each agent phrase by 0.3 s. The -45 dBFS absolute floor is what keeps it out.
    // Monologues: agent 1.03 → 9.01 = 7.98 s, 14.02 → 22.05 = 8.03 s (the customer's 3 s between
    // interrupts); customer 10.01 → 13.02 = 3.01 s. Longest: agent 8.03 s.
    name: 'silence-suppressed customer channel, long echo path (customer on channel 1)',
    duration: 25,
    customerChannel: 1,
    agent: [
      [1.03, 9.01],
      [14.02, 22.05],
    ],
    customer: [[10.01, 13.02]],
    customerNoiseDb: -Infinity,
    echoDelaySeconds: 0.3,
    monologue: { seconds: 8.03, by: 'agent' },
  },
];

describe('analyseTalk on generated two-channel recordings', () => {
  it.each(scenarios.map((s) => [s.name, s] as const))('%s', async (_name, sc) => {
    expectLayout(await analyse(sc), sc);
  });

  it('the silent-party scenario really puts echo above the absolute floor (so the crosstalk rule is what is tested)', () => {
    const sc = scenarios.find((s) => s.name.startsWith('one silent party'))!;
    const pcm = mix(sc);
    // RMS of the customer's channel (0) during the agent's first phrase
    let sum = 0;
    const from = 4 * RATE;
    const to = 12 * RATE;
    for (let s = from; s < to; s++) sum += pcm[s * 2]! ** 2;
    const db = 10 * Math.log10(sum / (to - from) / 32768 ** 2);
    expect(db).toBeGreaterThan(-45);
  });

  it('reports the silent party as silent: no talk, no ratio, agent share 1', async () => {
    const sc = scenarios.find((s) => s.name.startsWith('one silent party'))!;
    const result = await analyse(sc);
    expect(result.customerTalkSeconds).toBe(0);
    expect(result.talkListenRatio).toBeNull();
    expect(result.agentTalkShare).toBe(1);
    expect(result.overtalkSeconds).toBe(0);
  });

  it('a call where nobody speaks, only line clicks: all silence, no shares, no monologue', async () => {
    const sc: Scenario = {
      name: 'nobody',
      duration: 20,
      customerChannel: 1,
      agent: [],
      customer: [],
      // clicks are shorter than the 100 ms minimum burst, also the two 150 ms apart
      clicks: [2, 2.15, 5.5, 9.01, 12.3, 15.7],
      monologue: { seconds: 0, by: null },
    };
    expect(await analyse(sc)).toEqual({
      durationSeconds: 20,
      agentTalkSeconds: 0,
      customerTalkSeconds: 0,
      agentTalkShare: null,
      talkListenRatio: null,
      longestMonologueSeconds: 0,
      longestMonologueBy: null,
      silenceShare: 1,
      overtalkSeconds: 0,
      overtalkShare: 0,
    });
  });

  it('swapping customerChannel swaps the parties', async () => {
    const sc = scenarios[0]!;
    const { pcm } = await roundTrip(mix(sc), 2, 'swap');
    const asMade = analyseTalk(pcm, { sampleRate: RATE, channels: 2, customerChannel: 0 });
    const swapped = analyseTalk(pcm, { sampleRate: RATE, channels: 2, customerChannel: 1 });
    expect(swapped).toMatchObject({
      agentTalkSeconds: asMade.customerTalkSeconds,
      customerTalkSeconds: asMade.agentTalkSeconds,
      overtalkSeconds: asMade.overtalkSeconds,
      silenceShare: asMade.silenceShare,
      longestMonologueSeconds: asMade.longestMonologueSeconds,
      longestMonologueBy: 'customer',
    });
  });

  it('handles an empty recording (a header-only file) without NaN', () => {
    expect(analyseTalk(new Int16Array(0), { sampleRate: RATE, channels: 2, customerChannel: 0 })).toEqual({
      durationSeconds: 0,
      agentTalkSeconds: 0,
      customerTalkSeconds: 0,
      agentTalkShare: null,
      talkListenRatio: null,
      longestMonologueSeconds: 0,
      longestMonologueBy: null,
      silenceShare: 0,
      overtalkSeconds: 0,
      overtalkShare: 0,
    });
  });

  it('refuses a mono recording with a clear error', () => {
    const mono = new Int16Array(RATE);
    expect(() => analyseTalk(mono, { sampleRate: RATE, channels: 1 as 2, customerChannel: 0 })).toThrow(
      'talk analytics needs a 2-channel recording (customer and agent on separate channels, MixMonitor option D); this one has 1 channel',
    );
  });
});

describe('readPcm', () => {
  const fixtures = [
    path.join(AMI_FIXTURES_DIR, 'inbound_answered', 'in-380441234567-1795715947.0.wav'),
    path.join(AMI_FIXTURES_DIR, 'outbound_answered', 'out-0501112233-1795714558.34.wav'),
  ];

  it.each(fixtures)('reads the real mono MixMonitor recording %s, which analyseTalk refuses', async (file) => {
    const { info, pcm } = await readPcm(file);
    expect(info).toMatchObject({ audioFormat: 1, channels: 1, sampleRate: 8000, bitsPerSample: 16, dataOffset: 44 });
    expect(pcm.length).toBe(info.dataBytes / 2);
    expect(info.durationSeconds).toBeCloseTo(pcm.length / 8000, 6);
    expect(pcm.some((v) => v !== 0)).toBe(true);
    expect(() => analyseTalk(pcm, { sampleRate: info.sampleRate, channels: info.channels as 2, customerChannel: 0 })).toThrow(
      /needs a 2-channel recording.*this one has 1 channel/,
    );
    const [peaks] = waveformPeaks(pcm, { channels: info.channels, buckets: 100 });
    expect(peaks).toHaveLength(100);
    expect(Math.max(...peaks!)).toBeGreaterThan(0);
  });

  it('returns the samples exactly as written, interleaved', async () => {
    const pcm = Int16Array.from([0, 1, -1, 32767, -32768, 1234, -4321, 7]);
    const read = await roundTrip(pcm, 2, 'exact');
    expect(Array.from(read.pcm)).toEqual(Array.from(pcm));
    expect(read.info).toMatchObject({ channels: 2, dataBytes: 16, durationSeconds: 4 / RATE });
  });

  it('drops a trailing partial sample frame (a file cut mid-write)', async () => {
    const file = path.join(dir, 'cut.wav');
    const data = Buffer.from(Int16Array.from([1, 2, 3, 4, 5]).buffer);
    writeFileSync(file, Buffer.concat([wavHeader({ channels: 2, sampleRate: RATE, bitsPerSample: 16, dataBytes: 0 }), data]));
    const { info, pcm } = await readPcm(file);
    expect(Array.from(pcm)).toEqual([1, 2, 3, 4]);
    expect(info.dataBytes).toBe(8);
  });

  it('refuses what is not 16-bit PCM', async () => {
    const file = path.join(dir, 'eight-bit.wav');
    writeFileSync(file, Buffer.concat([wavHeader({ channels: 1, sampleRate: RATE, bitsPerSample: 8, dataBytes: 4 }), Buffer.alloc(4)]));
    await expect(readPcm(file)).rejects.toThrow(WavError);
    await expect(readPcm(file)).rejects.toThrow('only 16-bit PCM WAV can be analysed (this one: format 1, 8 bits per sample)');
  });
});

describe('waveformPeaks', () => {
  it('gives each channel the max |sample| of each bucket as a fraction of full scale', () => {
    // 8 stereo samples, 4 buckets of 2
    const pcm = Int16Array.from([100, 0, -200, 0, 16384, 0, 0, -32768, 0, 0, 0, 0, -3277, 32767, 5, 6]);
    expect(waveformPeaks(pcm, { channels: 2, buckets: 4 })).toEqual([
      [0.006, 0.5, 0, 0.1],
      [0, 1, 0, 1],
    ]);
  });

  it('pads with zeros when there are more buckets than samples, and handles mono', () => {
    expect(waveformPeaks(Int16Array.from([16384, -8192]), { channels: 1, buckets: 4 })).toEqual([[0, 0.5, 0, 0.25]]);
    expect(waveformPeaks(new Int16Array(0), { channels: 2, buckets: 3 })).toEqual([
      [0, 0, 0],
      [0, 0, 0],
    ]);
  });

  it('follows the speech layout of a generated recording', () => {
    const sc = scenarios.find((s) => s.name.startsWith('long silence'))!;
    const [agent, customer] = waveformPeaks(mix(sc), { channels: 2, buckets: 60 }); // 1 s per bucket
    // agent (channel 0 here) talks 1-8 and 49-55; the customer 40-48; silence 8-40 on both
    expect(agent![3]).toBeGreaterThan(0.1);
    expect(agent![20]).toBeLessThan(0.01);
    expect(customer![44]).toBeGreaterThan(0.1);
    expect(customer![20]).toBeLessThan(0.01);
  });

  it('rejects nonsense arguments', () => {
    expect(() => waveformPeaks(new Int16Array(4), { channels: 0, buckets: 10 })).toThrow(RangeError);
    expect(() => waveformPeaks(new Int16Array(4), { channels: 2, buckets: 0 })).toThrow(RangeError);
  });
});
