import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parseAmiFrame } from '../../src/asterisk/ami-frame';
import { toPbxEvent } from '../../src/asterisk/to-pbx-event';
import { callDurations } from '../../src/calls/call-durations';
import type { CallDraft } from '../../src/calls/call-record';
import { createTrackerState, reduce, type TrackerContext, type TrackerState } from '../../src/calls/call-tracker';
import type { PbxEvent, ResyncChannel } from '../../src/calls/pbx-event';

/**
 * Real Asterisk 22 captures (test/fixtures/ami/<scenario>/, copied from the shared fixtures; see
 * test/fixtures/ami/README.md for how they were made and how expected.json is matched).
 */
export const AMI_FIXTURES_DIR = path.join(__dirname, '..', 'fixtures', 'ami');

export interface AmiCaptureFrame {
  /** order in the capture */
  n: number;
  /** receive time, epoch seconds with µs */
  rx: number;
  /** the exact bytes, \r\n line ends */
  raw: string;
}

export interface ExpectedLeg {
  extension: string;
  ringingAt?: string | null;
  answeredAt?: string | null;
  endedAt?: string | null;
  result?: string | null;
}

export type ExpectedCall = { pbxCallId: string; legs?: ExpectedLeg[] } & Record<string, unknown>;

export interface ExpectedScenario {
  scenario: string;
  toleranceSeconds: number;
  calls: ExpectedCall[];
}

export interface AmiScenario {
  name: string;
  frames: AmiCaptureFrame[];
  expected: ExpectedScenario;
  /** -nocel: no CEL and no Timestamp headers, the listener's clock is the only clock */
  noCel: boolean;
}

