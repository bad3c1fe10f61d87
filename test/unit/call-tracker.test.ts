import type { CallDraft } from '../../src/calls/call-record';
import { createTrackerState, reduce, trackerStats } from '../../src/calls/call-tracker';
import type { ChannelInfo, PbxEvent, ResyncChannel } from '../../src/calls/pbx-event';
import {
  captureEvents,
  expectCallsToMatch,
  fixtureCtx,
  listScenarios,
  loadScenario,
  replay,
  type ExpectedScenario,
} from '../helpers/fixtures';

const eventsOf = (name: string): PbxEvent[] => captureEvents(loadScenario(name).frames);
const indexOf = (events: PbxEvent[], pred: (e: PbxEvent) => boolean): number => {
  const i = events.findIndex(pred);
  if (i === -1) throw new Error('no such event');
  return i;
};
const namedChannel = (e: PbxEvent, prefix: string): boolean => 'channel' in e && e.channel.name.startsWith(prefix);
const later = (e: PbxEvent, ms: number) => ({ at: new Date(e.at.getTime() + ms), mono: e.mono + ms });
const only = (calls: CallDraft[]): CallDraft => {
  expect(calls).toHaveLength(1);
  return calls[0] as CallDraft;
};

const DRAFT_KEYS = [
  'agentExtension',
  'answeredAt',
  'direction',
  'disposition',
  'endReason',
  'endedAt',
  'externalNumber',
  'externalNumberRaw',
  'hangupBy',
  'legs',
  'missed',
  'pbxCallId',
  'recordingFile',
  'relatedPbxCallIds',
  'startedAt',
  'state',
  'trackingNumber',
];

/** Every capture except resync_midcall (the same call as inbound_answered, seen mid-way), in capture order. */
const dayOfCalls = (): PbxEvent[] =>
  listScenarios()
    .filter((n) => n !== 'resync_midcall')
    .map((n) => eventsOf(n))
    .sort((a, b) => (a[0] as PbxEvent).mono - (b[0] as PbxEvent).mono)
    .flat();

