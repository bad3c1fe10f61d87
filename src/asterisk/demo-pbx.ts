import { readdir, readFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import type { Logger } from '../logger';

/**
 * A real AMI server on TCP that plays captured Asterisk transcripts: the demo PBX (demo mode) and
 * the fake PBX of the integration tests. It speaks the protocol as Asterisk 22 does (banner, Login,
 * FullyBooted, Ping, CoreShowChannels as an EventList, Logoff, errors), replays the recorded event
 * frames byte for byte, keeps the live channels of what it has played so CoreShowChannels answers
 * truthfully mid-call, and injects faults (dropped sockets, restart, a frozen server, raw garbage).
 *
 * A transcript is `ami.jsonl` as captured (see ../../test/fixtures/ami): `{ n, rx, raw }` a line.
 */

export interface TranscriptFrame {
  /** Order in the capture (1 = banner). */
  readonly n: number;
  /** Receive time in the capture, epoch seconds with µs. */
  readonly rx: number;
  /** The exact bytes, `\r\n` line ends. */
  readonly raw: string;
}

export interface DemoScenario {
  readonly name: string;
  readonly frames: readonly TranscriptFrame[];
}

/** Where the demo scenarios live next to this module (copied beside the compiled JS by the build). */
export const DEMO_TRANSCRIPTS_DIR = path.join(__dirname, 'demo-transcripts');

export const DEFAULT_BANNER = 'Asterisk Call Manager/11.0.0';

export function parseTranscript(jsonl: string, source = 'transcript'): TranscriptFrame[] {
  const frames: TranscriptFrame[] = [];
  jsonl.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    const value: unknown = JSON.parse(line);
    if (
      typeof value !== 'object' ||
      value === null ||
      typeof (value as TranscriptFrame).n !== 'number' ||
      typeof (value as TranscriptFrame).rx !== 'number' ||
      typeof (value as TranscriptFrame).raw !== 'string'
    ) {
      throw new Error(`${source}:${index + 1}: expected {"n": number, "rx": number, "raw": string}`);
    }
    const { n, rx, raw } = value as TranscriptFrame;
    frames.push({ n, rx, raw });
  });
  return frames;
}

export async function readTranscript(file: string): Promise<TranscriptFrame[]> {
  return parseTranscript(await readFile(file, 'utf8'), file);
}

/** Every `<name>.jsonl` in `dir`, sorted by name. */
export async function loadDemoScenarios(dir: string = DEMO_TRANSCRIPTS_DIR): Promise<DemoScenario[]> {
  const names = (await readdir(dir)).filter((f) => f.endsWith('.jsonl')).sort();
  return Promise.all(names.map(async (f) => ({ name: f.slice(0, -'.jsonl'.length), frames: await readTranscript(path.join(dir, f)) })));
}

// ---------------------------------------------------------------------------------------------
// Frames: a tiny header reader (the server must not depend on the client-side parser)

/** `[key, value]` per header line, in order; a line without ': ' is `[line, '']`. */
function headerLines(raw: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const line of raw.split(/\r?\n/)) {
    if (line === '') continue;
    const i = line.indexOf(': ');
    out.push(i < 0 ? [line.endsWith(':') ? line.slice(0, -1) : line, ''] : [line.slice(0, i), line.slice(i + 2)]);
  }
  return out;
}

/** First value of each header (exact-case keys). */
function headerMap(raw: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const [k, v] of headerLines(raw)) if (!map.has(k)) map.set(k, v);
  return map;
}

type FrameKind = 'event' | 'seed' | 'skip';

/**
 * What `play()` does with a recorded frame. Sent: every `Event:` frame as recorded. Not sent: the
 * banner and every `Response:` (the capture client's Login/Logoff answers), the recorded
 * `FullyBooted` (it answered the capture client's login: the server sends its own on each login, and
 * a replayed one would look like a PBX restart), and events carrying an `ActionID` (list items
 * answering the capture client's own actions). Recorded `CoreShowChannel` items are not sent but
 * seed the live channel table (resync_midcall starts with a call already up).
 */
