import net from 'node:net';
import { EventEmitter } from 'node:events';
import AsteriskManager from 'asterisk-manager';
import { createAmiStreamParser, parseAmiFrame, type AmiFrame } from '../../src/asterisk/ami-frame';
import { amiFrameOfPayload, amiJournalPayload } from '../../src/asterisk/journal-payload';
import { toPbxEvent } from '../../src/asterisk/to-pbx-event';
import type { PbxEvent } from '../../src/calls/pbx-event';
import { listScenarios, loadScenario } from '../helpers/fixtures';

const RX = new Date('2026-11-26T18:00:00.000Z');
const frame = (lines: string[]): AmiFrame => parseAmiFrame(`${lines.join('\r\n')}\r\n\r\n`);
const firstRaw = (scenario: string, event: string, extra?: (raw: string) => boolean): string => {
  const f = loadScenario(scenario).frames.find((x) => x.raw.startsWith(`Event: ${event}\r\n`) && (extra?.(x.raw) ?? true));
  if (!f) throw new Error(`no ${event} in ${scenario}`);
  return f.raw;
};

/** A deterministic PRNG (mulberry32) so a failing fuzz case can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Runs the real asterisk-manager reader on some text (its socket replaced by an in-memory emitter:
 * no I/O) and returns every message it emits, as its listeners receive them.
 */
function clientParse(chunks: string[]): Record<string, unknown>[] {
  const socket = Object.assign(new EventEmitter(), {
    setKeepAlive: () => undefined,
    setNoDelay: () => undefined,
    setEncoding: () => undefined,
    readyState: 'open',
  });
  const spy = jest.spyOn(net, 'createConnection').mockReturnValue(socket as unknown as net.Socket);
  try {
    const manager = AsteriskManager();
    manager.connect(5038, '127.0.0.1');
    const out: Record<string, unknown>[] = [];
    manager.on('rawevent', (item: Record<string, unknown>) => out.push(item));
    for (const c of chunks) socket.emit('data', c);
    return out;
  } finally {
    spy.mockRestore();
  }
}