describe('call tracker: real Asterisk 22 captures', () => {
  it('has all 13 captures', () => {
    expect(listScenarios()).toHaveLength(13);
  });

  it.each(listScenarios())('%s', (name) => {
    const scenario = loadScenario(name);
    const { calls, state } = replay(captureEvents(scenario.frames));
    expectCallsToMatch(calls, scenario.expected);
    expect(trackerStats(state)).toMatchObject({ openCalls: 0, channels: 0, bridges: 0 });
  });

  // older PBXs (and many FreePBX installs) still run chan_sip: SIP/101-0000000a
  it.each(listScenarios())('%s with chan_sip channel names (SIP/…) gives the same records', (name) => {
    const scenario = loadScenario(name);
    const frames = scenario.frames.map((f) => ({ ...f, raw: f.raw.replace(/PJSIP\//g, 'SIP/') }));
    expect(frames.some((f) => f.raw.includes('SIP/'))).toBe(true);
    expectCallsToMatch(replay(captureEvents(frames)).calls, scenario.expected);
  });

  it('gives the same records when every capture flows through one tracker (CEL and non-CEL calls mixed)', () => {
    const { calls } = replay(dayOfCalls());
    for (const name of listScenarios().filter((n) => n !== 'resync_midcall')) {
      const expected = loadScenario(name).expected;
      const ids = new Set(expected.calls.map((c) => c.pbxCallId));
      expectCallsToMatch(
        calls.filter((c) => ids.has(c.pbxCallId)),
        expected,
      );
    }
    expect(calls).toHaveLength(13); // 12 captures, the attended transfer has two records
  });

  it('links the consultation call and the transferred call both ways', () => {
    const { calls } = replay(eventsOf('attended_transfer'));
    const customer = calls.find((c) => c.pbxCallId === '1795714621.46');
    const consult = calls.find((c) => c.pbxCallId === '1795714626.48');
    expect(customer?.relatedPbxCallIds).toEqual(['1795714626.48']);
    expect(consult?.relatedPbxCallIds).toEqual(['1795714621.46']);
    expect(customer?.legs[1]).toMatchObject({ extension: '102', ringingAt: null, result: 'answered' });
  });
});

describe('call tracker: behaviour', () => {
  it('is deterministic: the same events give the same changes', () => {
    const events = dayOfCalls();
    const a = replay(events);
    const b = replay(events);
    expect(JSON.stringify(b.changes)).toBe(JSON.stringify(a.changes));
    expect(a.changes.length).toBeGreaterThan(50);
  });

  it('never reopens an ended record: late and repeated events change nothing', () => {
    for (const name of ['blind_transfer', 'inbound_answered-nocel', 'attended_transfer']) {
      const events = eventsOf(name);
      const first = replay(events);
      const again = replay(events, fixtureCtx(), first.state);
      expect(again.changes).toEqual([]);
      expect(trackerStats(first.state)).toMatchObject({ openCalls: 0, channels: 0 });
    }
  });

  it('emits whole drafts when the call rings, is answered, is transferred and ends; each record once per event', () => {
    const events = eventsOf('blind_transfer');
    const { changes } = replay(events);
    for (const c of changes) expect(Object.keys(c.draft).sort()).toEqual(DRAFT_KEYS);
    const perEvent = new Map<number, string[]>();
    for (const c of changes) perEvent.set(c.event, [...(perEvent.get(c.event) ?? []), c.draft.pbxCallId]);
    for (const ids of perEvent.values()) expect(new Set(ids).size).toBe(ids.length);

    const drafts = changes.map((c) => c.draft);
    expect(drafts[0]).toMatchObject({ state: 'ringing', answeredAt: null, direction: 'inbound', externalNumber: '+380501112233' });
    expect(drafts.some((d) => d.state === 'ringing' && d.legs[0]?.ringingAt !== null && d.legs[0]?.result === null)).toBe(true);
    const answered = drafts.findIndex((d) => d.state === 'talking' && d.answeredAt !== null);
    expect(answered).toBeGreaterThan(0);
    const transferred = drafts.findIndex((d) => d.legs.some((l) => l.extension === '102' && l.result === null));
    expect(transferred).toBeGreaterThan(answered);
    expect(drafts[transferred]?.legs[0]).toMatchObject({ extension: '101', result: 'answered' });
    expect(drafts[drafts.length - 1]).toMatchObject({ state: 'ended', endReason: 'normal', disposition: 'answered' });
    // one change per real change: consecutive drafts always differ
    for (let i = 1; i < drafts.length; i++) expect(drafts[i]).not.toEqual(drafts[i - 1]);
  });

  it('hands out copies: mutating a change does not touch the tracker', () => {
    const state = createTrackerState();
    const events = eventsOf('inbound_answered');
    let lastAsEmitted = '';
    for (const ev of events) {
      for (const d of reduce(state, ev, fixtureCtx()).changes) {
        lastAsEmitted = JSON.stringify(d);
        d.legs.push({ extension: 'x', ringingAt: null, answeredAt: null, endedAt: null, result: null });
        d.legs[0]?.ringingAt?.setTime(0);
        d.startedAt.setTime(0);
        d.relatedPbxCallIds.push('x');
      }
    }
    // a fresh parse of the capture: the events above share their Dates with the drafts
    expect(lastAsEmitted).toBe(JSON.stringify(replay(eventsOf('inbound_answered')).calls[0]));
    expect(JSON.parse(lastAsEmitted)).toMatchObject({ state: 'ended', legs: [{ extension: '101' }], relatedPbxCallIds: [] });
  });

  it('applies registering and unregistering an extension from the next event', () => {
    const events = eventsOf('inbound_answered');
    const rings = indexOf(events, (e) => e.type === 'channel-created' && namedChannel(e, 'PJSIP/101-'));
    const agentsFrom = (from: number, agents: string[], before: string[]) => (i: number) =>
      fixtureCtx(new Set(i >= from ? agents : before));

    // registered just before 101's phone rang: an agent, and the call is answered by it
    let call = only(replay(events, agentsFrom(rings, ['101'], [])).calls);
    expect(call).toMatchObject({ agentExtension: '101', disposition: 'answered', legs: [{ extension: '101', result: 'answered' }] });

    // registered one event too late: that channel was not an agent's when it appeared
    call = only(replay(events, agentsFrom(rings + 1, ['101'], [])).calls);
    expect(call.legs).toEqual([]);
    expect(call.agentExtension).toBeNull();

    // unregistered just before it rang
    call = only(replay(events, agentsFrom(rings, [], ['101', '102'])).calls);
    expect(call.legs).toEqual([]);

    // a new registration applies to the next call
    const two = [...eventsOf('internal'), ...eventsOf('outbound_answered')];
    const switchAt = eventsOf('internal').length;
    const calls = replay(two, agentsFrom(switchAt, ['101', '103'], ['101', '102'])).calls;
    expect(calls.find((c) => c.pbxCallId === '1795714581.38')?.legs).toHaveLength(1); // 102 was an agent then
    expect(calls.find((c) => c.pbxCallId === '1795714558.34')?.agentExtension).toBe('101');
  });

  it('accepts an anonymous caller: no number, no error', () => {
    const scenario = loadScenario('inbound_answered');
    const withheld = (raw: string) =>
      raw.replace(
        /^(CallerIDNum|CallerIDnum|CallerIDani|ConnectedLineNum|DestConnectedLineNum|Source): \+380501112233\r$/gm,
        '$1: anonymous\r',
      );
    const { calls } = replay(captureEvents(scenario.frames.map((f) => ({ ...f, raw: withheld(f.raw) }))));
    const expected: ExpectedScenario = {
      ...scenario.expected,
      calls: scenario.expected.calls.map((c) => ({ ...c, externalNumber: null, externalNumberRaw: 'anonymous' })),
    };
    expectCallsToMatch(calls, expected);

    const unknown = (raw: string) => raw.replace(/^(CallerIDNum|CallerIDnum): \+380501112233\r$/gm, '$1: <unknown>\r');
    const call = only(replay(captureEvents(scenario.frames.map((f) => ({ ...f, raw: unknown(f.raw) })))).calls);
    expect(call).toMatchObject({ externalNumber: null, externalNumberRaw: null, disposition: 'answered', trackingNumber: '+380441234567' });
  });

  it('does not count a machine answering (IVR, voicemail, queue Answer()) as answered', () => {
    const t0 = Date.UTC(2026, 10, 26, 12, 0, 0);
    const at = (s: number) => ({ at: new Date(t0 + s * 1000), mono: s * 1000 });
    const carrier: ChannelInfo = {
      channelId: '1800000000.1',
      pbxCallId: '1800000000.1',
      name: 'PJSIP/carrier-00000001',
      state: 4,
      callerNumber: '+380501112233',
      connectedNumber: null,
      exten: '380441234567',
      context: 'from-carrier',
    };
    const events: PbxEvent[] = [
      { type: 'channel-created', ...at(0), channel: carrier },
      { type: 'channel-state', ...at(1), channel: { ...carrier, state: 6 } }, // Answer() + Playback / VoiceMail
      { type: 'hangup-request', ...at(20), channel: { ...carrier, state: 6 }, cause: 16, by: 'remote' },
      { type: 'hangup', ...at(20), channel: { ...carrier, state: 6 }, cause: 16, source: 'ami', hangupSource: null, dialStatus: null },
    ];
    expect(only(replay(events).calls)).toMatchObject({
      direction: 'inbound',
      state: 'ended',
      answeredAt: null,
      disposition: 'no-answer',
      missed: true,
      hangupBy: null,
      agentExtension: null,
    });
  });

  it('gives a call pickup as a joined leg; the picker’s own feature-code call leaves no record', () => {
    const t0 = Date.UTC(2026, 10, 26, 12, 0, 0);
    const at = (s: number) => ({ at: new Date(t0 + s * 1000), mono: s * 1000 });
    const info = (name: string, channelId: string, pbxCallId: string, state: number, exten: string | null): ChannelInfo => ({
      channelId,
      pbxCallId,
      name,
      state,
      callerNumber: null,
      connectedNumber: null,
      exten,
      context: name.includes('carrier') ? 'from-carrier' : 'from-internal',
    });
    const carrier = { ...info('PJSIP/carrier-00000001', '1800000000.1', '1800000000.1', 4, '380441234567'), callerNumber: '+380501112233' };
    const ringing101 = info('PJSIP/101-00000002', '1800000000.2', '1800000000.1', 0, 's');
    const picker102 = info('PJSIP/102-00000003', '1800000004.3', '1800000004.3', 4, '*8101');
    const hangup = (channel: ChannelInfo, cause: number): PbxEvent => ({
      type: 'hangup',
      ...at(30),
      channel,
      cause,
      source: 'ami',
      hangupSource: null,
      dialStatus: null,
    });
    const events: PbxEvent[] = [
      { type: 'channel-created', ...at(0), channel: carrier },
      { type: 'channel-created', ...at(0.1), channel: ringing101 },
      { type: 'dial-begin', ...at(0.1), caller: carrier, callee: ringing101, dialString: '101' },
      { type: 'channel-state', ...at(0.2), channel: { ...ringing101, state: 5 } },
      { type: 'channel-created', ...at(4), channel: picker102 },
      { type: 'channel-state', ...at(5), channel: { ...picker102, state: 6 } },
      { type: 'pickup', ...at(5), picker: { ...picker102, state: 6 }, target: { ...ringing101, state: 5 } },
      { type: 'channel-renamed', ...at(5), channel: ringing101, newName: 'PJSIP/101-00000002<ZOMBIE>' },
      { type: 'dial-end', ...at(5), caller: carrier, callee: { ...picker102, state: 6 }, status: 'ANSWER' },
      {
        type: 'hangup',
        ...at(5),
        channel: { ...ringing101, name: 'PJSIP/101-00000002<ZOMBIE>' },
        cause: 26,
        source: 'ami',
        hangupSource: null,
        dialStatus: null,
      },
      { type: 'channel-state', ...at(5), channel: { ...carrier, state: 6 } },
      { type: 'bridge-enter', ...at(5), channel: { ...picker102, state: 6 }, bridgeId: 'b1', mergesCalls: true, swapChannelId: null },
      { type: 'bridge-enter', ...at(5), channel: { ...carrier, state: 6 }, bridgeId: 'b1', mergesCalls: true, swapChannelId: null },
      { type: 'hangup-request', ...at(30), channel: { ...carrier, state: 6 }, cause: 16, by: 'remote' },
      { type: 'bridge-leave', ...at(30), channel: carrier, bridgeId: 'b1' },
      { type: 'bridge-leave', ...at(30), channel: { ...picker102, pbxCallId: carrier.pbxCallId }, bridgeId: 'b1' },
      hangup({ ...picker102, pbxCallId: carrier.pbxCallId }, 16),
      hangup(carrier, 16),
    ];
    const call = only(replay(events).calls);
    expect(call).toMatchObject({
      pbxCallId: '1800000000.1',
      disposition: 'answered',
      agentExtension: '102',
      hangupBy: 'customer',
      answeredAt: new Date(t0 + 5000),
      legs: [
        { extension: '101', ringingAt: new Date(t0 + 100), answeredAt: null, result: 'answered-elsewhere' },
        { extension: '102', ringingAt: null, answeredAt: new Date(t0 + 5000), endedAt: new Date(t0 + 30000), result: 'answered' },
      ],
    });
  });
});

describe('call tracker: lost AMI link', () => {
  const events = eventsOf('inbound_answered');
  const talking = indexOf(events, (e) => e.type === 'bridge-enter' && namedChannel(e, 'PJSIP/carrier-')) + 1;
  const before = events.slice(0, talking);
  const after = events.slice(talking);
  const last = before[before.length - 1] as PbxEvent;
  const lost: PbxEvent = { type: 'link-lost', ...later(last, 1000) };
  const latest = (prefix: string): ChannelInfo => {
    const e = [...before].reverse().find((x) => namedChannel(x, prefix)) as { channel: ChannelInfo };
    return e.channel;
  };
  const snapshotItem = (prefix: string): ResyncChannel => ({
    ...latest(prefix),
    state: 6,
    durationSeconds: 3,
    bridgeId: '0fe19473-6415-44ac-a0e7-a8c67f087f8e',
    application: 'Dial',
  });

  it('ends a call missing from the resync at the moment of loss (pbx-lost), for good', () => {
    const r = replay([...before, lost, { type: 'resync', ...later(last, 6000), channels: [] }]);
    expect(only(r.calls)).toMatchObject({
      state: 'ended',
      endReason: 'pbx-lost',
      endedAt: lost.at,
      disposition: 'answered',
      legs: [{ extension: '101', endedAt: lost.at, result: 'answered' }],
    });
    expect(trackerStats(r.state)).toMatchObject({ openCalls: 0, channels: 0, bridges: 0 });
    expect(replay(after, fixtureCtx(), r.state).changes).toEqual([]);
  });

  it('resumes a call whose channels are still there: one record, finished normally', () => {
    const resync: PbxEvent = {
      type: 'resync',
      ...later(last, 6000),
      channels: [snapshotItem('PJSIP/carrier-'), snapshotItem('PJSIP/101-')],
    };
    const r = replay([...before, lost, resync, ...after]);
    expectCallsToMatch(r.calls, loadScenario('inbound_answered').expected);
    expect(only(r.calls).endReason).toBe('normal');
    expect(r.changes.filter((c) => c.event === before.length + 1)).toEqual([]); // the resync itself changes nothing
  });

  it('ends, at the loss, the legs of channels that vanished during it; the call goes on', () => {
    const queue = eventsOf('queue_ringall');
    const cut = indexOf(queue, (e) => e.type === 'channel-state' && namedChannel(e, 'PJSIP/102-') && e.channel.state === 5) + 1;
    const head = queue.slice(0, cut);
    const tail = queue.slice(cut);
    const end = head[head.length - 1] as PbxEvent;
    const lostQ: PbxEvent = { type: 'link-lost', ...later(end, 100) };
    const item = (prefix: string): ResyncChannel => {
      const e = [...head].reverse().find((x) => namedChannel(x, prefix)) as { channel: ChannelInfo };
      return { ...e.channel, durationSeconds: 1, bridgeId: null, application: null };
    };
    const r = replay([
      ...head,
      lostQ,
      { type: 'resync', ...later(end, 500), channels: [item('PJSIP/carrier-'), item('PJSIP/102-')] },
      ...tail,
    ]);
    expect(only(r.calls)).toMatchObject({
      state: 'ended',
      endReason: 'normal',
      disposition: 'answered',
      agentExtension: '102',
      legs: [
        { extension: '101', endedAt: lostQ.at, answeredAt: null },
        { extension: '102', result: 'answered' },
      ],
    });
  });

  it('creates a call first seen in a resync from it (startedAt = now − Duration)', () => {
    const resyncAt = later(last, 6000);
    const r = replay([
      { type: 'resync', ...resyncAt, channels: [snapshotItem('PJSIP/101-'), { ...snapshotItem('PJSIP/carrier-'), durationSeconds: 9 }] },
    ]);
    expect(only(r.calls)).toMatchObject({
      pbxCallId: '1795715947.0',
      direction: 'inbound',
      state: 'talking',
      startedAt: new Date(resyncAt.at.getTime() - 9000),
      externalNumber: '+380501112233',
      trackingNumber: '+380441234567',
      agentExtension: '101',
      legs: [{ extension: '101', result: null }],
    });
  });
});

describe('call tracker: PBX restart and stale calls', () => {
  it('closes every open call on pbx-restart', () => {
    const queue = eventsOf('queue_ringall');
    const ringing = queue.slice(0, indexOf(queue, (e) => e.type === 'dial-begin' && e.callee.name.startsWith('PJSIP/102-')) + 1);
    const out = eventsOf('outbound_answered');
    const talking = out.slice(0, indexOf(out, (e) => e.type === 'bridge-enter') + 2);
    const lastEvent = ringing[ringing.length - 1] as PbxEvent;
    const r = replay([...talking, ...ringing, { type: 'pbx-restart', ...later(lastEvent, 5000) }]);
    expect(r.calls).toHaveLength(2);
    expect(r.calls.find((c) => c.direction === 'inbound')).toMatchObject({
      state: 'ended',
      endReason: 'pbx-restart',
      disposition: 'no-answer',
      missed: true,
      legs: [{ result: 'no-answer' }, { result: 'no-answer' }],
    });
    expect(r.calls.find((c) => c.direction === 'outbound')).toMatchObject({
      state: 'ended',
      endReason: 'pbx-restart',
      disposition: 'answered',
      hangupBy: 'system',
    });
    expect(trackerStats(r.state)).toMatchObject({ openCalls: 0, channels: 0, bridges: 0 });
  });

  describe('sweep', () => {
    const events = eventsOf('inbound_missed');
    const ringing = events.slice(0, indexOf(events, (e) => e.type === 'channel-state' && e.channel.state === 5) + 1);
    const last = ringing[ringing.length - 1] as PbxEvent;
    const sweep = (atMs: number, monoMs: number): PbxEvent => ({
      type: 'sweep',
      at: new Date(last.at.getTime() + atMs),
      mono: last.mono + monoMs,
      staleAfterMs: 60_000,
    });

    it('closes a call without events for longer than staleAfterMs, a ringing one included', () => {
      const { state, calls } = replay(ringing);
      expect(only(calls).state).toBe('ringing');
      expect(reduce(state, sweep(60_000, 60_000), fixtureCtx()).changes).toEqual([]);
      const closed = only(reduce(state, sweep(60_001, 60_001), fixtureCtx()).changes);
      expect(closed).toMatchObject({
        state: 'ended',
        endReason: 'stale',
        endedAt: last.at,
        disposition: 'no-answer',
        missed: true,
        legs: [{ extension: '101', result: 'no-answer', endedAt: last.at }],
      });
      expect(trackerStats(state)).toMatchObject({ openCalls: 0, channels: 0 });
      expect(replay(events.slice(ringing.length), fixtureCtx(), state).changes).toEqual([]);
    });

    it('measures staleness on mono only, never on event timestamps', () => {
      const { state } = replay(ringing);
      // a day later by the PBX clock, a second later by ours: not stale
      expect(reduce(state, sweep(86_400_000, 1000), fixtureCtx()).changes).toEqual([]);
      // the PBX clock went back, ours went on: stale
      expect(only(reduce(state, sweep(-86_400_000, 120_000), fixtureCtx()).changes).endReason).toBe('stale');
    });
  });

  it('survives shuffled, dropped and duplicated events without throwing, and a restart leaves nothing behind', () => {
    const day = dayOfCalls();
    let seed = 12345;
    const rand = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296;
    for (let round = 0; round < 40; round++) {
      const events = day.filter(() => rand() > 0.1);
      for (let i = 0; i < events.length / 10; i++) {
        const a = Math.floor(rand() * events.length);
        const b = Math.min(events.length - 1, a + Math.floor(rand() * 20));
        [events[a], events[b]] = [events[b] as PbxEvent, events[a] as PbxEvent];
        if (rand() < 0.05) events.splice(b, 0, events[a] as PbxEvent);
      }
      const state = createTrackerState();
      for (const ev of events) {
        const { changes } = reduce(state, ev, fixtureCtx());
        for (const d of changes) expect(d.state === 'ended').toBe(d.endedAt !== null);
      }
      const last = events[events.length - 1] as PbxEvent;
      reduce(state, { type: 'pbx-restart', ...later(last, 1000) }, fixtureCtx());
      expect(trackerStats(state)).toMatchObject({ openCalls: 0, channels: 0, bridges: 0 });
    }
  });

  it('keeps its memory bounded', () => {
    const state = createTrackerState({ rememberEnded: 5 });
    replay(dayOfCalls(), fixtureCtx(), state);
    expect(trackerStats(state)).toEqual({ openCalls: 0, channels: 0, bridges: 0, rememberedEnded: 5 });

    const byAge = createTrackerState({ rememberEndedMs: 60_000 });
    const events = eventsOf('internal');
    replay(events, fixtureCtx(), byAge);
    expect(trackerStats(byAge).rememberedEnded).toBe(1);
    const last = events[events.length - 1] as PbxEvent;
    reduce(byAge, { type: 'sweep', ...later(last, 3_600_000), staleAfterMs: 60_000 }, fixtureCtx());
    expect(trackerStats(byAge).rememberedEnded).toBe(0);
  });
});

describe('call tracker: a CDR posted after the end', () => {
  const cdr = (after: PbxEvent, channelId: string, userField: string): PbxEvent => ({
    type: 'cdr-posted',
    ...later(after, 500),
    channelId,
    userField,
    disposition: 'ANSWERED',
  });

  it('completes an ended record that has no recording file yet, without reopening it', () => {
    const events = eventsOf('internal');
    const { state, calls } = replay(events);
    const call = only(calls);
    expect(call.state).toBe('ended');
    expect(call.recordingFile).toBeNull();
    const last = events[events.length - 1]!;
    const { changes } = reduce(state, cdr(last, call.pbxCallId, 'calltrack/out-late.raw'), fixtureCtx());
    const updated = only(changes);
    expect(updated).toEqual({ ...call, recordingFile: 'calltrack/out-late.raw' });
    // the same CDR again changes nothing
    expect(reduce(state, cdr(last, call.pbxCallId, 'calltrack/out-late.raw'), fixtureCtx()).changes).toEqual([]);
  });

  it('keeps the calls of only the most recently ended records for it (rememberEndedCalls); every linkedid stays remembered', () => {
    const events = dayOfCalls();
    const last = events[events.length - 1]!;
    const completed = (state: ReturnType<typeof createTrackerState>, waiting: CallDraft[]) =>
      waiting.filter((c) => reduce(state, cdr(last, c.pbxCallId, `calltrack/${c.pbxCallId}.raw`), fixtureCtx()).changes.length > 0);

    const all = replay(events);
    const waiting = all.calls.filter((c) => c.state === 'ended' && c.recordingFile === null);
    expect(waiting.length).toBeGreaterThanOrEqual(2);
    expect(completed(all.state, waiting)).toHaveLength(waiting.length);

    const bounded = replay(events, fixtureCtx(), createTrackerState({ rememberEndedCalls: 1 }));
    const kept = [...bounded.state.ended].filter(([, e]) => e.call !== null).map(([id]) => id);
    expect(kept).toHaveLength(1);
    for (const c of waiting) expect(bounded.state.ended.has(c.pbxCallId)).toBe(true);
    // the one that ended last can still be completed, the others no longer
    const endedLast = [...waiting].sort((a, b) => a.endedAt!.getTime() - b.endedAt!.getTime()).pop()!;
    expect(kept).toEqual([endedLast.pbxCallId]);
    expect(completed(bounded.state, waiting).map((c) => c.pbxCallId)).toEqual([endedLast.pbxCallId]);
    // a late event reopens none of them
    expect(trackerStats(bounded.state).openCalls).toBe(0);
  });

  it('never touches an ended record that has its recording file (and keeps no state for one)', () => {
    const events = eventsOf('inbound_answered');
    const { state, calls } = replay(events);
    const call = only(calls);
    expect(call.recordingFile).not.toBeNull();
    expect(state.ended.has(call.pbxCallId)).toBe(true);
    expect(state.ended.get(call.pbxCallId)?.call).toBeNull();
    const last = events[events.length - 1]!;
    expect(reduce(state, cdr(last, call.pbxCallId, 'calltrack/other.raw'), fixtureCtx()).changes).toEqual([]);
  });
});