export function classifyFrame(frame: TranscriptFrame): FrameKind {
  if (!frame.raw.startsWith('Event: ')) return 'skip';
  const headers = headerMap(frame.raw);
  const event = headers.get('Event');
  if (event === 'FullyBooted') return 'skip';
  if (headers.has('ActionID')) return event === 'CoreShowChannel' ? 'seed' : 'skip';
  return 'event';
}

/** The frames `play()` writes to the clients, in order. */
export function replayedFrames(frames: readonly TranscriptFrame[]): TranscriptFrame[] {
  return frames.filter((f) => classifyFrame(f) === 'event');
}

// ---------------------------------------------------------------------------------------------
// Live channels, as CoreShowChannel reports them

/** The headers of a real Asterisk 22 `CoreShowChannel` item, in its order (after Event, ActionID). */
export const CORE_SHOW_CHANNEL_FIELDS = [
  'Channel',
  'ChannelState',
  'ChannelStateDesc',
  'CallerIDNum',
  'CallerIDName',
  'ConnectedLineNum',
  'ConnectedLineName',
  'Language',
  'AccountCode',
  'Context',
  'Exten',
  'Priority',
  'Uniqueid',
  'Linkedid',
  'Application',
  'ApplicationData',
  'Duration',
  'BridgeId',
] as const;

export type CoreShowChannelField = (typeof CORE_SHOW_CHANNEL_FIELDS)[number];
export type LiveChannel = Record<CoreShowChannelField, string>;

/** The channel snapshot headers every channel event carries (optionally prefixed: `Dest…`). */
const SNAPSHOT_FIELDS = [
  'Channel',
  'ChannelState',
  'ChannelStateDesc',
  'CallerIDNum',
  'CallerIDName',
  'ConnectedLineNum',
  'ConnectedLineName',
  'Language',
  'AccountCode',
  'Context',
  'Exten',
  'Priority',
  'Uniqueid',
  'Linkedid',
] as const;

/** The transcript clock of one replay: the capture time (`rx`) the replay has reached. */
interface ReplayClock {
  now(): number;
}

interface TrackedChannel {
  fields: Omit<LiveChannel, 'Duration'>;
  /** Capture time the channel was created at. */
  createdRx: number;
  clock: ReplayClock;
}

