import path from 'node:path';
import { loadDemoScenarios, readTranscript, rewriteTranscript, type TranscriptFrame } from '../../src/asterisk/demo-pbx';

const fixture = (name: string) => readTranscript(path.join(__dirname, '..', 'fixtures', 'ami', name, 'ami.jsonl'));

function headers(raw: string): Array<[string, string]> {
  return raw
    .split('\r\n')
    .filter((line) => line.includes(': '))
    .map((line) => {
      const i = line.indexOf(': ');
      return [line.slice(0, i), line.slice(i + 2)];
    });
}

const ID_KEY = /(?:unique|linked)id$/i;
const ID_VALUE = /^\d+\.\d+$/;
const isIdHeader = ([k, v]: [string, string]) => ID_KEY.test(k) && ID_VALUE.test(v);

/** Every uniqueid/linkedid header value of a transcript. */
function idValues(frames: readonly TranscriptFrame[]): Set<string> {
  return new Set(
    frames.flatMap((f) =>
      headers(f.raw)
        .filter(isIdHeader)
        .map(([, v]) => v),
    ),
  );
}

/** Every channel name in Channel-like headers. */
function channelNames(frames: readonly TranscriptFrame[]): Set<string> {
  return new Set(
    frames.flatMap((f) =>
      headers(f.raw)
        .filter(([k, v]) => /Channel$|^Peer$/.test(k) && /\/.+-[0-9a-f]{8}$/.test(v))
        .map(([, v]) => v),
    ),
  );
}

const tokenRegex = (id: string) => new RegExp(`(?<![\\d.])${id.replace('.', '\\.')}(?!\\d)`);