describe('parseAmiFrame', () => {
  it('parses exactly as the asterisk-manager client on every frame of every capture', () => {
    let compared = 0;
    for (const name of listScenarios()) {
      for (const f of loadScenario(name).frames) {
        const ours = parseAmiFrame(f.raw);
        const theirs = clientParse([f.raw]);
        if (theirs.length === 0)
          expect(ours).toEqual({}); // the greeting
        else expect(ours).toEqual(theirs[0]);
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(1500);
  });

  it('matches the client on random messages (repeated keys, variables, odd spacing)', () => {
    const rand = rng(7);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
    const keys = ['Event', 'Channel', 'Uniqueid', 'Variable', 'ChanVariable', 'Value', ' Cause ', 'Cause-txt', 'X', 'Linkedid', 'a b'];
    const values = ['', 'x', 'a: b', 'NAME=v=w', 'NAME', '=', ' spaced ', 'PJSIP/101-00000001', '1795715947.0'];
    for (let i = 0; i < 2000; i++) {
      const n = 1 + Math.floor(rand() * 12);
      const lines: string[] = [];
      for (let j = 0; j < n; j++)
        lines.push(rand() < 0.1 ? pick(['noseparator', 'Key:novalue', 'Key:  two']) : `${pick(keys)}: ${pick(values)}`);
      const raw = `${lines.join(rand() < 0.5 ? '\r\n' : '\n')}\r\n\r\n`;
      const theirs = clientParse([raw]);
      expect(parseAmiFrame(raw)).toEqual(theirs[0] ?? {});
    }
  });

  it('handles Response: Follows like the client', () => {
    const raw = 'Response: Follows\r\nPrivilege: Command\r\nActionID: a1\r\nline one\r\nline: two\r\n--END COMMAND--\r\n\r\n';
    expect(parseAmiFrame(raw)).toEqual(clientParse([raw])[0]);
    expect(parseAmiFrame(raw)).toMatchObject({ response: 'follows', actionid: 'a1' });
  });

  it('turns Variable into a sub-object and keeps the value apart (VarSet)', () => {
    const f = frame(['Event: VarSet', 'Variable: __RECORDING_FILE', 'Value: in-1.wav', 'ChanVariable: RECORDING_FILE=a=b']);
    expect(f).toEqual({ event: 'VarSet', variable: { __RECORDING_FILE: '' }, value: 'in-1.wav', chanvariable: { RECORDING_FILE: 'a=b' } });
  });

  it('keeps prototype-looking keys as plain data', () => {
    const f = frame(['Event: X', '__proto__: a', 'Constructor: b']);
    expect(Object.getPrototypeOf(f)).toBe(Object.prototype);
    expect(Object.hasOwn(f, '__proto__')).toBe(true);
    expect(f.constructor).toBe('b');
  });
});

describe('createAmiStreamParser', () => {
  /** The text cut at random places (1 byte to 4 KiB), as a socket delivers it. */
  function chop(text: string, rand: () => number): string[] {
    const out: string[] = [];
    for (let pos = 0; pos < text.length;) {
      const n = 1 + Math.floor(rand() ** 3 * 4096);
      out.push(text.slice(pos, pos + n));
      pos += n;
    }
    return out;
  }
  const streamParse = (chunks: string[]): AmiFrame[] => {
    const out: AmiFrame[] = [];
    const feed = createAmiStreamParser((f) => out.push(f));
    for (const c of chunks) feed(c);
    return out;
  };
  const nonEmpty = (frames: Record<string, unknown>[]) => frames.filter((f) => Object.keys(f).length > 0);

  it('emits the client’s frames for every capture, however the stream is cut', () => {
    const rand = rng(11);
    let compared = 0;
    for (const name of listScenarios()) {
      const stream = `Asterisk Call Manager/9.0.0\r\n${loadScenario(name)
        .frames.map((f) => f.raw)
        .join('')}`;
      const theirs = nonEmpty(clientParse([stream]));
      for (let round = 0; round < 3; round++) {
        const chunks = round === 0 ? [stream] : chop(stream, rand);
        expect(streamParse(chunks)).toEqual(theirs);
      }
      compared += theirs.length;
    }
    expect(compared).toBeGreaterThan(1400);
  });

  it('matches the client on odd streams: \\n line ends, blank lines between messages, Follows, a split \\r\\n', () => {
    const stream = [
      'Asterisk Call Manager/5.0.1\r\n',
      'Response: Success\r\nActionID: 1\r\nMessage: Authentication accepted\r\n\r\n',
      '\r\n\n',
      'Event: FullyBooted\nPrivilege: system,all\nUptime: 12\n\n',
      'Response: Follows\r\nPrivilege: Command\r\nActionID: a1\r\nline one\r\n\r\nline: two\r\n--END COMMAND--\r\n\r\n',
      'Event: Hangup\r\nChannel: PJSIP/101-00000001\r\nVariable: A=b=c\r\n\r\n',
    ].join('');
    const theirs = nonEmpty(clientParse([stream]));
    expect(theirs.length).toBe(4);
    for (let cut = 1; cut < stream.length; cut++) {
      expect(streamParse([stream.slice(0, cut), stream.slice(cut)])).toEqual(theirs);
    }
  });

  it('hands over each message’s raw text, in stream order, which parses to the same frame', () => {
    const rand = rng(12);
    for (const name of ['queue_ringall', 'attended_transfer']) {
      const stream = `Asterisk Call Manager/9.0.0\r\n${loadScenario(name)
        .frames.map((f) => f.raw)
        .join('')}`;
      const got: Array<[AmiFrame, string]> = [];
      const feed = createAmiStreamParser((f, raw) => got.push([f, raw]));
      for (const c of chop(stream, rand)) feed(c);
      expect(got.length).toBeGreaterThan(50);
      let at = 0;
      for (const [frame, raw] of got) {
        expect(raw.endsWith('\r\n\r\n')).toBe(true);
        expect(parseAmiFrame(raw)).toEqual(frame);
        const found = stream.indexOf(raw, at);
        expect(found).toBeGreaterThanOrEqual(at);
        at = found + raw.length;
      }
    }
  });

  it('reads bytes as a socket delivers them, cut anywhere, even inside a UTF-8 character', () => {
    const stream = Buffer.from(
      [
        'Asterisk Call Manager/9.0.0\r\n',
        'Event: Newchannel\r\nChannel: PJSIP/trunk-00000001\r\nCallerIDName: Олена Коваленко 🙂\r\nLinkedid: 1795715947.1\r\n\r\n',
        'Response: Follows\r\nActionID: a1\r\nрядок\r\n--END COMMAND--\r\n\r\n',
        'Event: Hangup\r\nChannel: PJSIP/trunk-00000001\r\nCause-txt: Normal Clearing\r\n\r\n',
      ].join(''),
      'utf8',
    );
    const whole: Array<[AmiFrame, string]> = [];
    createAmiStreamParser((f, raw) => whole.push([f, raw]))(stream);
    expect(whole.map(([f]) => f.event ?? f.response)).toEqual(['Newchannel', 'follows', 'Hangup']);
    expect(whole[0]![0].calleridname).toBe('Олена Коваленко 🙂');
    expect(whole[1]![0].content).toContain('рядок');
    for (let cut = 1; cut < stream.length; cut++) {
      const got: Array<[AmiFrame, string]> = [];
      const feed = createAmiStreamParser((f, raw) => got.push([f, raw]));
      feed(stream.subarray(0, cut));
      feed(stream.subarray(cut));
      expect(got).toEqual(whole);
    }
  });

  it('holds a message longer than many chunks (1.5 MB), then goes on with the next ones', () => {
    const long = 'x'.repeat(1_500_000);
    const stream = Buffer.from(
      `Event: UserEvent\r\nBody: ${long}\r\n\r\n` +
        'Event: Hangup\r\nChannel: PJSIP/101-1\r\n\r\n'.repeat(3) +
        'Event: Newchannel\r\nChannel: PJSIP/1',
    );
    const out: AmiFrame[] = [];
    const feed = createAmiStreamParser((f) => out.push(f));
    for (let at = 0; at < stream.length; at += 65_536) feed(stream.subarray(at, at + 65_536));
    expect(out.length).toBe(4);
    expect(out[0]!.body).toBe(long);
    expect(out.slice(1)).toEqual(Array(3).fill({ event: 'Hangup', channel: 'PJSIP/101-1' }));
    feed('02-2\r\n\r\n');
    expect(out[4]).toEqual({ event: 'Newchannel', channel: 'PJSIP/102-2' });
  });

  it('waits for the blank line: a message is emitted only when complete', () => {
    const out: AmiFrame[] = [];
    const feed = createAmiStreamParser((f) => out.push(f));
    feed('Event: Newchannel\r\nChannel: PJSIP/101-1\r\n');
    feed('\r');
    expect(out).toEqual([]);
    feed('\n');
    expect(out).toEqual([{ event: 'Newchannel', channel: 'PJSIP/101-1' }]);
  });
});

describe('journal payloads', () => {
  const raw = 'Event: Hangup\r\nChannel: PJSIP/101-00000001\r\nLinkedid: 1795715947.1\r\nCause-txt: Normal "clearing"\r\n\r\n';

  it('keep the raw text when there is one, and read back to the frame the client emitted', () => {
    const frame = parseAmiFrame(raw);
    expect(amiJournalPayload(frame, raw)).toBe(raw);
    expect(amiFrameOfPayload(raw)).toEqual(frame);
  });

  it('fall back to the parsed frame (stored as JSON) without raw text, or when it would be misread', () => {
    const frame = parseAmiFrame(raw);
    expect(amiJournalPayload(frame, undefined)).toBe(frame);
    // JSON-looking text, and a `\.` that could end a COPY's data
    for (const odd of [`{x\r\n${raw}`, raw.replace('Normal', '\\.')]) {
      const f = parseAmiFrame(odd);
      expect(amiJournalPayload(f, odd)).toBe(f);
      expect(amiFrameOfPayload(JSON.stringify(f))).toEqual(f);
    }
  });

  it('read journals written before raw text (JSON of the frame; already parsed json columns) the same', () => {
    const frame = parseAmiFrame(raw);
    expect(amiFrameOfPayload(JSON.stringify(frame))).toEqual(frame);
    expect(amiFrameOfPayload(frame)).toEqual(frame);
  });
});

describe('toPbxEvent', () => {
  it('stamps events with the Timestamp header when there is one, else with receivedAt; carries mono', () => {
    const withTs = toPbxEvent(parseAmiFrame(firstRaw('inbound_answered', 'Newchannel')), RX, 42);
    expect(withTs?.at.toISOString()).toBe('2026-11-26T17:59:07.565Z'); // Timestamp: 1795715947.564901
    expect(withTs?.mono).toBe(42);
    const without = toPbxEvent(parseAmiFrame(firstRaw('inbound_answered-nocel', 'Newchannel')), RX, 7);
    expect(without?.at).toBe(RX);
    expect(without?.mono).toBe(7);
  });

  it.each([['abc'], ['-1'], ['0'], ['1e20'], ['']])('ignores a garbage Timestamp %p', (ts) => {
    const raw = firstRaw('inbound_answered', 'Newchannel').replace(/Timestamp: [^\r]*/, `Timestamp: ${ts}`);
    expect(toPbxEvent(parseAmiFrame(raw), RX, 0)?.at).toBe(RX);
  });

  it('maps a channel snapshot without leaking AMI names', () => {
    const ev = toPbxEvent(parseAmiFrame(firstRaw('inbound_answered', 'Newchannel')), RX, 0);
    expect(ev).toEqual({
      type: 'channel-created',
      at: expect.any(Date),
      mono: 0,
      channel: {
        channelId: '1795715947.0',
        pbxCallId: '1795715947.0',
        name: 'PJSIP/carrier-00000000',
        state: 4,
        callerNumber: '+380501112233',
        connectedNumber: null, // <unknown>
        exten: '380441234567',
        context: 'from-carrier',
      },
    });
  });

  it('maps dials, bridges, hangups and transfers', () => {
    const dial = toPbxEvent(parseAmiFrame(firstRaw('inbound_busy', 'DialEnd')), RX, 0);
    expect(dial).toMatchObject({ type: 'dial-end', status: 'BUSY', callee: { name: 'PJSIP/101-0000001d', state: 0 } });
    const hangup = toPbxEvent(parseAmiFrame(firstRaw('inbound_busy', 'Hangup')), RX, 0);
    expect(hangup).toMatchObject({ type: 'hangup', cause: 17, source: 'ami' });
    const enter = toPbxEvent(parseAmiFrame(firstRaw('attended_transfer', 'BridgeEnter', (r) => r.includes('SwapUniqueid'))), RX, 0);
    expect(enter).toMatchObject({ type: 'bridge-enter', mergesCalls: true, swapChannelId: '1795714626.48' });
    const att = toPbxEvent(parseAmiFrame(firstRaw('attended_transfer', 'AttendedTransfer')), RX, 0);
    expect(att).toMatchObject({
      type: 'attended-transfer',
      success: true,
      transferer: { pbxCallId: '1795714621.46' },
      secondTransferer: { pbxCallId: '1795714626.48' },
      target: { name: 'PJSIP/102-0000002d' },
    });
    const blind = toPbxEvent(parseAmiFrame(firstRaw('blind_transfer', 'BlindTransfer')), RX, 0);
    expect(blind).toMatchObject({ type: 'blind-transfer', success: true, extension: '102' });
    const soft = toPbxEvent(parseAmiFrame(firstRaw('inbound_answered', 'SoftHangupRequest')), RX, 0);
    expect(soft).toMatchObject({ type: 'hangup-request', by: 'pbx', cause: 16 });
  });

  it('maps the CEL records the tracker needs, and only those', () => {
    const cel = (name: string, scenario = 'inbound_answered') =>
      toPbxEvent(parseAmiFrame(firstRaw(scenario, 'CEL', (r) => r.includes(`EventName: ${name}\r\n`))), RX, 0);
    expect(cel('LINKEDID_END')).toMatchObject({ type: 'linkedid-end', pbxCallId: '1795715947.0' });
    expect(cel('HANGUP')).toMatchObject({ type: 'hangup', source: 'cel', cause: 16, hangupSource: 'PJSIP/carrier-00000000' });
    expect(cel('ANSWER')).toMatchObject({ type: 'channel-answered', channel: { name: 'PJSIP/101-00000001' } });
    expect(cel('ATTENDEDTRANSFER', 'attended_transfer')).toMatchObject({
      type: 'transfer-recorded',
      kind: 'attended',
      otherChannelId: '1795714626.48',
    });
    expect(cel('CHAN_START')).toBeNull();
    expect(cel('APP_START')).toBeNull();
    expect(cel('BRIDGE_ENTER')).toBeNull();
  });

  it('keeps only the variables of interest, without the inheritance prefix', () => {
    const rec = toPbxEvent(parseAmiFrame(firstRaw('inbound_answered', 'VarSet', (r) => r.includes('Variable: __RECORDING_FILE'))), RX, 0);
    expect(rec).toMatchObject({ type: 'variable', name: 'RECORDING_FILE', value: 'in-380441234567-1795715947.0.wav' });
    const mix = toPbxEvent(parseAmiFrame(firstRaw('inbound_answered', 'VarSet', (r) => r.includes('MIXMONITOR_FILENAME'))), RX, 0);
    expect(mix).toMatchObject({ name: 'MIXMONITOR_FILENAME', value: '/var/spool/asterisk/monitor/in-380441234567-1795715947.0.wav' });
    expect(toPbxEvent(parseAmiFrame(firstRaw('inbound_answered', 'VarSet', (r) => r.includes('SIPDOMAIN'))), RX, 0)).toBeNull();
  });

  it('maps the resync items and FullyBooted', () => {
    const item = toPbxEvent(parseAmiFrame(firstRaw('resync_midcall', 'CoreShowChannel')), RX, 0);
    expect(item).toMatchObject({
      type: 'resync-channel',
      requestId: 'resync-1',
      channel: {
        channelId: '1795715947.0',
        durationSeconds: 2,
        bridgeId: '0fe19473-6415-44ac-a0e7-a8c67f087f8e',
        state: 6,
        connectedNumber: '101',
      },
    });
    expect(toPbxEvent(parseAmiFrame(firstRaw('resync_midcall', 'CoreShowChannelsComplete')), RX, 0)).toMatchObject({
      type: 'resync-complete',
      listed: 2,
    });
    expect(toPbxEvent(parseAmiFrame(firstRaw('attended_transfer', 'FullyBooted')), RX, 0)).toMatchObject({
      type: 'pbx-booted',
      uptimeSeconds: 218,
      lastReloadSeconds: 108,
    });
  });

  it('reads RECORDING_FILE from ChanVariable (manager.conf channelvars)', () => {
    const raw = firstRaw('inbound_answered', 'Newstate').replace('\r\n\r\n', '\r\nChanVariable: RECORDING_FILE=calltrack/in-1.wav\r\n\r\n');
    expect(toPbxEvent(parseAmiFrame(raw), RX, 0)).toMatchObject({ channel: { recordingFile: 'calltrack/in-1.wav' } });
  });

  it.each([
    ['an unknown event', ['Event: DeviceStateChange', 'Device: PJSIP/101', 'State: INUSE']],
    ['a dialplan step', ['Event: Newexten', 'Channel: PJSIP/101-1', 'Uniqueid: 1.1', 'Linkedid: 1.1', 'Application: Dial']],
    ['a response', ['Response: Success', 'ActionID: x', 'Message: ok']],
    ['a channel event without its ids', ['Event: Hangup', 'Channel: PJSIP/101-00000001', 'Cause: 16']],
    ['repeated ids (arrays)', ['Event: Hangup', 'Channel: PJSIP/101-1', 'Uniqueid: 1.1', 'Uniqueid: 1.2', 'Linkedid: 1.1']],
    ['an id with spaces', ['Event: Newchannel', 'Channel: PJSIP/101-1', 'Uniqueid: 1 1', 'Linkedid: 1.1']],
    ['a DialEnd without status', ['Event: DialEnd', 'DestChannel: PJSIP/101-1', 'DestUniqueid: 1.1', 'DestLinkedid: 1.1']],
  ])('returns null for %s', (_what, lines) => {
    expect(toPbxEvent(frame(lines), RX, 0)).toBeNull();
  });

  it('never throws on 10 000 malformed frames (garbage, missing fields, binary, arrays, 1 MB values)', () => {
    const rand = rng(20261126);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
    const samples = listScenarios().flatMap((n) => loadScenario(n).frames.map((f) => f.raw));
    const big = 'A'.repeat(1024 * 1024);
    const junk = (n: number): string => String.fromCharCode(...Array.from({ length: n }, () => Math.floor(rand() * 256)));
    const huge: ((raw: string) => string)[] = [
      (raw) => raw.replace(/: [^\r]*/, `: ${big}`), // a 1 MB value (the event name)
      (raw) =>
        raw.replace(/(Channel|Uniqueid|Linkedid|Extra|Value|Timestamp|Duration|UserField): [^\r]*/, (_m, k: string) => `${k}: ${big}`), // 1 MB field
    ];
    const mutations: ((raw: string) => string | AmiFrame)[] = [
      () => junk(1 + Math.floor(rand() * 400)), // binary junk
      (raw) =>
        raw
          .split('\r\n')
          .filter(() => rand() > 0.3)
          .join('\r\n'), // missing fields
      (raw) => raw.replace(/: [^\r]*/g, (m) => (rand() < 0.3 ? `: ${junk(8)}` : m)), // garbage values
      (raw) =>
        raw.replace(
          /\r\n\r\n$/,
          `\r\n${pick(['Uniqueid', 'Linkedid', 'Channel', 'Timestamp', 'Cause', 'DialStatus', 'Extra'])}: dup\r\n\r\n`,
        ), // arrays
      (raw) => raw.replace(/\r\n/g, rand() < 0.5 ? '\n' : '\r'), // odd line ends
      (raw) => raw.slice(0, Math.floor(rand() * raw.length)), // truncated
      () => ({
        event: pick(['Hangup', 'CEL', 'VarSet', 'DialBegin', 'Cdr']),
        uniqueid: {} as unknown as string,
        linkedid: ['1', '2'],
        channel: 5 as unknown as string,
        variable: 'x' as unknown as Record<string, string>,
        eventname: 'HANGUP',
        extra: '{"hangupcause":"x"',
      }),
      () => ({
        event: ['Newchannel', 'Hangup'] as unknown as string,
        uniqueid: '1.1',
        linkedid: '1.1',
        channel: 'PJSIP/1-1',
        timestamp: { a: 1 } as unknown as string,
      }),
    ];
    let events = 0;
    for (let i = 0; i < 10_000; i++) {
      const m = (rand() < 0.03 ? pick(huge) : pick(mutations))(pick(samples));
      let ev: PbxEvent | null = null;
      expect(() => {
        ev = toPbxEvent(typeof m === 'string' ? parseAmiFrame(m) : m, RX, i);
      }).not.toThrow();
      if (ev !== null) {
        events++;
        const e = ev as PbxEvent;
        expect(typeof e.type).toBe('string');
        expect(Number.isNaN(e.at.getTime())).toBe(false);
      }
    }
    expect(events).toBeGreaterThan(0);
    // non-objects too
    for (const bad of [null, undefined, 42, 'Event: Hangup', [], () => 1]) {
      expect(toPbxEvent(bad as unknown as AmiFrame, RX, 0)).toBeNull();
    }
  });
});