function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(Math.floor(s / 3600))}:${two(Math.floor(s / 60) % 60)}:${two(s % 60)}`;
}

function parseDuration(value: string): number {
  const m = /^(\d+):(\d\d):(\d\d)$/.exec(value);
  return m ? Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]) : 0;
}

class ChannelTable {
  private readonly channels = new Map<string, TrackedChannel>();

  apply(frame: TranscriptFrame, kind: FrameKind, clock: ReplayClock): void {
    const h = headerMap(frame.raw);
    const event = h.get('Event');
    if (kind === 'seed') {
      const uniqueid = h.get('Uniqueid');
      if (!uniqueid) return;
      const fields = {} as Omit<LiveChannel, 'Duration'>;
      for (const f of CORE_SHOW_CHANNEL_FIELDS) if (f !== 'Duration') fields[f] = h.get(f) ?? '';
      this.channels.set(uniqueid, { fields, createdRx: frame.rx - parseDuration(h.get('Duration') ?? ''), clock });
      return;
    }
    if (event === 'CEL' || event === 'Cdr') return; // their Channel/Exten/Application are records, not snapshots
    const uniqueid = h.get('Uniqueid');
    if (event === 'Newchannel' && uniqueid && !this.channels.has(uniqueid)) {
      const fields = { Application: '', ApplicationData: '', BridgeId: '' } as Omit<LiveChannel, 'Duration'>;
      for (const f of SNAPSHOT_FIELDS) fields[f] = '';
      this.channels.set(uniqueid, { fields, createdRx: frame.rx, clock });
    }
    // Every channel snapshot in the event (unprefixed, Dest…, Transferee…) refreshes that channel.
    for (const [key, value] of h) {
      if (!key.endsWith('Uniqueid') || key === 'BridgeUniqueid') continue;
      const channel = this.channels.get(value);
      if (!channel) continue;
      const prefix = key.slice(0, -'Uniqueid'.length);
      for (const f of SNAPSHOT_FIELDS) {
        const v = h.get(prefix + f);
        if (v !== undefined) channel.fields[f] = v;
      }
    }
    const channel = uniqueid === undefined ? undefined : this.channels.get(uniqueid);
    if (!channel || !uniqueid) return;
    switch (event) {
      case 'Newexten':
        channel.fields.Application = h.get('Application') ?? '';
        channel.fields.ApplicationData = h.get('AppData') ?? '';
        break;
      case 'BridgeEnter':
        channel.fields.BridgeId = h.get('BridgeUniqueid') ?? '';
        break;
      case 'BridgeLeave':
        channel.fields.BridgeId = '';
        break;
      case 'Rename':
        channel.fields.Channel = h.get('Newname') ?? channel.fields.Channel;
        break;
      case 'Hangup':
        this.channels.delete(uniqueid);
        break;
      default:
        break;
    }
  }

  list(): LiveChannel[] {
    return [...this.channels.values()].map(({ fields, createdRx, clock }) => ({
      ...fields,
      Duration: formatDuration(clock.now() - createdRx),
    }));
  }

  clear(): void {
    this.channels.clear();
  }
}

// ---------------------------------------------------------------------------------------------
// The server

export interface DemoPbxOptions {
  /** 0 (default) picks a free port: read it from `address()`. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  username: string;
  secret: string;
  /** The banner line, without line end. Default `Asterisk Call Manager/11.0.0`. */
  banner?: string;
  /** PBX uptime at start, in seconds (FullyBooted `Uptime`). Default 0. */
  uptimeSeconds?: number;
  /** Send FullyBooted after each login, as a booted Asterisk does. Default true (false: still booting). */
  fullyBooted?: boolean;
  logger?: Logger;
}

export interface PlayOptions {
  /** 1 = the captured pace (default), N = N times faster, 0 or Infinity = as fast as possible. */
  speed?: number;
  /** Stops the replay (the promise resolves with `aborted: true`). */
  signal?: AbortSignal;
}

export interface PlayResult {
  /** Event frames written to the clients. */
  framesPlayed: number;
  /** Stopped early by the signal, `restart()` or `close()`. */
  aborted: boolean;
}

export interface DemoPbx {
  address(): { host: string; port: number };
  /** Replays a transcript's event frames to every logged-in client (see `classifyFrame`). */
  play(frames: readonly TranscriptFrame[], options?: PlayOptions): Promise<PlayResult>;
  /** The live channels, as CoreShowChannel would list them now. */
  channels(): LiveChannel[];
  /** Clients currently logged in. */
  clientCount(): number;
  /** Every action received so far, headers keyed in lower case (the Login secret included). */
  receivedActions(): ReadonlyArray<Readonly<Record<string, string>>>;
  /** Destroys every client socket at once (no Goodbye, no FIN handshake). */
  dropClients(): void;
  /**
   * As if Asterisk restarted: drops every client, forgets the channels, aborts running replays,
   * un-pauses; the next login's FullyBooted reports `uptime` (default 0) plus the time since.
   */
  restart(options?: { uptime?: number }): void;
  /**
   * Freezes the server as a hung PBX or a dead link would: nothing is read or written (answers,
   * events and banners are held, running replays wait); new TCP connections are accepted but get
   * nothing. `resume()` delivers everything held and continues.
   */
  pause(): void;
  resume(): void;
  /** Writes raw bytes to every logged-in client (malformed-frame tests). */
  writeRaw(data: string | Uint8Array): void;
  close(): Promise<void>;
}

interface Session {
  readonly id: number;
  readonly socket: net.Socket;
  loggedIn: boolean;
  input: string;
  /** Output held while the server is paused (END: close the connection once delivered). */
  held: Array<string | Uint8Array | typeof END>;
}

const END = Symbol('end');

/** Largest request (headers of one action) accepted before the connection is closed. */
const MAX_REQUEST_CHARS = 64 * 1024;

function response(kind: string, actionId: string | undefined, lines: Array<[string, string]>): string {
  let out = `Response: ${kind}\r\n`;
  if (actionId !== undefined) out += `ActionID: ${actionId}\r\n`;
  for (const [k, v] of lines) out += `${k}: ${v}\r\n`;
  return `${out}\r\n`;
}

function epochSeconds(ms: number): string {
  return (ms / 1000).toFixed(6);
}

export async function startDemoPbx(options: DemoPbxOptions): Promise<DemoPbx> {
  const banner = (options.banner ?? DEFAULT_BANNER).replace(/\r?\n$/, '');
  const log = options.logger?.child({ component: 'demo-pbx' });
  const sessions = new Set<Session>();
  const actions: Array<Record<string, string>> = [];
  const table = new ChannelTable();
  const replays = new Set<AbortController>();
  let bootedAtMs = Date.now() - (options.uptimeSeconds ?? 0) * 1000;
  let paused = false;
  let resumeWaiters: Array<() => void> = [];
  /** Time spent paused, so that replays keep their pace across a pause. */
  let pausedTotalMs = 0;
  let pausedSinceMs = 0;
  let nextSessionId = 1;
  let closed = false;

  const uptime = () => Math.max(0, Math.floor((Date.now() - bootedAtMs) / 1000));

  function send(session: Session, data: string | Uint8Array): void {
    if (session.socket.destroyed) return;
    if (paused) session.held.push(data);
    else session.socket.write(data);
  }

  /** Closes the connection after what was sent (Asterisk does so after Logoff or a failed login). */
  function endSession(session: Session): void {
    if (paused) session.held.push(END);
    else session.socket.end();
  }

  const pausedMs = () => pausedTotalMs + (paused ? Date.now() - pausedSinceMs : 0);

  function broadcast(data: string | Uint8Array): void {
    for (const s of sessions) if (s.loggedIn) send(s, data);
  }

  function whenResumed(): Promise<void> {
    return paused ? new Promise((resolve) => resumeWaiters.push(resolve)) : Promise.resolve();
  }

  function handleAction(session: Session, raw: string): void {
    const headers: Record<string, string> = {};
    for (const [k, v] of headerLines(raw)) {
      const key = k.trim().toLowerCase();
      if (!(key in headers)) headers[key] = v;
    }
    actions.push(headers);
    const actionId = headers.actionid;
    const action = (headers.action ?? '').trim().toLowerCase();
    if (action === '') {
      send(session, response('Error', actionId, [['Message', 'Missing action in request']]));
      return;
    }
    if (!session.loggedIn && action !== 'login' && action !== 'logoff' && action !== 'challenge') {
      send(session, response('Error', actionId, [['Message', 'Permission denied']]));
      return;
    }
    switch (action) {
      case 'login': {
        const ok = (headers.username ?? '').toLowerCase() === options.username.toLowerCase() && headers.secret === options.secret;
        if (!ok) {
          log?.info({ session: session.id, username: headers.username }, 'AMI login refused');
          send(session, response('Error', actionId, [['Message', 'Authentication failed']]));
          endSession(session);
          return;
        }
        session.loggedIn = true;
        log?.debug({ session: session.id }, 'AMI client logged in');
        send(session, response('Success', actionId, [['Message', 'Authentication accepted']]));
        if (options.fullyBooted === false) return;
        const up = String(uptime());
        send(session, `Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: ${up}\r\nLastReload: ${up}\r\nStatus: Fully Booted\r\n\r\n`);
        return;
      }
      case 'ping':
        send(
          session,
          response('Success', actionId, [
            ['Ping', 'Pong'],
            ['Timestamp', epochSeconds(Date.now())],
          ]),
        );
        return;
      case 'coreshowchannels': {
        const live = table.list();
        const id = actionId === undefined ? '' : `ActionID: ${actionId}\r\n`;
        let out = response('Success', actionId, [
          ['EventList', 'start'],
          ['Message', 'Channels will follow'],
        ]);
        for (const channel of live) {
          out += `Event: CoreShowChannel\r\n${id}`;
          for (const f of CORE_SHOW_CHANNEL_FIELDS) out += `${f}: ${channel[f]}\r\n`;
          out += '\r\n';
        }
        out += `Event: CoreShowChannelsComplete\r\n${id}EventList: Complete\r\nListItems: ${live.length}\r\n\r\n`;
        send(session, out);
        return;
      }
      case 'logoff':
        send(session, response('Goodbye', actionId, [['Message', 'Thanks for all the fish.']]));
        session.loggedIn = false;
        endSession(session);
        return;
      default:
        send(
          session,
          response('Error', actionId, [
            ['Message', `Invalid/unknown command: ${headers.action}. Use Action: ListCommands to show available commands.`],
          ]),
        );
    }
  }

  function onData(session: Session, chunk: string): void {
    session.input += chunk;
    for (;;) {
      const m = /\r?\n\r?\n/.exec(session.input);
      if (!m) break;
      const request = session.input.slice(0, m.index);
      session.input = session.input.slice(m.index + m[0].length);
      if (request.trim() !== '') handleAction(session, request);
      if (session.socket.destroyed || session.socket.writableEnded) return;
    }
    if (session.input.length > MAX_REQUEST_CHARS) {
      log?.warn({ session: session.id }, 'AMI request too large; closing the connection');
      session.socket.destroy();
    }
  }

  const server = net.createServer((socket) => {
    if (closed) {
      socket.destroy();
      return;
    }
    const session: Session = { id: nextSessionId++, socket, loggedIn: false, input: '', held: [] };
    sessions.add(session);
    socket.setEncoding('utf8');
    socket.setNoDelay(true);
    socket.on('data', (chunk: string) => onData(session, chunk));
    socket.on('error', (err) => log?.debug({ session: session.id, err: err.message }, 'AMI client socket error'));
    socket.on('close', () => sessions.delete(session));
    if (paused) socket.pause();
    send(session, `${banner}\r\n`);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as net.AddressInfo;
  log?.info({ host: bound.address, port: bound.port }, 'demo PBX listening');

  function pause(): void {
    if (paused) return;
    paused = true;
    pausedSinceMs = Date.now();
    for (const s of sessions) s.socket.pause();
  }

  function resume(): void {
    if (!paused) return;
    paused = false;
    pausedTotalMs += Date.now() - pausedSinceMs;
    for (const s of sessions) {
      const held = s.held;
      s.held = [];
      for (const data of held) {
        if (s.socket.destroyed || s.socket.writableEnded) break;
        if (data === END) s.socket.end();
        else s.socket.write(data);
      }
      s.socket.resume();
    }
    const waiters = resumeWaiters;
    resumeWaiters = [];
    for (const w of waiters) w();
  }

  function dropClients(): void {
    for (const s of sessions) s.socket.destroy();
    sessions.clear();
  }

  function abortReplays(): void {
    for (const c of replays) c.abort();
    replays.clear();
  }

  async function play(frames: readonly TranscriptFrame[], opts: PlayOptions = {}): Promise<PlayResult> {
    const speed = opts.speed ?? 1;
    if (!(speed >= 0)) throw new RangeError(`speed must be >= 0, got ${speed}`);
    const paced = speed > 0 && Number.isFinite(speed);
    const controller = new AbortController();
    const abort = () => controller.abort();
    opts.signal?.addEventListener('abort', abort);
    if (opts.signal?.aborted || closed) controller.abort();
    replays.add(controller);
    const signal = controller.signal;

    const steps = frames.map((frame) => ({ frame, kind: classifyFrame(frame) })).filter((s) => s.kind !== 'skip');
    const firstRx = steps[0]?.frame.rx ?? 0;
    const startMs = Date.now();
    const pausedAtStart = pausedMs();
    let lastRx = firstRx;
    let lastAtMs = startMs;
    const clock: ReplayClock = {
      now: () => (paced && !paused ? lastRx + ((Date.now() - lastAtMs) / 1000) * speed : lastRx),
    };

    let framesPlayed = 0;
    try {
      for (const { frame, kind } of steps) {
        for (;;) {
          if (signal.aborted) return { framesPlayed, aborted: true };
          if (paused) {
            await Promise.race([whenResumed(), aborted(signal)]);
            continue;
          }
          // The captured pace, not counting the time the server spent paused.
          const due = paced ? startMs + (pausedMs() - pausedAtStart) + ((frame.rx - firstRx) * 1000) / speed : 0;
          const wait = due - Date.now();
          if (wait > 0) await sleep(wait, signal);
          else if (!paced) await new Promise<void>((resolve) => setImmediate(resolve));
          if (!paused && !signal.aborted) break;
        }
        lastRx = frame.rx;
        lastAtMs = Date.now();
        table.apply(frame, kind, clock);
        if (kind === 'event') {
          broadcast(frame.raw);
          framesPlayed++;
        }
      }
      return { framesPlayed, aborted: false };
    } finally {
      opts.signal?.removeEventListener('abort', abort);
      replays.delete(controller);
    }
  }

  return {
    address: () => ({ host: bound.address, port: bound.port }),
    play,
    channels: () => table.list(),
    clientCount: () => [...sessions].filter((s) => s.loggedIn).length,
    receivedActions: () => actions.slice(),
    dropClients,
    restart(restartOptions = {}) {
      log?.info({ uptime: restartOptions.uptime ?? 0 }, 'demo PBX restarting');
      abortReplays();
      dropClients();
      table.clear();
      bootedAtMs = Date.now() - (restartOptions.uptime ?? 0) * 1000;
      resume();
    },
    pause,
    resume,
    writeRaw: (data) => broadcast(data),
    async close() {
      if (closed) return;
      closed = true;
      abortReplays();
      resume();
      dropClients();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/** Resolves after `ms` or as soon as `signal` aborts (never rejects). */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

// ---------------------------------------------------------------------------------------------
// Rewriting a transcript for another replay: fresh ids, times moved to "now"

export interface RewriteOptions {
  /**
   * First counter for the new ids. Uniqueids become `<seconds>.<idBase + k>` and channel-name
   * suffixes `<hex(idBase + k)>` (k in order of first appearance). Pass the previous result's
   * `nextIdBase` to keep every replay's ids distinct.
   */
  idBase: number;
  /** Added to every time: `Timestamp`/`SentNTP` (exact, µs), date fields, uniqueid seconds, `rx`. */
  timeShiftSeconds: number;
}

export interface RewrittenTranscript {
  frames: TranscriptFrame[];
  /** Old uniqueid/linkedid → new. */
  ids: ReadonlyMap<string, string>;
  /** Old channel-name suffix (`0000000a`) → new. */
  channelSuffixes: ReadonlyMap<string, string>;
  /** Old bridge UUID → new (first 8 hex digits replaced by the counter). */
  bridgeIds: ReadonlyMap<string, string>;
  /** The `idBase` for the next rewrite so that no id repeats. */
  nextIdBase: number;
}

/** Headers whose value is an id: Uniqueid, Linkedid, UniqueID, LinkedID, DestUniqueid, TransfereeLinkedid, … */
const ID_HEADER = /(?:unique|linked)id$/i;
const ID_VALUE = /^\d+\.\d+$/;
/** Ids inside other values: JSON in CEL `Extra` ("channel2_uniqueid":"…"), recording file names. */
const EMBEDDED_ID = /"\w*(?:uniqueid|linkedid)"\s*:\s*"(\d+\.\d+)"|-(\d+\.\d+)\.(?:wav49|wav|WAV|gsm|mp3|ogg|sln\d*)\b/gi;
/** Any `digits.digits` token not part of a longer number (replaced only when it is a known id). */
const ID_TOKEN = /(?<![\d.])\d+\.\d+(?!\d)/g;
/** A channel name `Tech/resource-0000000a` (the suffix is Asterisk's hex channel counter). */
const CHANNEL_NAME = /\b([A-Za-z][A-Za-z0-9]*\/[^\s/,;"'|()<>]+?-)([0-9a-f]{8})(?![0-9a-f])/g;
/** A UUID (bridge ids: BridgeUniqueid, BridgeId, CEL Extra bridge_id). */
const UUID = /\b[0-9a-f]{8}(-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b/g;
/** Headers holding epoch seconds (`1795715954.585051`). */
const EPOCH_HEADERS = new Set(['Timestamp', 'SentNTP']);
/** A whole value that is a date: `2026-11-26 17:59:14`, `2026-11-26T17:59:10.240+0000`. */
const DATE_VALUE = /^(\d{4})-(\d\d)-(\d\d)([ T])(\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?(Z|[+-]\d\d:?\d\d)?$/;

function shiftEpoch(value: string, shiftSeconds: number): string {
  const [int = '0', frac = ''] = value.split('.');
  const digits = frac.length;
  const scale = 10n ** BigInt(digits);
  const total = BigInt(int) * scale + BigInt(frac || '0') + BigInt(Math.round(shiftSeconds * 10 ** digits));
  const sec = total / scale;
  const rest = total % scale;
  return digits === 0 ? String(sec) : `${sec}.${String(rest).padStart(digits, '0')}`;
}

function shiftDate(match: RegExpExecArray, shiftSeconds: number): string {
  const [, y, mo, d, sep, h, mi, s, frac, zone] = match;
  const fracDigits = frac?.length ?? 0;
  // The wall time is shifted as if it were UTC and the zone suffix kept: the same instant moves by
  // the same amount whatever the zone (no DST arithmetic on a PBX's local time).
  const micros =
    Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)) * 1000 +
    Number((frac ?? '').padEnd(6, '0') || '0') +
    Math.round(shiftSeconds * 1e6);
  const ms = Math.floor(micros / 1000);
  const date = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  let out =
    `${String(date.getUTCFullYear()).padStart(4, '0')}-${two(date.getUTCMonth() + 1)}-${two(date.getUTCDate())}` +
    `${sep}${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())}`;
  if (fracDigits > 0) {
    const subMicros = micros - Math.floor(micros / 1e6) * 1e6;
    out += `.${String(subMicros).padStart(6, '0').slice(0, fracDigits)}`;
  }
  return out + (zone ?? '');
}

/**
 * Pure: a copy of `frames` with fresh uniqueids/linkedids, channel-name suffixes and bridge UUIDs
 * (everywhere they occur, including recording file names, CEL `Extra` JSON, `BRIDGEPEER` values), so
 * that replays running side by side never collide, and every time
 * moved by `timeShiftSeconds`. Keys, line order and all other bytes are kept. Deterministic: the
 * same input gives the same output.
 */
export function rewriteTranscript(frames: readonly TranscriptFrame[], options: RewriteOptions): RewrittenTranscript {
  const { idBase, timeShiftSeconds } = options;
  if (!Number.isInteger(idBase) || idBase < 0) throw new RangeError('idBase must be a non-negative integer');
  if (!Number.isFinite(timeShiftSeconds)) throw new RangeError('timeShiftSeconds must be finite');
  const shiftMicros = Math.round(timeShiftSeconds * 1e6);

  // Pass 1: which ids and channel suffixes occur, in order of first appearance.
  const ids = new Map<string, string>();
  const suffixes = new Map<string, string>();
  const uuids = new Map<string, string>();
  const counterHex = (k: number) => (idBase + k).toString(16).padStart(8, '0');
  const addId = (id: string) => {
    if (ids.has(id)) return;
    const seconds = Math.floor((Number(id.split('.')[0]) * 1e6 + shiftMicros) / 1e6);
    ids.set(id, `${seconds}.${idBase + ids.size}`);
  };
  for (const frame of frames) {
    for (const [key, value] of headerLines(frame.raw)) {
      if (ID_HEADER.test(key) && ID_VALUE.test(value)) addId(value);
      for (const m of value.matchAll(EMBEDDED_ID)) addId((m[1] ?? m[2])!);
      if (EPOCH_HEADERS.has(key)) continue;
      for (const m of value.matchAll(CHANNEL_NAME)) {
        const suffix = m[2]!;
        if (!suffixes.has(suffix)) suffixes.set(suffix, counterHex(suffixes.size));
      }
      for (const m of value.matchAll(UUID)) {
        if (!uuids.has(m[0])) uuids.set(m[0], counterHex(uuids.size) + m[1]!);
      }
    }
  }

  // Pass 2: rewrite every header value in one pass each (never a replacement of a replacement).
  const rewriteValue = (key: string, value: string): string => {
    if (EPOCH_HEADERS.has(key) && ID_VALUE.test(value)) return shiftEpoch(value, timeShiftSeconds);
    const date = DATE_VALUE.exec(value);
    if (date) return shiftDate(date, timeShiftSeconds);
    return value
      .replace(ID_TOKEN, (token) => ids.get(token) ?? token)
      .replace(UUID, (uuid) => uuids.get(uuid) ?? uuid)
      .replace(CHANNEL_NAME, (whole, prefix: string, suffix: string) => {
        const next = suffixes.get(suffix);
        return next === undefined ? whole : prefix + next;
      });
  };
  const rewritten = frames.map((frame) => {
    const raw = frame.raw
      .split('\r\n')
      .map((line) => {
        const i = line.indexOf(': ');
        return i < 0 ? line : `${line.slice(0, i)}: ${rewriteValue(line.slice(0, i), line.slice(i + 2))}`;
      })
      .join('\r\n');
    return { n: frame.n, rx: frame.rx + shiftMicros / 1e6, raw };
  });
  return {
    frames: rewritten,
    ids,
    channelSuffixes: suffixes,
    bridgeIds: uuids,
    nextIdBase: idBase + Math.max(ids.size, suffixes.size, uuids.size),
  };
}

// ---------------------------------------------------------------------------------------------
// The demo: scenarios replayed forever with fresh ids and current times

export interface DemoLoopOptions {
  scenarios: readonly DemoScenario[];
  /** Replay speed (see `PlayOptions.speed`). Default 1 (real time). */
  speed?: number;
  /** Pause after each call on a line, ms. Default 4000. */
  gapMs?: number;
  /** Calls played at the same time (each line walks the scenarios from a different one). Default 1. */
  lines?: number;
  /** First id counter (see `RewriteOptions.idBase`). Default 0. */
  idBase?: number;
  logger?: Logger;
}

export interface DemoLoop {
  /** Stops after the current frame; resolves when every line has stopped. */
  stop(): Promise<void>;
  /** Calls started so far. */
  callsStarted(): number;
}

/** The capture time of the first frame `play()` would send. */
function firstPlayedRx(frames: readonly TranscriptFrame[]): number {
  return frames.find((f) => classifyFrame(f) !== 'skip')?.rx ?? frames[0]?.rx ?? 0;
}

export function startDemoLoop(pbx: DemoPbx, options: DemoLoopOptions): DemoLoop {
  const { scenarios } = options;
  if (scenarios.length === 0) throw new Error('startDemoLoop: no scenarios');
  const speed = options.speed ?? 1;
  if (!(speed >= 0)) throw new RangeError(`speed must be >= 0, got ${speed}`);
  const gapMs = options.gapMs ?? 4000;
  const lines = Math.max(1, Math.floor(options.lines ?? 1));
  const log = options.logger?.child({ component: 'demo-loop' });
  const controller = new AbortController();
  let idBase = options.idBase ?? 0;
  let started = 0;

  async function line(index: number): Promise<void> {
    for (let i = index; !controller.signal.aborted; i += lines) {
      const scenario = scenarios[i % scenarios.length]!;
      // The first event of the call happens now (at speed 1 every Timestamp is then current).
      const shift = Date.now() / 1000 - firstPlayedRx(scenario.frames);
      const rewritten = rewriteTranscript(scenario.frames, { idBase, timeShiftSeconds: shift });
      idBase = rewritten.nextIdBase; // synchronous: lines never share an id range
      started++;
      log?.debug({ scenario: scenario.name, line: index }, 'demo call starting');
      try {
        await pbx.play(rewritten.frames, { speed, signal: controller.signal });
      } catch (err) {
        log?.error({ err, scenario: scenario.name }, 'demo call replay failed');
      }
      await sleep(gapMs, controller.signal);
    }
  }

  const running = Promise.all(Array.from({ length: lines }, (_, i) => line(i)));
  return {
    async stop() {
      controller.abort();
      await running;
    },
    callsStarted: () => started,
  };
}