describe('rewriteTranscript', () => {
  it('gives every uniqueid and linkedid a fresh value, the same one wherever the old one appeared', async () => {
    const frames = await fixture('attended_transfer');
    const r = rewriteTranscript(frames, { idBase: 1000, timeShiftSeconds: 0 });

    expect(r.frames).toHaveLength(frames.length);
    const oldIds = idValues(frames);
    expect(oldIds.size).toBeGreaterThan(3);
    frames.forEach((frame, i) => {
      const before = headers(frame.raw);
      const after = headers(r.frames[i]!.raw);
      expect(after.map(([k]) => k)).toEqual(before.map(([k]) => k));
      before.forEach((h, j) => {
        if (isIdHeader(h)) expect(after[j]![1]).toBe(r.ids.get(h[1]));
      });
    });
    // One new id per old id, counters idBase, idBase + 1, … in order of first appearance.
    expect(new Set(r.ids.values()).size).toBe(r.ids.size);
    expect([...r.ids.values()].map((id) => Number(id.split('.')[1]))).toEqual(Array.from({ length: r.ids.size }, (_, k) => 1000 + k));
    // No old id is left anywhere, not even inside other values.
    const text = r.frames.map((f) => f.raw).join('');
    for (const id of oldIds) expect(text).not.toMatch(tokenRegex(id));
  });

  it('never repeats an id or a channel name across two rewrites of the same call', async () => {
    const frames = await fixture('queue_ringall');
    const first = rewriteTranscript(frames, { idBase: 0, timeShiftSeconds: 0 });
    const second = rewriteTranscript(frames, { idBase: first.nextIdBase, timeShiftSeconds: 0 });

    expect(first.nextIdBase).toBe(Math.max(first.ids.size, first.channelSuffixes.size, first.bridgeIds.size));
    const ids1 = idValues(first.frames);
    const ids2 = idValues(second.frames);
    expect(ids1.size).toBe(idValues(frames).size);
    expect([...ids2].filter((id) => ids1.has(id))).toEqual([]);
    const chans1 = channelNames(first.frames);
    const chans2 = channelNames(second.frames);
    expect(chans1.size).toBe(channelNames(frames).size);
    expect([...chans2].filter((c) => chans1.has(c))).toEqual([]);
    const bridges = (frames: readonly TranscriptFrame[]) =>
      new Set(
        frames.flatMap((f) =>
          headers(f.raw)
            .filter(([k]) => k === 'BridgeUniqueid')
            .map(([, v]) => v),
        ),
      );
    const bridges1 = bridges(first.frames);
    expect(bridges1.size).toBe(bridges(frames).size);
    expect([...bridges(second.frames)].filter((b) => bridges1.has(b))).toEqual([]);
    // Every UUID (bridge ids, SIP call ids in BRIDGEPVTCALLID) is replaced, one for one.
    const uuids = (frames: readonly TranscriptFrame[]) =>
      new Set(frames.flatMap((f) => [...f.raw.matchAll(/\b[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}\b/g)].map((m) => m[0])));
    const uuids0 = uuids(frames);
    const uuids1 = uuids(first.frames);
    expect(uuids1.size).toBe(uuids0.size);
    expect([...uuids1].filter((u) => uuids0.has(u) || uuids(second.frames).has(u))).toEqual([]);
  });

  it('rewrites recording file names, channel names and ids inside CEL Extra consistently', async () => {
    const frames = await fixture('attended_transfer');
    const r = rewriteTranscript(frames, { idBase: 500, timeShiftSeconds: 0 });
    const oldText = frames.map((f) => f.raw).join('');
    const newText = r.frames.map((f) => f.raw).join('');

    const recording = /\b(?:in|q|out)-\d+-(\d+\.\d+)\.wav/g;
    const oldFiles = [...oldText.matchAll(recording)];
    const newFiles = [...newText.matchAll(recording)];
    expect(oldFiles.length).toBeGreaterThan(3);
    expect(newFiles.map((m) => m[1])).toEqual(oldFiles.map((m) => r.ids.get(m[1]!)));
    expect(new Set(newFiles.map((m) => m[0])).size).toBe(1); // one call, one recording

    // The recording belongs to the channel that ran MixMonitor: the carrier's first channel.
    const carrier = headers(frames.find((f) => f.raw.startsWith('Event: Newchannel'))!.raw);
    const carrierId = carrier.find(([k]) => k === 'Uniqueid')![1];
    expect(newFiles[0]![1]).toBe(r.ids.get(carrierId));

    // Channel names: everywhere (Channel, DestChannel, Peer, BRIDGEPEER values, CEL Extra JSON).
    const oldChannels = [...oldText.matchAll(/PJSIP\/\w+-([0-9a-f]{8})/g)];
    const newChannels = [...newText.matchAll(/PJSIP\/\w+-([0-9a-f]{8})/g)];
    expect(newChannels.map((m) => m[1])).toEqual(oldChannels.map((m) => r.channelSuffixes.get(m[1]!)));
    for (const [suffix] of r.channelSuffixes) expect(newText).not.toContain(`-${suffix}`);

    const extras = [...newText.matchAll(/"channel2_uniqueid":"([^"]+)"/g)].map((m) => m[1]);
    expect(extras.length).toBeGreaterThan(0);
    for (const id of extras) expect([...r.ids.values()]).toContain(id);
  });

  it('shifts Timestamp headers exactly and every date field by the same amount', async () => {
    const frames = await fixture('blind_transfer');
    const shift = 30 * 86400 + 0.25;
    const r = rewriteTranscript(frames, { idBase: 0, timeShiftSeconds: shift });
    const micros = (v: string) => BigInt(v.replace('.', ''));
    const isoMs = (v: string) => {
      const iso = v.replace(' ', 'T');
      const zoned = /[+-]\d{4}$/.test(iso) ? iso.replace(/(\d\d)$/, ':$1') : `${iso}Z`;
      return Date.parse(zoned);
    };
    let timestamps = 0;
    let dates = 0;
    frames.forEach((frame, i) => {
      const before = headers(frame.raw);
      const after = headers(r.frames[i]!.raw);
      before.forEach(([key, value], j) => {
        const next = after[j]![1];
        if (key === 'Timestamp' || key === 'SentNTP') {
          expect(next.split('.')[1]).toHaveLength(value.split('.')[1]!.length);
          expect(micros(next) - micros(value)).toBe(2_592_000_250_000n);
          timestamps++;
        } else if (/^\d{4}-\d\d-\d\d[ T]/.test(value)) {
          const hasMillis = /\.\d{3}/.test(value);
          // Whole-second fields lose the quarter second (they cannot hold it), millisecond fields keep it.
          expect(isoMs(next) - isoMs(value)).toBe(hasMillis ? 2_592_000_250 : 2_592_000_000);
          expect(next).toHaveLength(value.length);
          dates++;
        } else if (key === 'AnswerTime' && value === '') {
          expect(next).toBe('');
        }
      });
      expect(r.frames[i]!.rx).toBeCloseTo(frame.rx + shift, 5);
    });
    expect(timestamps).toBeGreaterThan(100);
    expect(dates).toBeGreaterThan(10);
    // Uniqueids carry the shifted creation time.
    for (const [oldId, newId] of r.ids) {
      expect(Number(newId.split('.')[0])).toBe(Number(oldId.split('.')[0]) + 30 * 86400);
    }
  });

  it('keeps every other byte: banner, keys, line order, values without ids or times', async () => {
    const frames = await fixture('inbound_answered');
    const r = rewriteTranscript(frames, { idBase: 7, timeShiftSeconds: -3600 });
    expect(r.frames[0]!.raw).toBe(frames[0]!.raw);
    expect(r.frames[1]!.raw).toBe(frames[1]!.raw); // the login answer: nothing to rewrite
    frames.forEach((frame, i) => {
      const after = r.frames[i]!;
      expect(after.n).toBe(frame.n);
      expect(after.raw.split('\r\n').length).toBe(frame.raw.split('\r\n').length);
      expect(after.raw.endsWith('\r\n\r\n') || i === 0).toBe(true);
      const next = headers(after.raw);
      headers(frame.raw).forEach(([key, value], j) => {
        const touched =
          isIdHeader([key, value]) ||
          key === 'Timestamp' ||
          key === 'SentNTP' ||
          /^\d{4}-\d\d-\d\d[ T]/.test(value) ||
          /\d{9,}\.\d+|\/[\w@-]+-[0-9a-f]{8}|[0-9a-f]{8}-[0-9a-f]{4}-/.test(value);
        if (!touched) expect([key, next[j]![1]]).toEqual([key, value]);
      });
    });
  });

  it('is pure and deterministic', async () => {
    const frames = await fixture('inbound_missed');
    const copy = JSON.parse(JSON.stringify(frames)) as TranscriptFrame[];
    const a = rewriteTranscript(frames, { idBase: 42, timeShiftSeconds: 12.5 });
    const b = rewriteTranscript(frames, { idBase: 42, timeShiftSeconds: 12.5 });
    expect(frames).toEqual(copy);
    expect(a.frames).toEqual(b.frames);
    expect(() => rewriteTranscript(frames, { idBase: -1, timeShiftSeconds: 0 })).toThrow(RangeError);
  });
});

describe('demo transcripts', () => {
  it('ship beside the module and are the captured fixtures', async () => {
    const scenarios = await loadDemoScenarios();
    expect(scenarios.map((s) => s.name)).toEqual([
      'attended_transfer',
      'blind_transfer',
      'inbound_answered',
      'inbound_busy',
      'inbound_missed',
      'internal',
      'outbound_answered',
      'queue_ringall',
    ]);
    for (const scenario of scenarios) {
      expect(scenario.frames).toEqual(await fixture(scenario.name));
    }
  });
});
