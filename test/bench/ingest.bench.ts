/**
 * Ingest benchmark: `npm run bench:ingest`
 * (= `node -r @swc-node/register test/bench/ingest.bench.ts [flags]`). Not part of `npm test`.
 *
 * The capture path end to end, on the wire: the fake PBX (src/asterisk/demo-pbx.ts, a real AMI
 * TCP server, in a child process, as Asterisk is one) writes synthetic calls over TCP to the real asterisk-manager client
 * (createAmiClient) → PbxLink → toPbxEvent → CallCapture (tracker, versions, `call:update` on the
 * bus) → CallStore (write-behind batches) → a throwaway PostgreSQL database with the real
 * migrations. Three phases, in this order:
 *
 *  1. ceiling     the same stream through a bare asterisk-manager client (count `managerevent`s;
 *                 no tracker, no database): the rate the library itself allows.
 *  2. throughput  the stream as fast as the pipeline takes it (credit-based: at most `--window`
 *                 frames in flight), timed from the first frame written until every call is
 *                 stored ended and the journal holds every frame; then the database is checked
 *                 (calls = records expected, all ended, journal rows = frames, and the
 *                 direction/disposition mix equals the fixtures' expected.json). Peak RSS and
 *                 the number of open calls are sampled every 100 ms.
 *  3. latency     a fresh stream paced at `--rate` events/s for `--latency-seconds`; each frame's
 *                 write time is stamped (by the fake PBX, on the machine's monotonic clock) and every `call:update`
 *                 published on the bus while the pipeline handles that frame gives one sample:
 *                 frame written → record change emitted.
 *
 * Synthetic calls: the real Asterisk 22 captures in test/fixtures/ami (the CEL scenarios: inbound
 * answered/missed/busy, queue ring-all, outbound answered/no answer, internal, blind and attended
 * transfer), mixed by weight. By default only the frames the tracker uses are sent (those
 * toPbxEvent maps to an event: ~30 a call; the VarSet/DeviceStateChange/RTCP/... noise, which
 * changes no record, is left out: pass `--frames=all` for the full transcripts, ~4x the frames).
 * Each call gets fresh uniqueids/linkedids, channel suffixes and bridge ids through
 * `rewriteTranscript` (one rewrite per scenario and wave of `--open` calls, shifted in time, then
 * renumbered per call; the renumbering is checked against `rewriteTranscript` itself) and its own
 * customer (+380 50 111 22 33 becomes +380 50 xxx xx xx: distinct numbers to parse and look up), and the
 * calls are interleaved at random in a rolling window so that `--open` calls are in progress at
 * once. A child process pre-renders the streams to files (os.tmpdir()), read back in chunks:
 * neither the generator's CPU nor the streams' size counts against the pipeline.
 *
 * Flags:
 *   --calls=N             calls in the throughput stream (default 100000)
 *   --open=N              calls in progress at once (default 2000)
 *   --rate=N              latency phase: events/s (default 10000)
 *   --latency-seconds=N   latency phase length (default 25)
 *   --frames=tracked|all  see above (default tracked)
 *   --window=N            throughput: most frames written and not yet handled (default 8000)
 *   --seed=N              interleaving PRNG seed (default 1)
 *   --phases=ceiling,throughput,latency
 *   --keep-frames         keep (and reuse) the pre-rendered streams
 *   --keep-db             do not drop calltrack_bench_ingest at the end
 *   --in-process          measure in this process (with the TypeScript hook) instead of a compiled copy
 *   DATABASE_URL          admin connection (default postgres://postgres@127.0.0.1:5432/postgres)
 *   BENCH_DB              the throwaway database (default calltrack_bench_ingest; dropped at the start and the end)
 */