export function listScenarios(): string[] {
  return readdirSync(AMI_FIXTURES_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
}

export function loadScenario(name: string): AmiScenario {
  const dir = path.join(AMI_FIXTURES_DIR, name);
  const frames = readFileSync(path.join(dir, 'ami.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim().length > 0)
    .map((l) => JSON.parse(l) as AmiCaptureFrame);
  const expected = JSON.parse(readFileSync(path.join(dir, 'expected.json'), 'utf8')) as ExpectedScenario;
  return { name, frames, expected, noCel: name.endsWith('-nocel') };
}

/** The PBX of the fixtures: phones 101-103, numbers in Ukraine. */
export const FIXTURE_AGENTS: ReadonlySet<string> = new Set(['101', '102', '103']);
export const fixtureCtx = (agents: ReadonlySet<string> = FIXTURE_AGENTS): TrackerContext => ({
  isAgentExtension: (ext) => agents.has(ext),
  defaultCountry: 'UA',
});

/** Receive time of a frame as the listener saw it (replayed at the original pace). */
export const receivedAt = (f: AmiCaptureFrame): Date => new Date(Math.round(f.rx * 1000));
export const monoOf = (f: AmiCaptureFrame): number => f.rx * 1000;

/**
 * The events of a capture, as the AMI adapter would feed them to the tracker: each frame through
 * parseAmiFrame → toPbxEvent (receivedAt = the frame's rx); CoreShowChannel items are collected
 * and delivered as one `resync` control event when their CoreShowChannelsComplete arrives.
 */
export function captureEvents(frames: readonly AmiCaptureFrame[]): PbxEvent[] {
  const out: PbxEvent[] = [];
  const pending = new Map<string, ResyncChannel[]>();
  for (const f of frames) {
    const ev = toPbxEvent(parseAmiFrame(f.raw), receivedAt(f), monoOf(f));
    if (ev === null) continue;
    if (ev.type === 'resync-channel') {
      const key = ev.requestId ?? '';
      const list = pending.get(key) ?? [];
      list.push(ev.channel);
      pending.set(key, list);
      continue;
    }
    if (ev.type === 'resync-complete') {
      const key = ev.requestId ?? '';
      out.push({ type: 'resync', at: ev.at, mono: ev.mono, channels: pending.get(key) ?? [] });
      pending.delete(key);
      continue;
    }
    out.push(ev);
  }
  return out;
}

export interface ReplayResult {
  state: TrackerState;
  /** the last emitted draft of every record, in order of first emission */
  calls: CallDraft[];
  /** every change, in order, with the index of the event that produced it */
  changes: { event: number; draft: CallDraft }[];
}

/** Feeds events through the tracker and keeps the last emitted draft per record. */
export function replay(
  events: readonly PbxEvent[],
  ctx: TrackerContext | ((index: number) => TrackerContext) = fixtureCtx(),
  state: TrackerState = createTrackerState(),
): ReplayResult {
  const last = new Map<string, CallDraft>();
  const changes: { event: number; draft: CallDraft }[] = [];
  events.forEach((ev, i) => {
    const c = typeof ctx === 'function' ? ctx(i) : ctx;
    for (const draft of reduce(state, ev, c).changes) {
      last.set(draft.pbxCallId, draft);
      changes.push({ event: i, draft });
    }
  });
  return { state, calls: [...last.values()], changes };
}

const TIME_KEYS = new Set(['startedAt', 'answeredAt', 'endedAt', 'ringingAt']);
const DURATION_KEYS = new Set(['waitSeconds', 'talkSeconds', 'durationSeconds']);

function compareTime(
  where: string,
  actual: Date | null | undefined,
  expected: unknown,
  tol: number,
  shiftMs: number,
  errors: string[],
): void {
  if (expected === null) {
    if (actual !== null && actual !== undefined) errors.push(`${where}: expected null, got ${actual.toISOString()}`);
    return;
  }
  if (typeof expected !== 'string') {
    errors.push(`${where}: bad expected value ${String(expected)}`);
    return;
  }
  if (!actual) {
    errors.push(`${where}: expected ${expected}, got ${String(actual)}`);
    return;
  }
  const want = Date.parse(expected) + shiftMs;
  const diff = Math.abs(actual.getTime() - want) / 1000;
  if (diff > tol)
    errors.push(`${where}: expected ${new Date(want).toISOString()} ±${tol}s, got ${actual.toISOString()} (off by ${diff.toFixed(3)}s)`);
}

function compareDuration(where: string, actual: number | null, expected: unknown, tol: number, errors: string[]): void {
  if (expected === null) {
    if (actual !== null) errors.push(`${where}: expected null, got ${actual}`);
    return;
  }
  if (typeof expected !== 'number' || actual === null || Math.abs(actual - expected) > tol) {
    errors.push(`${where}: expected ${String(expected)} ±${tol}s, got ${String(actual)}`);
  }
}

/**
 * The matching rules of the fixtures (test/fixtures/ami/README.md): exactly one record per
 * expected call (no ghosts), only the keys given are compared, `toleranceSeconds` on every
 * timestamp and duration (durations derived with callDurations), legs matched by extension (a
 * phone's several legs in time order, phones ringing together in any order). `shiftMs` moves
 * every expected time (a -nocel capture replayed at another moment).
 */
export function callMismatches(actual: readonly CallDraft[], expected: ExpectedScenario, shiftMs = 0): string[] {
  const errors: string[] = [];
  const tol = expected.toleranceSeconds;
  const byId = new Map<string, CallDraft[]>();
  for (const a of actual) byId.set(a.pbxCallId, [...(byId.get(a.pbxCallId) ?? []), a]);
  const expectedIds = new Set(expected.calls.map((c) => c.pbxCallId));
  for (const a of actual) if (!expectedIds.has(a.pbxCallId)) errors.push(`unexpected record ${a.pbxCallId} (${a.direction})`);
  for (const e of expected.calls) {
    const found = byId.get(e.pbxCallId) ?? [];
    if (found.length !== 1) {
      errors.push(`${e.pbxCallId}: expected exactly one record, got ${found.length}`);
      continue;
    }
    const a = found[0] as CallDraft;
    const durations = callDurations(a);
    for (const [key, want] of Object.entries(e)) {
      if (key === 'pbxCallId') continue;
      const where = `${e.pbxCallId}.${key}`;
      if (TIME_KEYS.has(key)) compareTime(where, a[key as 'startedAt'], want, tol, shiftMs, errors);
      else if (DURATION_KEYS.has(key)) compareDuration(where, durations[key as 'waitSeconds'], want, tol, errors);
      else if (key === 'legs') compareLegs(e.pbxCallId, a, want as ExpectedLeg[], tol, shiftMs, errors);
      else {
        const got = (a as unknown as Record<string, unknown>)[key];
        if (JSON.stringify(got) !== JSON.stringify(want))
          errors.push(`${where}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
      }
    }
  }
  return errors;
}

function compareLegs(id: string, call: CallDraft, expected: ExpectedLeg[], tol: number, shiftMs: number, errors: string[]): void {
  if (call.legs.length !== expected.length) {
    errors.push(`${id}.legs: expected ${expected.length} legs, got ${call.legs.length} ${JSON.stringify(call.legs)}`);
  }
  const extensions = new Set([...expected.map((l) => l.extension), ...call.legs.map((l) => l.extension)]);
  for (const ext of extensions) {
    const want = expected.filter((l) => l.extension === ext);
    const got = call.legs.filter((l) => l.extension === ext);
    if (want.length !== got.length) {
      errors.push(`${id}.legs[${ext}]: expected ${want.length}, got ${got.length}`);
      continue;
    }
    want.forEach((w, i) => {
      const g = got[i] as CallDraft['legs'][number];
      for (const [key, value] of Object.entries(w)) {
        if (key === 'extension') continue;
        const where = `${id}.legs[${ext}#${i}].${key}`;
        if (TIME_KEYS.has(key)) compareTime(where, g[key as 'ringingAt'], value, tol, shiftMs, errors);
        else if (JSON.stringify(g[key as keyof typeof g]) !== JSON.stringify(value)) {
          errors.push(`${where}: expected ${JSON.stringify(value)}, got ${JSON.stringify(g[key as keyof typeof g])}`);
        }
      }
    });
  }
}

/** Jest assertion over callMismatches: lists every difference at once. */
export function expectCallsToMatch(actual: readonly CallDraft[], expected: ExpectedScenario, shiftMs = 0): void {
  expect(callMismatches(actual, expected, shiftMs)).toEqual([]);
}