import v8 from 'node:v8';
import 'reflect-metadata';
import { fork, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import inspector from 'node:inspector';
import os from 'node:os';
import path from 'node:path';
import { constants, monitorEventLoopDelay, performance, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import AsteriskManager from 'asterisk-manager';
import type { DataSource, EntityManager } from 'typeorm';
import pino from 'pino';
import { parseAmiFrame } from '../../src/asterisk/ami-frame';
import { createAmiClient } from '../../src/asterisk/ami.client';
import {
  parseTranscript,
  replayedFrames,
  rewriteTranscript,
  startDemoPbx,
  type DemoPbx,
  type TranscriptFrame,
} from '../../src/asterisk/demo-pbx';
import { createPbxLink } from '../../src/asterisk/pbx-link';
import { toPbxEvent } from '../../src/asterisk/to-pbx-event';
import { createDataSource } from '../../src/db/data-source';
import { migrate } from '../../src/db/database';
import { createLogger } from '../../src/logger';
import { COMMAND_LINE_FLAGS } from '../../src/node-flags';
import { wire } from '../../src/main';
import { benchDatabase, recreateDatabase } from './bench-kit';

/** The repository (this file may run from a compiled copy elsewhere: see runCompiled). */
const ROOT = process.env.CALLTRACK_BENCH_ROOT ?? path.join(__dirname, '..', '..');
const FIXTURES_DIR = path.join(ROOT, 'test', 'fixtures', 'ami');

/** Scenario mix: weight = share of the calls (roughly a sales/support line's day). */
const MIX: ReadonlyArray<readonly [string, number]> = [
  ['inbound_answered', 24],
  ['inbound_missed', 10],
  ['inbound_busy', 4],
  ['queue_ringall', 14],
  ['outbound_answered', 20],
  ['outbound_no_answer', 10],
  ['internal', 10],
  ['blind_transfer', 5],
  ['attended_transfer', 3],
];

// ---------------------------------------------------------------------------------------------
// arguments

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const strArg = (name: string, fallback: string) => args.find((x) => x.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const numArg = (name: string, fallback: number) => {
  const v = Number(strArg(name, String(fallback)).replace(/_/g, ''));
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
};

// ---------------------------------------------------------------------------------------------
// synthetic streams (run in a child process)

interface StreamSpec {
  file: string;
  calls: number;
  open: number;
  seed: number;
  /** first id counter (rewriteTranscript's idBase) */
  idBase: number;
  /** time shift of the first wave, seconds */
  shiftBase: number;
  frames: 'tracked' | 'all';
}

interface StreamMeta {
  file: string;
  frames: number;
  calls: number;
  /** records the calls must produce (attended transfer: two) */
  records: number;
  bytes: number;
  nextIdBase: number;
  byScenario: Record<string, number>;
  /** `direction/disposition/missed` → records expected */
  mix: Record<string, number>;
  generateMs: number;
}

interface Scenario {
  name: string;
  weight: number;
  frames: TranscriptFrame[];
  expected: Array<{ direction: string; disposition: string; missed: boolean }>;
}

const mixKey = (direction: string, disposition: string | null, missed: boolean) => `${direction}/${disposition}/${missed ? 'missed' : '-'}`;

function loadScenarios(frames: 'tracked' | 'all'): Scenario[] {
  return MIX.map(([name, weight]) => {
    const dir = path.join(FIXTURES_DIR, name);
    let list = replayedFrames(parseTranscript(fs.readFileSync(path.join(dir, 'ami.jsonl'), 'utf8')));
    if (frames === 'tracked') list = list.filter((f) => toPbxEvent(parseAmiFrame(f.raw), new Date(f.rx * 1000), 0) !== null);
    const expected = (JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8')) as { calls: Scenario['expected'] }).calls;
    return { name, weight, frames: list, expected };
  });
}

/**
 * A scenario rewritten once by rewriteTranscript with idBase MARK, split at the ids it produced so
 * that a call is rendered with any idBase by concatenation. MARK = 3 000 000 000 = 0xb2d05e00:
 * rewritten ids read `<seconds>.3000000kkk`, channel suffixes and bridge UUIDs `b2d05eKK`.
 */
const MARK = 3_000_000_000;
const TOKEN = /(?<=\d\.)3000000(\d{3})(?!\d)|(?<![0-9a-f])b2d05e([0-9a-f]{2})(?![0-9a-f])/g;
/** string: literal; n >= 0: decimal id MARK+n; n < 0: hex counter MARK+(-1-n); null: the customer's number */
type Part = string | number | null;
/** The customer of every capture is +380 50 111 22 33; each synthetic call gets its own +380 50 xxx xx xx. */
const CUSTOMER = '501112233';
const customerOf = (call: number) => `50${String((call * 7919 + 1_234_567) % 10_000_000).padStart(7, '0')}`;
interface Template {
  frames: Part[][];
  /** ids the call uses (nextIdBase − idBase) */
  span: number;
  shift: number;
}

function compileTemplate(frames: TranscriptFrame[], shift: number): Template {
  const r = rewriteTranscript(frames, { idBase: MARK, timeShiftSeconds: shift });
  const span = r.nextIdBase - MARK;
  if (span > 255) throw new Error(`a scenario uses ${span} ids: more than the template allows`);
  const out = r.frames.map((f) => {
    const parts: Part[] = [];
    let last = 0;
    const literal = (text: string) => {
      text.split(CUSTOMER).forEach((piece, i) => {
        if (i > 0) parts.push(null);
        parts.push(piece);
      });
    };
    for (const m of f.raw.matchAll(TOKEN)) {
      literal(f.raw.slice(last, m.index));
      parts.push(m[1] !== undefined ? Number(m[1]) : -1 - parseInt(m[2]!, 16));
      last = m.index + m[0].length;
    }
    literal(f.raw.slice(last));
    return parts;
  });
  return { frames: out, span, shift };
}

function render(t: Template, base: number, customer: string): string[] {
  return t.frames.map((parts) => {
    let s = '';
    for (const p of parts) {
      if (typeof p === 'string') s += p;
      else if (p === null) s += customer;
      else if (p >= 0) s += String(base + p);
      else s += (base - 1 - p).toString(16).padStart(8, '0');
    }
    return s;
  });
}

/** mulberry32 */
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

function generate(spec: StreamSpec): StreamMeta {
  const started = performance.now();
  const scenarios = loadScenarios(spec.frames);
  const totalWeight = scenarios.reduce((a, s) => a + s.weight, 0);
  const rand = prng(spec.seed);
  const pick = (): Scenario => {
    let x = rand() * totalWeight;
    for (const s of scenarios) if ((x -= s.weight) < 0) return s;
    return scenarios[scenarios.length - 1]!;
  };
  // one template per scenario and wave (`open` consecutive calls share a time shift of 30 s a wave)
  let wave = -1;
  let templates = new Map<Scenario, Template>();
  const checked = new Set<string>();
  const template = (s: Scenario, w: number): Template => {
    if (w !== wave) {
      wave = w;
      templates = new Map();
    }
    let t = templates.get(s);
    if (!t) templates.set(s, (t = compileTemplate(s.frames, spec.shiftBase + w * 30)));
    return t;
  };

  const meta: StreamMeta = {
    file: spec.file,
    frames: 0,
    calls: 0,
    records: 0,
    bytes: 0,
    nextIdBase: spec.idBase,
    byScenario: {},
    mix: {},
    generateMs: 0,
  };
  let base = spec.idBase;
  const startCall = (): { frames: string[]; i: number } => {
    const s = pick();
    const w = Math.floor(meta.calls / spec.open);
    const t = template(s, w);
    const customer = customerOf(meta.calls + spec.idBase);
    const frames = render(t, base, customer);
    // the renumbering must be exactly what rewriteTranscript does with this idBase
    const key = `${s.name}/${w}`;
    if (w % 10 === 0 && !checked.has(key)) {
      checked.add(key);
      const reference = rewriteTranscript(s.frames, { idBase: base, timeShiftSeconds: t.shift }).frames.map((f) =>
        f.raw.split(CUSTOMER).join(customer),
      );
      if (reference.length !== frames.length || reference.some((raw, i) => raw !== frames[i])) {
        throw new Error(`template rendering differs from rewriteTranscript for ${s.name}`);
      }
    }
    base += t.span;
    meta.calls++;
    meta.records += s.expected.length;
    meta.byScenario[s.name] = (meta.byScenario[s.name] ?? 0) + 1;
    for (const e of s.expected) {
      const k = mixKey(e.direction, e.disposition, e.missed);
      meta.mix[k] = (meta.mix[k] ?? 0) + 1;
    }
    return { frames, i: 0 };
  };

  const fd = fs.openSync(spec.file, 'w');
  let chunk: string[] = [];
  let chunkLength = 0;
  const flushChunk = () => {
    if (!chunk.length) return;
    meta.bytes += fs.writeSync(fd, chunk.join(''));
    chunk = [];
    chunkLength = 0;
  };
  // rolling window: `open` calls in progress; each step sends the next frame of one of them, at random
  const active: Array<{ frames: string[]; i: number }> = [];
  while (active.length < spec.open && meta.calls < spec.calls) active.push(startCall());
  while (active.length) {
    const j = Math.floor(rand() * active.length);
    const c = active[j]!;
    const raw = c.frames[c.i++]!;
    chunk.push(raw);
    chunkLength += raw.length;
    meta.frames++;
    if (chunkLength >= 4 << 20) flushChunk();
    if (c.i === c.frames.length) {
      if (meta.calls < spec.calls) active[j] = startCall();
      else {
        active[j] = active[active.length - 1]!;
        active.pop();
      }
    }
  }
  flushChunk();
  fs.closeSync(fd);
  meta.nextIdBase = base;
  meta.generateMs = performance.now() - started;
  return meta;
}

/** Average frames a call, for sizing the latency stream. */
function averageFrames(frames: 'tracked' | 'all'): number {
  const s = loadScenarios(frames);
  return s.reduce((a, x) => a + x.weight * x.frames.length, 0) / s.reduce((a, x) => a + x.weight, 0);
}

// ---------------------------------------------------------------------------------------------
// reading a stream back: whole frames, in chunks

const TERM = Buffer.from('\r\n\r\n');

class FrameReader {
  private readonly fd: number;
  private buf = Buffer.alloc(0);
  private pos = 0;
  private eof = false;
  constructor(file: string) {
    this.fd = fs.openSync(file, 'r');
  }
  /** Up to `maxFrames` whole frames (fewer once `maxBytes` is reached); null at the end. */
  take(maxFrames: number, maxBytes = Number.POSITIVE_INFINITY): { data: Buffer; frames: number } | null {
    let p = this.pos;
    let frames = 0;
    while (frames < maxFrames && p - this.pos < maxBytes) {
      const i = this.buf.indexOf(TERM, p);
      if (i < 0) {
        const offset = this.pos;
        if (this.eof || !this.fill()) break;
        p -= offset;
        continue;
      }
      p = i + TERM.length;
      frames++;
    }
    if (frames === 0) return null;
    const data = this.buf.subarray(this.pos, p);
    this.pos = p;
    return { data, frames };
  }
  /** Appends a block after the unread part, which moves to offset 0. */
  private fill(): boolean {
    const block = Buffer.allocUnsafe(1 << 20);
    const n = fs.readSync(this.fd, block, 0, block.length, null);
    if (n === 0) {
      this.eof = true;
      return false;
    }
    this.buf = Buffer.concat([this.buf.subarray(this.pos), block.subarray(0, n)]);
    this.pos = 0;
    return true;
  }
  close(): void {
    fs.closeSync(this.fd);
  }
}

// ---------------------------------------------------------------------------------------------
// the fake PBX of the ceiling and throughput phases, in a child process

/**
 * The ceiling and throughput phases stream from a fake PBX in a child process: its file reading
 * and socket writes use neither this process's CPU nor its memory (what is measured here is the
 * client side only). The child writes while fewer than `window` frames are written and not yet
 * handled here (this process reports its count every 20 ms). In the latency phase the child writes
 * at a fixed rate and notes each frame's write time on the machine's monotonic clock (`clockMs`,
 * the same in both processes), in a file read once the phase is over: the pacing costs this process
 * nothing, as Asterisk's own writes would not.
 */
type ToPbx =
  | { type: 'stream'; file: string; window: number }
  | { type: 'pace'; file: string; frames: number; rate: number; stamps: string }
  | { type: 'handled'; n: number }
  | { type: 'clients' }
  | { type: 'close' };
type FromPbx =
  | { type: 'ready'; host: string; port: number }
  | { type: 'streamed'; frames: number }
  | { type: 'paced'; frames: number; seconds: number; bursts: Bursts }
  | { type: 'clients'; n: number };

async function pbxChild(): Promise<void> {
  const { username, secret } = JSON.parse(process.argv[3]!) as { username: string; secret: string };
  const pbx = await startDemoPbx({ port: 0, username, secret, uptimeSeconds: 1000 });
  const send = (m: FromPbx) => process.send!(m);
  let handled = 0;
  process.on('message', (m: ToPbx) => {
    if (m.type === 'handled') handled = m.n;
    else if (m.type === 'clients') send({ type: 'clients', n: pbx.clientCount() });
    else if (m.type === 'stream') {
      handled = 0;
      void streamAsFastAsTaken(pbx, m.file, () => handled, m.window).then(({ frames }) => send({ type: 'streamed', frames }));
    } else if (m.type === 'pace') {
      void pace(pbx, m.file, m.frames, m.rate, m.stamps).then((r) => send({ type: 'paced', ...r }));
    } else if (m.type === 'close') void pbx.close().then(() => process.exit(0));
  });
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready', ...pbx.address() });
}

async function startPbxChild(username: string, secret: string) {
  const child = fork(__filename, ['--pbx-child', JSON.stringify({ username, secret })], {
    execArgv: process.execArgv.filter((a) => !a.startsWith('--cpu-prof') && !a.startsWith('--heap-prof') && !a.startsWith('--trace')),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = <T extends FromPbx['type']>(type: T) =>
    new Promise<Extract<FromPbx, { type: T }>>((resolve, reject) => {
      const onMessage = (m: FromPbx) => {
        if (m.type !== type) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(m as Extract<FromPbx, { type: T }>);
      };
      const onExit = (code: number | null) => reject(new Error(`the fake PBX exited (${code})`));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  const ready = await next('ready');
  const send = (m: ToPbx) => child.send(m);
  return {
    host: ready.host,
    port: ready.port,
    /** Streams a file; resolves when every frame is written, with when it started (this process's clock). */
    async stream(file: string, handled: () => number, window: number): Promise<{ frames: number; startedAt: number }> {
      const report = setInterval(() => send({ type: 'handled', n: handled() }), 20);
      const startedAt = performance.now();
      send({ type: 'stream', file, window });
      try {
        const { frames } = await next('streamed');
        return { frames, startedAt };
      } finally {
        clearInterval(report);
      }
    },
    /** Writes a stream file at `rate` frames/s; each frame's write time (clockMs) goes to `stamps`. */
    async pace(file: string, frames: number, rate: number, stamps: string): Promise<{ frames: number; seconds: number; bursts: Bursts }> {
      send({ type: 'pace', file, frames, rate, stamps });
      const r = await next('paced');
      return { frames: r.frames, seconds: r.seconds, bursts: r.bursts };
    },
    async clients(): Promise<number> {
      send({ type: 'clients' });
      return (await next('clients')).n;
    },
    close: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        send({ type: 'close' });
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// measuring

const mb = (bytes: number) => bytes / (1024 * 1024);
const cpuMicros = (u: NodeJS.CpuUsage) => u.user + u.system;
const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const log = (line: string) => process.stderr.write(`${line}\n`);

async function waitUntil(condition: () => boolean, what: string, timeoutMs: number, pollMs = 2): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(pollMs);
  }
}

function percentile(sorted: Float64Array | number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]! : NaN;
}

/**
 * Milliseconds on CLOCK_MONOTONIC (libuv's hrtime): one clock for every process on the machine, so
 * a write time taken in the fake PBX's process compares with an emit time taken in this one.
 */
const clockMs = () => Number(process.hrtime.bigint()) / 1e6;

/** Writes `frames` frames of a stream file at `rate` frames/s (1 ms ticks); their write times go to `stampsFile`. */
/**
 * How evenly the fake PBX wrote: at 10k events/s a 1 ms tick writes ~10 frames; when its own
 * process was held up (this host's cores are shared with PostgreSQL and the pipeline), it catches
 * up with one large write, which the pipeline then reads as a burst.
 */
interface Bursts {
  /** most frames in one write */
  max: number;
  /** writes of more than 100 frames (10 ms of stream at 10k/s), and the frames in them */
  over100: number;
  framesInThem: number;
}

function pace(
  pbx: DemoPbx,
  file: string,
  frames: number,
  rate: number,
  stampsFile: string,
): Promise<{ frames: number; seconds: number; bursts: Bursts }> {
  const reader = new FrameReader(file);
  const stamps = new Float64Array(frames);
  const bursts: Bursts = { max: 0, over100: 0, framesInThem: 0 };
  let sent = 0;
  const startedAt = clockMs();
  return new Promise((resolve) => {
    const tick = () => {
      const due = Math.min(frames, Math.floor(((clockMs() - startedAt) * rate) / 1000));
      if (due > sent) {
        const c = reader.take(due - sent);
        if (c) {
          bursts.max = Math.max(bursts.max, c.frames);
          if (c.frames > 100) {
            bursts.over100++;
            bursts.framesInThem += c.frames;
          }
          stamps.fill(clockMs(), sent, sent + c.frames);
          pbx.writeRaw(c.data);
          sent += c.frames;
        } else frames = sent;
      }
      if (sent < frames) {
        setTimeout(tick, 1);
        return;
      }
      reader.close();
      const seconds = (clockMs() - startedAt) / 1000;
      fs.writeFileSync(stampsFile, new Uint8Array(stamps.buffer, 0, sent * 8));
      resolve({ frames: sent, seconds, bursts });
    };
    tick();
  });
}

/** Writes a stream file to the PBX's clients as fast as they take it: at most `window` frames unhandled. */
function streamAsFastAsTaken(
  pbx: DemoPbx,
  file: string,
  handled: () => number,
  window: number,
): Promise<{ frames: number; startedAt: number }> {
  const reader = new FrameReader(file);
  let sent = 0;
  const startedAt = performance.now();
  return new Promise((resolve) => {
    const pump = () => {
      while (sent - handled() < window) {
        const c = reader.take(Math.min(1024, window), 512 * 1024);
        if (!c) {
          reader.close();
          resolve({ frames: sent, startedAt });
          return;
        }
        pbx.writeRaw(c.data);
        sent += c.frames;
      }
      setTimeout(pump, 1);
    };
    pump();
  });
}

interface Sampler {
  stop(): void;
  peakRss: number;
  /** process.memoryUsage() at the peak RSS: where the memory is (heap, buffers) */
  atPeakRss: NodeJS.MemoryUsage | null;
  /** heapSpaces() at the peak RSS */
  spacesAtPeakRss: string;
  /** the store's backlog at the peak RSS */
  backlogAtPeakRss: string;
  peakHeap: number;
  peakOpen: number;
  /** RSS and heap at the sample with the most open calls */
  rssAtPeakOpen: number;
  heapAtPeakOpen: number;
  peakPendingEvents: number;
  samples: number;
}

/**
 * Samples every allocation from now on, the ones the GC has collected since included (where the
 * garbage comes from; BENCH_ALLOC_PROFILE_PROMOTED: only what survived the young generation, what
 * makes the old one grow); the returned function stops and writes the profile (a .heapprofile for
 * Chrome DevTools) to `file`.
 */
async function startAllocationProfile(file: string): Promise<() => Promise<string>> {
  const session = new inspector.Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) => session.post(method, params, (err, result) => (err ? reject(err) : resolve(result))));
  await post('HeapProfiler.enable');
  await post('HeapProfiler.startSampling', {
    samplingInterval: 16_384,
    includeObjectsCollectedByMajorGC: true,
    // BENCH_ALLOC_PROFILE_PROMOTED=1: leave out what died young: what is left was promoted
    includeObjectsCollectedByMinorGC: !process.env.BENCH_ALLOC_PROFILE_PROMOTED,
  });
  return async () => {
    const { profile } = (await post('HeapProfiler.stopSampling')) as { profile: unknown };
    fs.writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
    return file;
  };
}

/**
 * Where the time goes on this host (Linux /proc; null elsewhere): this process's main thread, the
 * one that reads AMI and runs the tracker (time running, and time runnable but waiting for a CPU),
 * and the CPU of the local PostgreSQL server's processes (the database's share of the work, when it
 * runs on this machine).
 */
interface HostTimes {
  mainRunMs: number;
  mainWaitMs: number;
  postgresCpuMs: number;
  at: number;
}

function hostTimes(): HostTimes | null {
  try {
    const [run, wait] = fs.readFileSync('/proc/self/schedstat', 'utf8').split(' ').map(Number);
    let postgresCpuMs = 0;
    for (const pid of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        if (fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'postgres') continue;
        // utime and stime, in clock ticks (100 a second on Linux), after the parenthesised name
        const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
        postgresCpuMs += (Number(fields[11]) + Number(fields[12])) * 10;
      } catch {
        /* the process has gone */
      }
    }
    return { mainRunMs: run! / 1e6, mainWaitMs: wait! / 1e6, postgresCpuMs, at: performance.now() };
  } catch {
    return null;
  }
}

/** "AMI thread busy 64 %, waiting for a CPU 26 %; local PostgreSQL 58 µs CPU/event" */
function hostShare(a: HostTimes | null, b: HostTimes | null, events: number): string {
  if (!a || !b) return 'no /proc: thread and PostgreSQL times not measured';
  const wall = b.at - a.at;
  return (
    `AMI thread running ${fmt((100 * (b.mainRunMs - a.mainRunMs)) / wall)} % of the time, waiting for a CPU ${fmt((100 * (b.mainWaitMs - a.mainWaitMs)) / wall)} %; ` +
    `local PostgreSQL processes ${fmt(((b.postgresCpuMs - a.postgresCpuMs) * 1000) / events, 1)} µs CPU/event ` +
    `(${fmt((100 * (b.postgresCpuMs - a.postgresCpuMs)) / wall)} % of a core)`
  );
}

/** "RSS 255 MiB: heap used 95 of 144 MiB (new 32, old 102, …), external 38 MiB (array buffers 35 MiB)" */
function memoryAt(m: NodeJS.MemoryUsage | null, spaces: string): string {
  if (!m) return 'no sample';
  return (
    `RSS ${fmt(mb(m.rss), 1)} MiB: heap used ${fmt(mb(m.heapUsed), 1)} of ${fmt(mb(m.heapTotal), 1)} MiB (${spaces}), ` +
    `external ${fmt(mb(m.external), 1)} MiB (array buffers ${fmt(mb(m.arrayBuffers), 1)} MiB)`
  );
}

/** The V8 heap's spaces, committed MiB: "new 32, old 150, code 4, large 20, …" */
function heapSpaces(): string {
  const short = (name: string) =>
    name
      .replace(/_space$/, '')
      .replace(/_object$/, '')
      .replace('new_large', 'new large');
  return v8
    .getHeapSpaceStatistics()
    .filter((sp) => sp.physical_space_size >= 1 << 20)
    .map((sp) => `${short(sp.space_name)} ${fmt(mb(sp.physical_space_size), 0)}`)
    .join(', ');
}

function startSampler(openCalls: () => number, pendingEvents: () => number, backlog: () => string): Sampler {
  const s: Sampler = {
    stop: () => undefined,
    peakRss: 0,
    atPeakRss: null,
    spacesAtPeakRss: '',
    backlogAtPeakRss: '',
    peakHeap: 0,
    peakOpen: 0,
    rssAtPeakOpen: 0,
    heapAtPeakOpen: 0,
    peakPendingEvents: 0,
    samples: 0,
  };
  let open = 0;
  const sample = () => {
    const m = process.memoryUsage();
    // capture.stats() walks every remembered call: once a second is enough
    if (s.samples % 10 === 0) open = openCalls();
    s.samples++;
    if (m.rss > s.peakRss) {
      s.peakRss = m.rss;
      s.atPeakRss = m;
      s.spacesAtPeakRss = heapSpaces();
      s.backlogAtPeakRss = backlog();
    }
    s.peakHeap = Math.max(s.peakHeap, m.heapUsed);
    s.peakPendingEvents = Math.max(s.peakPendingEvents, pendingEvents());
    if (open > s.peakOpen || (open === s.peakOpen && m.rss > s.rssAtPeakOpen)) {
      s.peakOpen = open;
      s.rssAtPeakOpen = m.rss;
      s.heapAtPeakOpen = m.heapUsed;
    }
  };
  sample();
  const t = setInterval(sample, 100);
  s.stop = () => {
    clearInterval(t);
    sample();
  };
  return s;
}

// ---------------------------------------------------------------------------------------------
// database

const benchUrl = benchDatabase('calltrack_bench_ingest').url;

/**
 * Where the database time goes: every transaction (the store writes one per batch) and every
 * statement run through TypeORM, by its first words, wall time from the event loop's view.
 */
function instrumentDatabase(ds: DataSource) {
  const byKind = new Map<string, { n: number; ms: number }>();
  const add = (kind: string, ms: number) => {
    const e = byKind.get(kind) ?? { n: 0, ms: 0 };
    e.n++;
    e.ms += ms;
    byKind.set(kind, e);
  };
  const transaction = ds.transaction.bind(ds) as (fn: (m: EntityManager) => Promise<unknown>) => Promise<unknown>;
  (ds as unknown as { transaction: typeof transaction }).transaction = async (fn) => {
    const t = performance.now();
    try {
      return await transaction(async (m) => {
        const query = m.query.bind(m);
        (m as unknown as { query: typeof query }).query = async (sql: string, params?: unknown[]) => {
          const t1 = performance.now();
          try {
            return await query(sql, params);
          } finally {
            add(sql.trim().split(/\s+/).slice(0, 3).join(' ').slice(0, 40), performance.now() - t1);
          }
        };
        // the store's prepared statements go to the pg client itself (by name)
        type Client = { query: (...args: unknown[]) => Promise<unknown> };
        const runner = m.queryRunner as unknown as { connect(): Promise<Client> };
        const connect = runner.connect.bind(runner);
        runner.connect = async () =>
          new Proxy(await connect(), {
            get(target, prop) {
              const value = Reflect.get(target, prop) as unknown;
              if (prop !== 'query') return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
              return async (...args: unknown[]) => {
                const named = (args[0] as { name?: unknown } | null)?.name;
                const t1 = performance.now();
                try {
                  return await target.query(...args);
                } finally {
                  if (typeof named === 'string') add(named, performance.now() - t1);
                }
              };
            },
          });
        return fn(m);
      });
    } finally {
      add('(transaction)', performance.now() - t);
    }
  };
  return {
    reset: () => byKind.clear(),
    summary: () =>
      [...byKind]
        .sort((a, b) => b[1].ms - a[1].ms)
        .map(([k, v]) => `${k}: ${fmt(v.n)} × ${fmt(v.ms / v.n, 1)} ms = ${fmt(v.ms / 1000, 1)} s`)
        .join('; '),
  };
}

// ---------------------------------------------------------------------------------------------
// main

interface Row {
  metric: string;
  value: string;
  target: string;
  pass: boolean | null;
}

async function main(): Promise<void> {
  const N = Math.round(numArg('calls', 100_000));
  const OPEN = Math.round(numArg('open', 2000));
  const RATE = numArg('rate', 10_000);
  const LATENCY_SECONDS = numArg('latency-seconds', 25);
  const WINDOW = Math.round(numArg('window', 8000));
  const SEED = Math.round(numArg('seed', 1));
  const FRAMES = strArg('frames', 'tracked') === 'all' ? 'all' : 'tracked';
  const PHASES = new Set(strArg('phases', 'ceiling,throughput,latency').split(','));
  const benchStarted = performance.now();

  // -- streams -------------------------------------------------------------------------------
  const latencyCalls = Math.ceil((RATE * LATENCY_SECONDS) / averageFrames(FRAMES));
  const key = crypto
    .createHash('sha1')
    .update(JSON.stringify({ v: 2, N, OPEN, SEED, FRAMES, latencyCalls, MIX }))
    .digest('hex')
    .slice(0, 12);
  const dir = path.join(os.tmpdir(), 'calltrack-bench-ingest');
  fs.mkdirSync(dir, { recursive: true });
  const metaFile = path.join(dir, `${key}.meta.json`);
  let streams: { throughput: StreamMeta; latency: StreamMeta };
  if (fs.existsSync(metaFile)) {
    streams = JSON.parse(fs.readFileSync(metaFile, 'utf8')) as typeof streams;
    log(`reusing the pre-rendered streams in ${dir} (${key})`);
  } else {
    log(`rendering ${fmt(N)} calls (+${fmt(latencyCalls)} for the latency phase), ${OPEN} open at once, frames: ${FRAMES} …`);
    const specs: StreamSpec[] = [
      { file: path.join(dir, `${key}.throughput.ami`), calls: N, open: OPEN, seed: SEED, idBase: 10_000_000, shiftBase: 0, frames: FRAMES },
      {
        file: path.join(dir, `${key}.latency.ami`),
        calls: latencyCalls,
        open: OPEN,
        seed: SEED + 1,
        idBase: 0,
        shiftBase: 86_400,
        frames: FRAMES,
      },
    ];
    const [throughput, latency] = await new Promise<StreamMeta[]>((resolve, reject) => {
      const child = fork(__filename, ['--generate-child', JSON.stringify(specs)], {
        execArgv: process.execArgv.filter((a) => !a.startsWith('--cpu-prof') && !a.startsWith('--heap-prof')),
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      child.once('message', (m) => resolve(m as StreamMeta[]));
      child.once('error', reject);
      child.once('exit', (code) => (code ? reject(new Error(`the stream generator exited with ${code}`)) : undefined));
    });
    streams = { throughput: throughput!, latency: latency! };
    fs.writeFileSync(metaFile, JSON.stringify(streams));
  }
  const T = streams.throughput;
  const L = streams.latency;
  log(
    `throughput stream: ${fmt(T.frames)} frames, ${fmt(T.calls)} calls (${fmt(T.records)} records), ${fmt(mb(T.bytes))} MiB` +
      (T.generateMs ? `, rendered in ${fmt(T.generateMs / 1000, 1)} s` : ''),
  );
  log(`latency stream:    ${fmt(L.frames)} frames, ${fmt(L.calls)} calls`);

  // -- database ------------------------------------------------------------------------------
  const dropDatabase = await recreateDatabase(benchUrl);
  const logger = createLogger(process.env.LOG_LEVEL ?? 'warn', pino.destination(2));
  const ds = createDataSource({ url: benchUrl });
  await ds.initialize();
  await migrate(ds, logger);
  const parts = wire(ds, { logger, defaultCountry: 'UA', sessionSecret: crypto.randomBytes(32).toString('hex') });
  const dbTiming = instrumentDatabase(ds);
  for (const ext of ['101', '102', '103']) {
    await parts.users.create(null, {
      email: `m${ext}@bench.test`,
      name: `Manager ${ext}`,
      password: `bench-${ext}-password`,
      role: 'manager',
      extensions: [ext],
    });
  }
  await parts.directory.reload();

  const username = 'calltrack';
  const secret = crypto.randomBytes(8).toString('hex');
  const remote = await startPbxChild(username, secret);
  const rows: Row[] = [];
  const info: string[] = [];
  let bareRate = NaN;
  let bareCpu = NaN;
  let pipelineRate: number | undefined;

  try {
    // -- 1. ceiling: bare asterisk-manager ----------------------------------------------------
    if (PHASES.has('ceiling')) {
      log('ceiling: the stream through a bare asterisk-manager client …');
      let events = 0;
      let booted = false;
      const manager = AsteriskManager(remote.port, remote.host, username, secret, true);
      manager.on('managerevent', (frame) => {
        events++;
        if (frame.event === 'FullyBooted') booted = true;
      });
      await waitUntil(() => booted, 'the bare client login', 10_000);
      const before = events;
      const cpu = process.cpuUsage();
      const { frames, startedAt } = await remote.stream(T.file, () => events - before, WINDOW);
      await waitUntil(() => events - before >= frames, 'the bare client to receive every frame', 600_000, 1);
      const seconds = (performance.now() - startedAt) / 1000;
      bareCpu = cpuMicros(process.cpuUsage(cpu)) / frames;
      bareRate = frames / seconds;
      log(`  ${fmt(frames)} events in ${fmt(seconds, 1)} s: ${fmt(bareRate)} events/s, ${fmt(bareCpu, 1)} µs CPU/event`);
      if (frames !== T.frames) throw new Error(`ceiling: ${frames} frames written, ${T.frames} in the stream`);
      manager.disconnect();
      for (let i = 0; (await remote.clients()) > 0; i++) {
        if (i > 500) throw new Error('the bare client did not leave');
        await sleep(20);
      }
    }

    // -- the pipeline -------------------------------------------------------------------------
    const silent = createLogger('silent');
    // frame counters around the pipeline's own listener (listeners run in subscription order)
    let seq = 0;
    let handled = 0;
    let latencyBase = -1;
    let current = -1;
    let onHandled: ((n: number) => void) | null = null;
    /** The real client and PbxLink on the given fake PBX, logged in and resynchronised. */
    const connect = async (host: string, port: number) => {
      const client = createAmiClient({ host, port, username, secret, logger: logger.child({ component: 'ami' }), pingIntervalMs: 60_000 });
      client.onFrame(() => {
        seq++;
        current = latencyBase >= 0 ? seq - 1 - latencyBase : -1;
      });
      const link = createPbxLink({
        client,
        capture: parts.capture,
        logger: silent,
        mode: 'asterisk',
        staleAfterMs: 3_600_000,
        sweepIntervalMs: 3_600_000,
      });
      client.onFrame(() => {
        handled++;
        current = -1;
        if (onHandled) onHandled(handled);
      });
      link.start();
      await waitUntil(() => link.status().resyncs >= 1, 'the pipeline login and resync', 10_000);
      return link;
    };
    let updates = 0;
    // latency samples: the frame being handled and the clockMs() of the update; the frames' write
    // times come from the fake PBX once the phase is over
    let sampleFrame: Int32Array = new Int32Array(0);
    let sampleAt: Float64Array = new Float64Array(0);
    let latencyCount = 0;
    let asyncUpdates = 0;
    parts.bus.subscribe(() => {
      updates++;
      if (current >= 0) {
        if (latencyCount < sampleAt.length) {
          sampleFrame[latencyCount] = current;
          sampleAt[latencyCount++] = clockMs();
        }
      } else if (latencyBase >= 0) asyncUpdates++;
    });
    const storeBacklog = () => {
      const st = parts.store.stats();
      return `store backlog ${fmt(st.pendingEvents)} events (${fmt(mb(st.pendingJournalBytes), 1)} MiB), ${fmt(st.pendingCalls)} calls`;
    };
    const dbCounts = async () => {
      const [r] = (await ds.query(
        `SELECT (SELECT count(*) FROM calls)::int AS calls,
                (SELECT count(*) FROM calls WHERE state = 'ended')::int AS ended,
                (SELECT count(*) FROM call_legs)::int AS legs,
                (SELECT count(*) FROM recordings)::int AS recordings,
                (SELECT count(DISTINCT external_number) FROM calls)::int AS numbers,
                (SELECT count(*) FROM call_events WHERE kind = 'ami')::int AS journal,
                (SELECT count(*) FROM call_events)::int AS journal_all`,
      )) as Array<{
        calls: number;
        ended: number;
        legs: number;
        recordings: number;
        numbers: number;
        journal: number;
        journal_all: number;
      }>;
      return r!;
    };

    // -- 2. throughput ------------------------------------------------------------------------
    if (PHASES.has('throughput')) {
      log('throughput: the stream through the pipeline into PostgreSQL …');
      const link = await connect(remote.host, remote.port);
      const handledBefore = handled;
      const seqBefore = seq;
      const updatesBefore = updates;
      dbTiming.reset();
      const m0 = process.memoryUsage();
      info.push(
        `at the start of the throughput phase: RSS ${fmt(mb(m0.rss), 1)} MiB, heap ${fmt(mb(m0.heapUsed), 1)} / ${fmt(mb(m0.heapTotal), 1)} MiB, ` +
          `external ${fmt(mb(m0.external), 1)} MiB`,
      );
      const sampler = startSampler(
        () => parts.capture.stats().openCalls,
        () => parts.store.stats().pendingEvents,
        storeBacklog,
      );
      const cpu = process.cpuUsage();
      const host0 = hostTimes();
      if (process.env.BENCH_HEAP_SNAPSHOT_MID) {
        const when = setInterval(() => {
          if (handled - handledBefore < T.frames / 2) return;
          clearInterval(when);
          log(`heap snapshot: ${v8.writeHeapSnapshot(process.env.BENCH_HEAP_SNAPSHOT_MID)}`);
        }, 100);
      }
      const { frames, startedAt } = await remote.stream(T.file, () => handled - handledBefore, WINDOW);
      await waitUntil(() => handled - handledBefore >= frames, 'the pipeline to handle every frame', 600_000, 1);
      const handledAt = performance.now();
      await parts.capture.idle();
      await parts.store.flush();
      const storedAt = performance.now();
      const pipelineCpu = cpuMicros(process.cpuUsage(cpu)) / frames;
      const hostThroughput = hostShare(host0, hostTimes(), frames);
      sampler.stop();
      const seconds = (storedAt - startedAt) / 1000;
      pipelineRate = frames / seconds;
      const handleRate = frames / ((handledAt - startedAt) / 1000);
      log(
        `  ${fmt(frames)} events handled in ${fmt((handledAt - startedAt) / 1000, 1)} s (${fmt(handleRate)}/s), ` +
          `stored in ${fmt(seconds, 1)} s: ${fmt(pipelineRate)} events/s, ${fmt(T.calls / seconds)} calls/s, ${fmt(pipelineCpu, 1)} µs CPU/event`,
      );
      if (frames !== T.frames) throw new Error(`throughput: ${frames} frames written, ${T.frames} in the stream`);
      const gc = (globalThis as { gc?: () => void }).gc;
      if (gc) {
        gc();
        const m = process.memoryUsage();
        info.push(
          `after the throughput phase, after a full GC (--expose-gc): heap ${fmt(mb(m.heapUsed), 1)} / ${fmt(mb(m.heapTotal), 1)} MiB, ` +
            `RSS ${fmt(mb(m.rss), 1)} MiB, external ${fmt(mb(m.external), 1)} MiB`,
        );
        if (process.env.BENCH_HEAP_SNAPSHOT) log(`heap snapshot: ${v8.writeHeapSnapshot(process.env.BENCH_HEAP_SNAPSHOT)}`);
      }
      info.push(
        `database, throughput phase (the calls' transactions; the journal's COPY runs beside them on a connection of its own, untimed): ${dbTiming.summary()}`,
      );
      const db = await dbCounts();
      const mixRows = (await ds.query(`SELECT direction, disposition, missed, count(*)::int AS n FROM calls GROUP BY 1, 2, 3`)) as Array<{
        direction: string;
        disposition: string | null;
        missed: boolean;
        n: number;
      }>;
      const mix = Object.fromEntries(mixRows.map((r) => [mixKey(r.direction, r.disposition, r.missed), r.n]));
      const mixOk = JSON.stringify(Object.entries(mix).sort()) === JSON.stringify(Object.entries(T.mix).sort());
      const journalOk = db.journal === seq && seq - seqBefore === frames;
      const callsOk = db.calls === T.records && db.ended === T.records;
      if (db.ended < db.calls) {
        // a stream that ends every call must leave none open: what was left, for whoever looks next
        const open = (await ds.query(
          `SELECT c.pbx_call_id, c.state, c.direction, c.version::text AS version, c.started_at,
                  (SELECT count(*)::int FROM call_events e WHERE e.pbx_call_id = c.pbx_call_id) AS journal
             FROM calls c WHERE c.state <> 'ended' ORDER BY c.started_at LIMIT 10`,
        )) as Array<Record<string, unknown>>;
        info.push(
          `${fmt(db.calls - db.ended)} calls stored but not ended after the stream; the tracker has ${fmt(parts.capture.stats().openCalls)} open; ` +
            `the first: ${JSON.stringify(open)}`,
        );
      }
      if (!mixOk) info.push(`direction/disposition mix differs: stored ${JSON.stringify(mix)}, expected ${JSON.stringify(T.mix)}`);
      rows.push(
        { metric: 'events/s sustained (until stored)', value: fmt(pipelineRate), target: '>= 20,000', pass: pipelineRate >= 20_000 },
        { metric: 'calls/s sustained (until stored)', value: fmt(T.calls / seconds), target: '', pass: null },
        { metric: 'events/s handled (tracker, no DB wait)', value: fmt(handleRate), target: '', pass: null },
      );
      if (Number.isFinite(bareRate)) {
        rows.push(
          { metric: 'bare asterisk-manager events/s', value: fmt(bareRate), target: '(ceiling)', pass: null },
          {
            metric: 'ratio pipeline / bare',
            value: fmt(pipelineRate / bareRate, 2),
            target: '>= 0.5',
            pass: pipelineRate / bareRate >= 0.5,
          },
        );
      }
      rows.push({
        metric: 'CPU/event (this process): pipeline, bare',
        value: `${fmt(pipelineCpu, 1)}, ${Number.isFinite(bareCpu) ? fmt(bareCpu, 1) : '-'} µs`,
        target: '',
        pass: null,
      });
      rows.push(
        {
          metric: 'peak RSS, throughput phase',
          value: `${fmt(mb(sampler.peakRss), 1)} MiB`,
          target: '< 200 MiB',
          pass: mb(sampler.peakRss) < 200,
        },
        {
          metric: 'calls open at once (peak)',
          value: fmt(sampler.peakOpen),
          target: `>= ${fmt(Math.round(OPEN * 0.9))}`,
          pass: sampler.peakOpen >= OPEN * 0.9,
        },
        {
          metric: 'RSS / heap at peak open',
          value: `${fmt(mb(sampler.rssAtPeakOpen), 1)} / ${fmt(mb(sampler.heapAtPeakOpen), 1)} MiB`,
          target: '',
          pass: null,
        },
        {
          metric: 'DB: calls stored, ended',
          value: `${fmt(db.calls)}, ${fmt(db.ended)}`,
          target: `= ${fmt(T.records)}`,
          pass: callsOk,
        },
        {
          metric: 'DB: journal rows (ami)',
          value: fmt(db.journal),
          target: `= ${fmt(seq)} frames`,
          pass: journalOk,
        },
        { metric: 'DB: direction/disposition mix', value: mixOk ? 'as expected.json' : 'DIFFERS', target: 'as expected.json', pass: mixOk },
      );
      info.push(
        `throughput stream: ${fmt(T.frames)} frames (${FRAMES}), ${fmt(T.calls)} calls → ${fmt(T.records)} records, ${fmt(mb(T.bytes))} MiB; ` +
          `scenarios ${JSON.stringify(T.byScenario)}`,
        `the database finished ${fmt((storedAt - handledAt) / 1000, 1)} s after the last frame was handled; ` +
          `DB after throughput: calls ${fmt(db.calls)} (${fmt(db.numbers)} distinct customer numbers), legs ${fmt(db.legs)}, recordings ${fmt(db.recordings)}, journal ${fmt(db.journal_all)} (ami ${fmt(db.journal)}); ` +
          `${fmt(updates - updatesBefore)} call:update published; peak journal backlog ${fmt(sampler.peakPendingEvents)} events; ` +
          `peak heap ${fmt(mb(sampler.peakHeap), 1)} MiB; store ${JSON.stringify(parts.store.stats())}`,
        `throughput phase, at the peak: ${memoryAt(sampler.atPeakRss, sampler.spacesAtPeakRss)}; ${sampler.backlogAtPeakRss}`,
        `throughput phase: ${hostThroughput}`,
      );
      await link.stop();
    }

    // -- 3. latency ---------------------------------------------------------------------------
    if (PHASES.has('latency')) {
      log(`latency: ${fmt(L.frames)} frames paced at ${fmt(RATE)} events/s …`);
      const link = await connect(remote.host, remote.port);
      // about one update per 5 frames: room for one per frame
      sampleFrame = new Int32Array(L.frames);
      sampleAt = new Float64Array(L.frames);
      latencyCount = 0;
      const handledAt = new Float64Array(L.frames);
      const handledBefore = handled;
      onHandled = (n) => {
        const i = n - handledBefore - 1;
        if (i >= 0 && i < handledAt.length) handledAt[i] = clockMs();
      };
      latencyBase = seq;
      const sampler = startSampler(
        () => parts.capture.stats().openCalls,
        () => parts.store.stats().pendingEvents,
        storeBacklog,
      );
      const loopDelay = monitorEventLoopDelay({ resolution: 1 });
      loopDelay.enable();
      const gcPauses: Array<{ kind: number; ms: number; at: number }> = [];
      const stalls: Array<{ at: number; ms: number; batches: number }> = [];
      let lastProbe = performance.now();
      const probe = setInterval(() => {
        const now = performance.now();
        if (now - lastProbe > 50) stalls.push({ at: now, ms: now - lastProbe, batches: parts.store.stats().batches });
        lastProbe = now;
      }, 1);
      const gcObserver = new PerformanceObserver((list) => {
        for (const e of list.getEntries())
          gcPauses.push({
            kind: (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? 0,
            ms: e.duration,
            at: e.startTime,
          });
      });
      gcObserver.observe({ entryTypes: ['gc'] });
      const allocations = process.env.BENCH_ALLOC_PROFILE ? await startAllocationProfile(process.env.BENCH_ALLOC_PROFILE) : null;
      const startedAt = performance.now();
      const stampsFile = path.join(dir, `${key}.latency.stamps`);
      const host0 = hostTimes();
      const { frames: sent, seconds: paceSeconds, bursts } = await remote.pace(L.file, L.frames, RATE, stampsFile);
      const hostLatency = hostShare(host0, hostTimes(), sent);
      if (allocations) log(`allocation profile: ${await allocations()}`);
      loopDelay.disable();
      gcObserver.disconnect();
      clearInterval(probe);
      if (process.env.BENCH_DEBUG_STALLS) {
        for (const st of stalls) {
          const gcs = gcPauses.filter((g) => g.at + g.ms >= st.at - st.ms && g.at <= st.at).map((g) => `${g.kind}:${fmt(g.ms, 1)}`);
          log(`  stall at +${fmt((st.at - startedAt) / 1000, 2)} s: ${fmt(st.ms, 0)} ms; store batches ${st.batches}; gc ${gcs.join(' ')}`);
        }
      }
      await waitUntil(() => handled - handledBefore >= sent, 'the pipeline to handle the paced frames', 60_000, 1);
      latencyBase = -1;
      onHandled = null;
      await parts.capture.idle();
      await parts.store.flush();
      sampler.stop();
      const stamps = fs.readFileSync(stampsFile);
      fs.rmSync(stampsFile, { force: true });
      const writtenAt = new Float64Array(new Uint8Array(stamps).buffer); // a copy: aligned
      const lat = new Float64Array(latencyCount);
      for (let i = 0; i < latencyCount; i++) lat[i] = sampleAt[i]! - writtenAt[sampleFrame[i]!]!;
      lat.sort();
      const hl = new Float64Array(sent);
      for (let i = 0; i < sent; i++) hl[i] = handledAt[i]! - writtenAt[i]!;
      hl.sort();
      const p99 = percentile(lat, 0.99);
      log(
        `  ${fmt(sent)} frames in ${fmt(paceSeconds, 1)} s (${fmt(sent / paceSeconds)}/s); ${fmt(latencyCount)} updates: ` +
          `p50 ${fmt(percentile(lat, 0.5), 2)} ms, p99 ${fmt(p99, 2)} ms, max ${fmt(lat[lat.length - 1] ?? NaN, 2)} ms`,
      );
      rows.push(
        {
          metric: `latency: achieved rate (target ${fmt(RATE)}/s)`,
          value: `${fmt(sent / paceSeconds)}/s`,
          target: `>= ${fmt(RATE * 0.98)}`,
          pass: sent / paceSeconds >= RATE * 0.98,
        },
        { metric: 'latency frame → call:update p50', value: `${fmt(percentile(lat, 0.5), 2)} ms`, target: '', pass: null },
        { metric: 'latency frame → call:update p99', value: `${fmt(p99, 2)} ms`, target: '< 10 ms', pass: p99 < 10 },
        { metric: 'latency frame → call:update max', value: `${fmt(lat[lat.length - 1] ?? NaN, 2)} ms`, target: '', pass: null },
        {
          metric: 'latency frame → handled p50 / p99',
          value: `${fmt(percentile(hl, 0.5), 2)} / ${fmt(percentile(hl, 0.99), 2)} ms`,
          target: '',
          pass: null,
        },
        {
          metric: 'peak RSS, latency phase',
          value: `${fmt(mb(sampler.peakRss), 1)} MiB`,
          target: '< 200 MiB',
          pass: mb(sampler.peakRss) < 200,
        },
      );
      const gcOf = (kinds: number[]) => {
        const p = gcPauses.filter((g) => kinds.includes(g.kind)).map((g) => g.ms);
        return `${p.length} (total ${fmt(
          p.reduce((a, b) => a + b, 0),
          0,
        )} ms, max ${fmt(Math.max(0, ...p), 1)} ms)`;
      };
      info.push(
        `latency phase: event-loop delay p50 ${fmt(loopDelay.percentile(50) / 1e6, 2)} ms, p99 ${fmt(loopDelay.percentile(99) / 1e6, 2)} ms, ` +
          `max ${fmt(loopDelay.max / 1e6, 1)} ms; GC pauses: scavenges ${gcOf([constants.NODE_PERFORMANCE_GC_MINOR])}, ` +
          `mark-compacts ${gcOf([constants.NODE_PERFORMANCE_GC_MAJOR, constants.NODE_PERFORMANCE_GC_INCREMENTAL])}`,
      );
      info.push(
        `latency phase, at the peak: ${memoryAt(sampler.atPeakRss, sampler.spacesAtPeakRss)}; ${sampler.backlogAtPeakRss}`,
        `latency phase: ${hostLatency}`,
        `latency phase, the fake PBX's writes: at most ${fmt(bursts.max)} frames at once; ${fmt(bursts.over100)} writes of over 100 frames ` +
          `(a catch-up after its process was held up), ${fmt(bursts.framesInThem)} frames in them (${fmt((100 * bursts.framesInThem) / Math.max(1, sent), 1)} %)`,
        `latency stream: ${fmt(L.frames)} frames, ${fmt(L.calls)} calls; ${fmt(latencyCount)} samples ` +
          `(one per call:update published while its frame was handled; ${fmt(asyncUpdates)} later updates not counted); peak open ${fmt(sampler.peakOpen)}`,
      );
      await link.stop();
      const db = await dbCounts();
      const expectedCalls = (PHASES.has('throughput') ? T.records : 0) + L.records;
      const ok = db.calls === expectedCalls && db.ended === expectedCalls && db.journal === seq;
      rows.push({
        metric: 'DB at the end: calls, ended, journal',
        value: `${fmt(db.calls)}, ${fmt(db.ended)}, ${fmt(db.journal)}`,
        target: `= ${fmt(expectedCalls)}, ${fmt(expectedCalls)}, ${fmt(seq)}`,
        pass: ok,
      });
    }
  } finally {
    await remote.close();
    await parts.store.close();
    await ds.destroy();
    if (!flag('keep-db')) await dropDatabase();
    if (!flag('keep-frames')) {
      for (const f of [metaFile, streams.throughput.file, streams.latency.file]) fs.rmSync(f, { force: true });
    }
  }

  // -- report ----------------------------------------------------------------------------------
  const head = ['metric', 'value', 'target', 'result'];
  const body = rows.map((r) => [r.metric, r.value, r.target, r.pass === null ? '' : r.pass ? 'PASS' : 'FAIL']);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === 1 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  console.log(`\ncalltrack ingest bench: ${fmt(N)} calls, ${OPEN} open at once, node ${process.version}, ${os.cpus().length} CPUs`);
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const b of body) console.log(line(b));
  for (const i of info) console.log(`- ${i}`);
  console.log(`- total bench time ${fmt((performance.now() - benchStarted) / 1000, 1)} s`);
  const failed = rows.filter((r) => r.pass === false);
  console.log(failed.length ? `FAIL: ${failed.map((r) => r.metric).join('; ')}` : 'PASS: every target met');
  process.exitCode = failed.length ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// the measured process runs compiled JavaScript, as in production

/**
 * Started through @swc-node/register, this process carries the TypeScript hook: the compiler, the
 * `typescript` package it loads for tsconfig, and source maps cost ~80 MiB of RSS and ~25 MiB of
 * heap that `node dist/src/main.js` does not have. So the bench compiles src/, migrations/ and
 * itself with the same hook's compiler into os.tmpdir() and runs that copy in a plain `node`
 * (node flags such as --cpu-prof or --expose-gc are passed on). `--in-process` skips this.
 */
function runCompiled(): Promise<number> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const swc = require('@swc-node/register/register') as { compile(code: string, file: string, options: object): string };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { readDefaultTsConfig } = require('@swc-node/register/read-default-tsconfig') as { readDefaultTsConfig(): object };
  const options = { ...readDefaultTsConfig(), module: 1 /* CommonJS */, sourceMap: false, inlineSourceMap: false };
  const out = path.join(os.tmpdir(), 'calltrack-bench-ingest', 'js');
  fs.rmSync(out, { recursive: true, force: true });
  const sources: string[] = [path.join(ROOT, 'test', 'bench', 'ingest.bench.ts'), path.join(ROOT, 'test', 'bench', 'bench-kit.ts')];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (full !== path.join(ROOT, 'src', 'web')) walk(full);
      } else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) sources.push(full);
    }
  };
  walk(path.join(ROOT, 'src'));
  walk(path.join(ROOT, 'migrations'));
  for (const file of sources) {
    const js = swc.compile(fs.readFileSync(file, 'utf8'), file, { ...options }).replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n');
    const target = path.join(out, path.relative(ROOT, file)).replace(/\.ts$/, '.js');
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, js);
  }
  // node's flags as `npm start` passes them (unless given here), then those this bench got
  const execArgv: string[] = COMMAND_LINE_FLAGS.filter((f) => !process.execArgv.some((a) => a.startsWith(f.split('=')[0]!)));
  for (let i = 0; i < process.execArgv.length; i++) {
    const a = process.execArgv[i]!;
    if (a === '-r' || a === '--require') i++;
    else if (!a.startsWith('--require=') && !a.startsWith('-r=')) execArgv.push(a);
  }
  const entry = path.join(out, 'test', 'bench', 'ingest.bench.js');
  log(`running the compiled bench (${sources.length} modules) in ${out}`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...execArgv, entry, ...args], {
      stdio: 'inherit',
      env: {
        ...process.env,
        CALLTRACK_BENCH_ROOT: ROOT,
        NODE_PATH: [path.join(ROOT, 'node_modules'), process.env.NODE_PATH].filter(Boolean).join(path.delimiter),
      },
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

if (process.argv[2] === '--pbx-child') {
  pbxChild().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
} else if (process.argv[2] === '--generate-child') {
  const specs = JSON.parse(process.argv[3]!) as StreamSpec[];
  const metas: StreamMeta[] = [];
  let idBase = 0;
  for (const spec of specs) {
    // each stream continues the ids of the previous one
    const meta = generate({ ...spec, idBase: Math.max(spec.idBase, idBase) });
    idBase = meta.nextIdBase;
    metas.push(meta);
  }
  process.send!(metas, () => process.exit(0));
} else if (!process.env.CALLTRACK_BENCH_ROOT && !flag('in-process') && __filename.endsWith('.ts')) {
  runCompiled().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
} else {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
