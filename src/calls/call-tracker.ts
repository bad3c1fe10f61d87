/**
 * The call tracker: a pure, deterministic reducer from PBX events to call drafts (one per
 * conversation, keyed by Asterisk's linkedid). See ../../DESIGN.md ("The call record") for the
 * contract it implements.
 *
 *   const state = createTrackerState();
 *   const { changes } = reduce(state, event, ctx);   // changes: the whole drafts this event changed
 *
 * Model (Asterisk 12+ semantics):
 * - Channels are correlated by linkedid. A channel's linkedid changes when Asterisk bridges it
 *   with an older conversation (basic bridges give every member the oldest linkedid: attended
 *   transfers, pickups): the channel then leaves one record and joins the other, and the two
 *   records are related. The tracker applies that rule itself on BridgeEnter and also follows the
 *   linkedid any later event reports for a channel.
 * - Parties: a channel whose endpoint (`PJSIP/101-…` → `101`) is a registered extension is an
 *   agent; Local and media-helper channels are plumbing; any other channel is external (trunk).
 *   A channel is classified once, when the tracker first sees it, with that event's ctx.
 * - The originator is the first non-plumbing channel of the linkedid. External and incoming →
 *   inbound; agent → internal, or outbound as soon as an external party takes part (or the dialled
 *   extension is a phone number). Every other agent channel is a leg.
 * - A person answered when a channel that was called (outgoing) or joined, and is not plumbing,
 *   goes Up: an agent leg, or the callee of an outbound call. The caller's own channel going Up
 *   (Answer() for an IVR, voicemail or a queue) is not.
 * - A record becomes visible (emitted) once it involves an external party, two people, or an
 *   agent dialling an extension or a phone number: an agent alone on a feature code (*8 pickup,
 *   voicemail) produces no record.
 * - The record ends on CEL LINKEDID_END when its call has CEL records and this PBX has shown it
 *   sends LINKEDID_END, else when its last channel hangs up; the linkedid is then remembered so
 *   late events never reopen it (a late CDR may still fill in the recording file of the ended
 *   record, which is emitted again, still ended).
 * - hangupBy: the last hangup request that broke the conversation (HangupRequest: that party;
 *   SoftHangupRequest on a channel in conversation: system), else CEL's hangupsource, else the
 *   first channel to leave the last conversation bridge.
 * - Control events: `link-lost` then `resync` (channels missing from the list hung up at the
 *   loss; a call left with none ends then with `pbx-lost`; unknown channels are added, a new call
 *   starting at now − Duration), `pbx-restart` (every open call ends), `sweep` (calls without
 *   events for longer than staleAfterMs on the mono clock end `stale`, at their last event).
 *
 * The state is mutated in place (for speed) and stays bounded: ended calls leave it, remembered
 * linkedids expire by count and by age (measured on `mono`).
 */
import type { CountryCode } from 'libphonenumber-js/min';
import { normalizePhone, toE164 } from '../contacts/phone-number';
import type { CallDraft, CallLegDraft, Disposition, EndReason, HangupBy, LegResult } from './call-record';
import type { ChannelInfo, PbxEvent, PbxEventOf, PbxEventType, ResyncChannel } from './pbx-event';

export interface TrackerContext {
  /** the extensions registered in calltrack; may change between events (applies from the next one) */
  isAgentExtension(extension: string): boolean;
  /** for E.164 normalisation of national numbers */
  defaultCountry: CountryCode;
}

export interface TrackerOptions {
  /**
   * how many ended linkedids to remember (late events never reopen them); default 5 000 (half an
   * hour of a busy office's calls; 20 000 cost ~10 MiB of heap at 2 000 calls/s)
   */
  rememberEnded?: number;
  /** how long to remember them, on the mono clock; default 30 min */
  rememberEndedMs?: number;
  /**
   * how many of them keep their call, for a late CDR to complete its recording file (the most
   * recently ended ones; the others keep only the linkedid); default 1 000
   */
  rememberEndedCalls?: number;
}

export interface ReduceResult {
  state: TrackerState;
  /** the whole drafts changed by the event (ended ones included), each once; fresh copies */
  changes: CallDraft[];
}

type Party = 'agent' | 'external' | 'plumbing';

interface Chan {
  id: string;
  name: string;
  endpoint: string;
  party: Party;
  /** requested by the PBX (dialled, originated) rather than calling in */
  outgoing: boolean;
  /** moved into its current call from another one (transfer, pickup) */
  joined: boolean;
  call: Call;
  createdAt: Date;
  createdMono: number;
  up: boolean;
  alive: boolean;
  bridge: Bridge | null;
  leg: CallLegDraft | null;
  dialStatus: string | null;
  cause: number | null;
  pickedUp: boolean;
  firstContext: string | null;
  callerNumber: string | null;
}

interface Bridge {
  id: string;
  members: Chan[];
  /** a member already left while it had company (the first leaver ends a conversation) */
  breaking: boolean;
}

interface Call {
  id: string;
  /** the live draft, mutated in place; changes are copies of it */
  d: CallDraft;
  visible: boolean;
  ended: boolean;
  /** channels of this call (alive or gone) while it is open */
  channels: Chan[];
  live: number;
  /** people (agents, external parties) that ever took part */
  nonPlumbing: number;
  hasExternal: boolean;
  originator: Chan | null;
  /** an agent originator dialled an extension or a phone number */
  dialledSomething: boolean;
  lastMono: number;
  /**
   * the latest event time seen, epoch ms (a number, not the event's Date: a Date kept per event
   * until the call's next one was promoted out of the young generation, ~80k dead Dates per full GC)
   */
  lastAtMs: number;
  lastPersonAnswerMs: number;
  lastDialStatus: string | null;
  hangupByLive: HangupBy | null;
  hangupByLeave: HangupBy | null;
  celHangupSource: string | null;
  recordingCandidate: string | null;
  mixMonitorStarted: boolean;
  /** CEL records arrive for this call (then it ends on LINKEDID_END, once the PBX is known to send it) */
  celSeen: boolean;
  /** the exten last tried as the DID */
  triedDid: string | null;
  /** the external party whose number the record shows */
  customer: Chan | null;
  dirty: boolean;
  /** a private copy of the last draft emitted (to emit only real changes) */
  emitted: CallDraft | null;
  /** the state's dirty list */
  sink: Call[];
}

/**
 * A remembered ended linkedid: when it ended (mono), and its call when it was emitted and a late CDR
 * may still complete it (no recording file yet); thousands are remembered, so the rest is not kept.
 */
interface Ended {
  call: Call | null;
  mono: number;
}

/** Opaque to callers: create it with createTrackerState, pass it back to reduce. */
export interface TrackerState {
  readonly calls: Map<string, Call>;
  readonly channels: Map<string, Chan>;
  readonly bridges: Map<string, Bridge>;
  readonly ended: Map<string, Ended>;
  /**
   * The entries of `ended` in the order they were remembered (oldest first, from `endedHead`);
   * an entry no longer in the map (re-remembered or forgotten) is skipped. Forgetting the oldest
   * never iterates the map itself: a Map keeps deleted slots until it rehashes, and walking from
   * its start over thousands of them on every event cost ~25 µs once the limit was reached.
   */
  readonly endedOrder: Array<[string, Ended]>;
  endedHead: number;
  /** entries of `ended` that keep their call, and where in endedOrder the oldest of them may be */
  endedCalls: number;
  endedCallHead: number;
  linkedidEndSeen: boolean;
  lostAt: Date | null;
  lostMono: number | null;
  dirty: Call[];
  readonly rememberEnded: number;
  readonly rememberEndedMs: number;
  readonly rememberEndedCalls: number;
}

export function createTrackerState(options: TrackerOptions = {}): TrackerState {
  return {
    calls: new Map(),
    channels: new Map(),
    bridges: new Map(),
    ended: new Map(),
    endedOrder: [],
    endedHead: 0,
    endedCalls: 0,
    endedCallHead: 0,
    linkedidEndSeen: false,
    lostAt: null,
    lostMono: null,
    dirty: [],
    rememberEnded: Math.max(1, options.rememberEnded ?? 5000),
    rememberEndedMs: Math.max(0, options.rememberEndedMs ?? 30 * 60_000),
    rememberEndedCalls: Math.max(0, options.rememberEndedCalls ?? 1000),
  };
}

/** Sizes of the state, to check it stays bounded. */
export function trackerStats(state: TrackerState): { openCalls: number; channels: number; bridges: number; rememberedEnded: number } {
  return {
    openCalls: state.calls.size,
    channels: state.channels.size,
    bridges: state.bridges.size,
    rememberedEnded: state.ended.size,
  };
}

/** Copies of the drafts of the calls in progress (visible ones), e.g. for a supervisor board on startup. */
export function liveCalls(state: TrackerState): CallDraft[] {
  const out: CallDraft[] = [];
  for (const call of state.calls.values()) if (call.visible) out.push(snapshot(call.d));
  return out;
}

const NO_CHANGES: CallDraft[] = [];

export function reduce(state: TrackerState, event: PbxEvent, ctx: TrackerContext): ReduceResult {
  const handler = HANDLERS[event.type] as Handler<PbxEventType>;
  handler(state, event, ctx);
  forgetOldEnded(state, event.mono);
  return { state, changes: flush(state) };
}

// ---------------------------------------------------------------------------------------------
// dispatch

type Handler<T extends PbxEventType> = (state: TrackerState, ev: PbxEventOf<T>, ctx: TrackerContext) => void;

const ignore = (): void => undefined;

const HANDLERS: { [T in PbxEventType]: Handler<T> } = {
  'channel-created': (s, ev, ctx) => {
    const ch = channel(s, ev.channel, ev, ctx, true);
    if (ch && ev.channel.state === 6) channelUp(s, ch, ev.at);
  },
  'channel-state': (s, ev, ctx) => {
    const ch = channel(s, ev.channel, ev, ctx, true);
    if (ch && ev.channel.state === 6) channelUp(s, ch, ev.at);
  },
  'channel-answered': (s, ev, ctx) => {
    const ch = channel(s, ev.channel, ev, ctx, false);
    if (!ch) return;
    ch.call.celSeen = true;
    channelUp(s, ch, ev.at);
  },
  'caller-id': (s, ev, ctx) => {
    const ch = channel(s, ev.channel, ev, ctx, true);
    if (ch && ev.channel.callerNumber !== null) {
      ch.callerNumber = ev.channel.callerNumber;
      externalNumberFrom(ch.call, ch, ctx);
    }
  },
  'channel-renamed': onRenamed,
  'channel-activity': (s, ev, ctx) => {
    channel(s, ev.channel, ev, ctx, false);
  },
  'dial-begin': (s, ev, ctx) => {
    if (ev.caller) channel(s, ev.caller, ev, ctx, true);
    const callee = channel(s, ev.callee, ev, ctx, true);
    if (!callee) return;
    callee.outgoing = true;
    if (ev.callee.callerNumber !== null) callee.callerNumber = ev.callee.callerNumber;
    else if (callee.callerNumber === null && ev.dialString !== null) callee.callerNumber = dialledNumber(ev.dialString);
    externalNumberFrom(callee.call, callee, ctx);
  },
  'dial-end': (s, ev, ctx) => {
    if (ev.caller) channel(s, ev.caller, ev, ctx, false);
    const callee = channel(s, ev.callee, ev, ctx, false);
    if (!callee) return;
    callee.dialStatus = ev.status;
    callee.call.lastDialStatus = ev.status;
    if (ev.status === 'ANSWER') channelUp(s, callee, ev.at);
  },
  'bridge-enter': onBridgeEnter,
  'bridge-leave': (s, ev, ctx) => {
    const ch = channel(s, ev.channel, ev, ctx, false);
    if (!ch || !ch.bridge || ch.bridge.id !== ev.bridgeId) return;
    const b = ch.bridge;
    if (!b.breaking && b.members.length >= 2 && ch.call.d.answeredAt !== null) {
      b.breaking = true;
      const by = hangupByOf(ch.party);
      if (by !== null) ch.call.hangupByLeave = by;
    }
    leaveBridge(s, ch);
  },
  'hangup-request': (s, ev, ctx) => {
    const ch = channel(s, ev.channel, ev, ctx, false);
    if (!ch || !ch.alive || ch.party === 'plumbing' || ch.call.d.answeredAt === null) return;
    const inConversation = ch.bridge !== null && ch.bridge.members.length >= 2;
    if (ev.by === 'remote') {
      // The channel's own side hung up: a customer at any point of an answered call, an agent
      // while in a conversation (not when it hangs up after handing the caller over).
      if (ch.party === 'external') {
        if (inConversation || ch === ch.call.customer) ch.call.hangupByLive = 'customer';
      } else if (inConversation) ch.call.hangupByLive = 'agent';
    } else if (inConversation) {
      ch.call.hangupByLive = 'system';
    }
  },
  hangup: (s, ev, ctx) => {
    const ch = channel(s, ev.channel, ev, ctx, false);
    if (!ch) return;
    const call = ch.call;
    if (ev.source === 'cel') call.celSeen = true;
    if (ev.hangupSource !== null) call.celHangupSource = ev.hangupSource;
    if (ev.dialStatus !== null && call.lastDialStatus === null) call.lastDialStatus = ev.dialStatus;
    if (!ch.alive) return;
    if (ev.cause !== null) ch.cause = ev.cause;
    channelGone(s, ch, ev.at);
    if (call.live === 0 && !waitsForLinkedidEnd(s, call)) endCall(s, call, ev.at, 'normal', ev.mono);
  },
  variable: (s, ev, ctx) => {
    const ch = channel(s, ev.channel, ev, ctx, false);
    if (!ch || ev.value.length === 0) return;
    const call = ch.call;
    if (ev.name === 'RECORDING_FILE') {
      call.recordingCandidate = ev.value;
      if (call.mixMonitorStarted) setRecording(call, ev.value);
    } else if (ev.name === 'MIXMONITOR_FILENAME') {
      call.mixMonitorStarted = true;
      setRecording(call, call.recordingCandidate ?? baseName(ev.value));
    } else {
      call.lastDialStatus = ev.value;
    }
  },
  'recording-started': (s, ev, ctx) => {
    const ch = channel(s, ev.channel, ev, ctx, false);
    if (!ch) return;
    const call = ch.call;
    call.mixMonitorStarted = true;
    const file = call.recordingCandidate ?? (ev.file !== null ? baseName(ev.file) : null);
    if (file !== null) setRecording(call, file);
  },
  'linkedid-end': (s, ev) => {
    s.linkedidEndSeen = true;
    const call = s.calls.get(ev.pbxCallId);
    if (call) endCall(s, call, ev.at, 'normal', ev.mono);
    else if (!s.ended.has(ev.pbxCallId)) remember(s, ev.pbxCallId, null, ev.mono);
  },
  'blind-transfer': (s, ev, ctx) => {
    if (ev.transferee) channel(s, ev.transferee, ev, ctx, false);
    if (ev.transferer) channel(s, ev.transferer, ev, ctx, false);
  },
  'attended-transfer': (s, ev, ctx) => {
    const first = ev.transferer ? channel(s, ev.transferer, ev, ctx, false) : null;
    const second = ev.secondTransferer ? channel(s, ev.secondTransferer, ev, ctx, false) : null;
    if (ev.success && first && second) relate(first.call, second.call);
  },
  'transfer-recorded': (s, ev, ctx) => {
    const ch = channel(s, ev.channel, ev, ctx, false);
    if (!ch) return;
    ch.call.celSeen = true;
    if (ev.otherChannelId === null) return;
    const other = s.channels.get(ev.otherChannelId);
    if (other) relate(ch.call, other.call);
  },
  pickup: (s, ev, ctx) => {
    const target = channel(s, ev.target, ev, ctx, false);
    const picker = channel(s, ev.picker, ev, ctx, true);
    if (!target || !picker || !picker.alive || target.call === picker.call || target.call.ended) return;
    target.pickedUp = true;
    if (ev.picker.state === 6) picker.up = true;
    moveChannel(s, picker, target.call, ev.at, ev.mono, ctx);
  },
  'queue-agent-called': (s, ev, ctx) => {
    if (ev.caller) channel(s, ev.caller, ev, ctx, false);
    const agent = channel(s, ev.agent, ev, ctx, true);
    if (agent) agent.outgoing = true;
  },
  'queue-agent-connected': (s, ev, ctx) => {
    const agent = channel(s, ev.agent, ev, ctx, false);
    if (agent) channelUp(s, agent, ev.at);
  },
  'queue-agent-no-answer': (s, ev, ctx) => {
    const agent = channel(s, ev.agent, ev, ctx, false);
    if (agent && !agent.up) agent.dialStatus = 'NOANSWER';
  },
  'queue-caller-abandoned': (s, ev, ctx) => {
    channel(s, ev.caller, ev, ctx, false);
  },
  'cdr-posted': (s, ev) => {
    // CDR(userfield) holds the recording file on our PBX; it arrives when a CDR is finished,
    // usually after the conversation ended: it may complete an ended record, never reopen it.
    const file = ev.userField;
    if (file === null || !RECORDING_RE.test(file)) return;
    const call = s.channels.get(ev.channelId)?.call ?? s.calls.get(ev.channelId) ?? s.ended.get(ev.channelId)?.call ?? null;
    if (call && call.d.recordingFile === null) {
      call.d.recordingFile = file;
      changed(call);
    }
  },
  'resync-channel': ignore,
  'resync-complete': ignore,
  'pbx-booted': ignore,
  'link-lost': (s, ev) => {
    if (s.lostAt === null) {
      s.lostAt = ev.at;
      s.lostMono = ev.mono;
    }
  },
  resync: onResync,
  'pbx-restart': (s, ev) => {
    const at = s.lostAt !== null && s.lostAt.getTime() < ev.at.getTime() ? s.lostAt : ev.at;
    for (const call of [...s.calls.values()]) endCall(s, call, at, 'pbx-restart', ev.mono);
    s.bridges.clear();
    s.lostAt = null;
    s.lostMono = null;
  },
  sweep: (s, ev) => {
    for (const call of [...s.calls.values()]) {
      if (ev.mono - call.lastMono > ev.staleAfterMs) endCall(s, call, new Date(call.lastAtMs), 'stale', ev.mono);
    }
  },
};

// ---------------------------------------------------------------------------------------------
// channels and calls

/**
 * The tracked channel an event refers to, following a linkedid change; with `create`, a channel
 * seen for the first time is added (to a new call if its linkedid is new). Null for channels of
 * ended calls and unknown channels without `create`. Touches the call (activity for the sweeper).
 */
function channel(s: TrackerState, info: ChannelInfo, ev: PbxEvent, ctx: TrackerContext, create: boolean): Chan | null {
  let ch = s.channels.get(info.channelId);
  if (ch === undefined) {
    if (!create || s.ended.has(info.pbxCallId)) return null;
    ch = newChannel(s, info, ev.at, ev.mono, ctx);
  } else if (ch.alive && info.pbxCallId !== ch.call.id && olderId(info.pbxCallId, ch.call.id) && !s.ended.has(info.pbxCallId)) {
    // Asterisk only ever gives a channel an older linkedid; a newer one is a stale snapshot.
    moveChannel(s, ch, callFor(s, info.pbxCallId, ev.at, ev.mono), ev.at, ev.mono, ctx);
  }
  const call = ch.call;
  call.lastMono = ev.mono;
  const atMs = ev.at.getTime();
  if (atMs > call.lastAtMs) call.lastAtMs = atMs;
  if (info.recordingFile !== undefined && call.recordingCandidate === null) {
    call.recordingCandidate = info.recordingFile;
    if (call.mixMonitorStarted) setRecording(call, info.recordingFile);
  }
  if (call.d.trackingNumber === null && ch === call.originator && info.exten !== call.triedDid && call.d.direction === 'inbound') {
    trackingFrom(call, ch, info, ctx);
  }
  return ch;
}

function callFor(s: TrackerState, id: string, at: Date, mono: number): Call {
  let call = s.calls.get(id);
  if (call === undefined) {
    call = {
      id,
      d: {
        pbxCallId: id,
        direction: 'internal',
        state: 'ringing',
        disposition: null,
        missed: false,
        externalNumber: null,
        externalNumberRaw: null,
        trackingNumber: null,
        startedAt: at,
        answeredAt: null,
        endedAt: null,
        agentExtension: null,
        legs: [],
        hangupBy: null,
        endReason: null,
        relatedPbxCallIds: [],
        recordingFile: null,
      },
      visible: false,
      ended: false,
      channels: [],
      live: 0,
      nonPlumbing: 0,
      hasExternal: false,
      originator: null,
      dialledSomething: false,
      lastMono: mono,
      lastAtMs: at.getTime(),
      lastPersonAnswerMs: -Infinity,
      lastDialStatus: null,
      hangupByLive: null,
      hangupByLeave: null,
      celHangupSource: null,
      recordingCandidate: null,
      mixMonitorStarted: false,
      celSeen: false,
      triedDid: null,
      customer: null,
      dirty: false,
      emitted: null,
      sink: s.dirty,
    };
    s.calls.set(id, call);
  }
  return call;
}

function newChannel(s: TrackerState, info: ChannelInfo, at: Date, mono: number, ctx: TrackerContext): Chan {
  const call = callFor(s, info.pbxCallId, at, mono);
  const { endpoint, party } = classify(info.name, ctx);
  const ch: Chan = {
    id: info.channelId,
    name: info.name,
    endpoint,
    party,
    // Asterisk creates requested channels Down, and gives them the requestor's linkedid.
    outgoing: info.state === 0 || info.channelId !== info.pbxCallId,
    joined: false,
    call,
    createdAt: at,
    createdMono: mono,
    up: false,
    alive: true,
    bridge: null,
    leg: null,
    dialStatus: null,
    cause: null,
    pickedUp: false,
    firstContext: info.context,
    callerNumber: info.callerNumber,
  };
  s.channels.set(ch.id, ch);
  attach(call, ch, at, ctx, info.exten);
  return ch;
}

function attach(call: Call, ch: Chan, at: Date, ctx: TrackerContext, exten: string | null): void {
  call.channels.push(ch);
  if (ch.alive) call.live++;
  if (ch.party === 'plumbing') return;
  call.nonPlumbing++;
  if (ch.party === 'external') call.hasExternal = true;
  const d = call.d;
  if (call.originator === null) {
    call.originator = ch;
    if (ch.party === 'external') {
      call.customer = ch;
      d.direction = ch.outgoing ? 'outbound' : 'inbound';
      if (d.direction === 'inbound') trackingFrom(call, ch, { exten, context: ch.firstContext }, ctx);
      externalNumberFrom(call, ch, ctx);
    } else {
      d.agentExtension = ch.endpoint;
      d.direction = 'internal';
      if (exten !== null && exten !== 's') {
        if (ctx.isAgentExtension(exten)) call.dialledSomething = true;
        else if (normalizePhone(exten, ctx.defaultCountry).kind === 'e164') {
          call.dialledSomething = true;
          d.direction = 'outbound';
          d.externalNumberRaw = exten;
          d.externalNumber = toE164(exten, ctx.defaultCountry);
        }
      }
    }
  } else {
    if (ch.party === 'agent') {
      const joinedUp = ch.joined && ch.up;
      ch.leg = { extension: ch.endpoint, ringingAt: joinedUp ? null : at, answeredAt: joinedUp ? at : null, endedAt: null, result: null };
      d.legs.push(ch.leg);
    } else if (call.customer === null) {
      call.customer = ch;
      if (call.originator.party === 'agent') d.direction = 'outbound';
      externalNumberFrom(call, ch, ctx);
    }
    if (ch.joined && ch.up) personAnswered(call, ch, at);
  }
  changed(call);
}

/** A channel leaves one call and joins another (linkedid change, pickup). */
function moveChannel(s: TrackerState, ch: Chan, to: Call, at: Date, mono: number, ctx: TrackerContext): void {
  const from = ch.call;
  if (from === to || to.ended) return;
  const i = from.channels.indexOf(ch);
  if (i !== -1) from.channels.splice(i, 1);
  if (ch.alive) from.live--;
  if (ch.leg !== null) {
    endLeg(from, ch, at);
    ch.leg = null;
  }
  changed(from);
  ch.call = to;
  ch.joined = true;
  attach(to, ch, at, ctx, null);
  changed(to);
  relate(from, to);
  if (from.live === 0 && !waitsForLinkedidEnd(s, from)) endCall(s, from, at, 'normal', mono);
}

function channelGone(s: TrackerState, ch: Chan, at: Date): void {
  ch.alive = false;
  ch.call.live--;
  if (ch.leg !== null && ch.leg.endedAt === null) endLeg(ch.call, ch, at);
  leaveBridge(s, ch);
  changed(ch.call);
}

function channelUp(s: TrackerState, ch: Chan, at: Date): void {
  if (ch.up || !ch.alive) return;
  ch.up = true;
  const call = ch.call;
  if (ch.party === 'plumbing' || call.ended) return;
  if (ch === call.originator) {
    // The caller's own channel answered by the PBX (IVR, queue, voicemail) is no person; an
    // originated call to a customer (external, outgoing) is answered when the customer picks up.
    if (ch.party === 'external' && ch.outgoing) personAnswered(call, ch, at);
    return;
  }
  if (ch.outgoing || ch.joined) personAnswered(call, ch, at);
  changed(call);
}

function personAnswered(call: Call, ch: Chan, at: Date): void {
  const d = call.d;
  if (ch.leg !== null && ch.leg.answeredAt === null) ch.leg.answeredAt = at;
  if (d.answeredAt === null) {
    d.answeredAt = at;
    if (!call.ended) d.state = 'talking';
  }
  if (d.agentExtension === null && ch.party === 'agent') d.agentExtension = ch.endpoint;
  if (at.getTime() > call.lastPersonAnswerMs) call.lastPersonAnswerMs = at.getTime();
  changed(call);
}

function endLeg(call: Call, ch: Chan, at: Date): void {
  const leg = ch.leg;
  if (leg === null || leg.endedAt !== null) return;
  leg.endedAt = at;
  leg.result = legResult(call, ch, leg);
  changed(call);
}

function legResult(call: Call, ch: Chan, leg: CallLegDraft): LegResult {
  if (leg.answeredAt !== null) return 'answered';
  if (ch.pickedUp || ch.cause === 26) return 'answered-elsewhere';
  if (leg.ringingAt !== null && call.lastPersonAnswerMs >= leg.ringingAt.getTime()) return 'answered-elsewhere';
  return statusResult(ch.dialStatus) ?? causeResult(ch.cause) ?? 'no-answer';
}

function statusResult(status: string | null): Exclude<LegResult, 'answered' | 'answered-elsewhere'> | null {
  switch (status) {
    case 'BUSY':
      return 'busy';
    case 'NOANSWER':
    case 'CANCEL':
    case 'ANSWER':
      return 'no-answer';
    case 'CONGESTION':
    case 'CHANUNAVAIL':
    case 'INVALIDARGS':
    case 'DONTCALL':
    case 'TORTURE':
      return 'failed';
    default:
      return null;
  }
}

/** Q.850 causes that mean the call could not be set up (as opposed to nobody answering). */
const FAILURE_CAUSES: ReadonlySet<number> = new Set([
  1, 2, 3, 20, 22, 27, 28, 29, 34, 38, 41, 42, 44, 47, 50, 58, 65, 66, 79, 88, 102, 111,
]);

function causeResult(cause: number | null): 'busy' | 'failed' | null {
  if (cause === null) return null;
  if (cause === 17 || cause === 21) return 'busy';
  return FAILURE_CAUSES.has(cause) ? 'failed' : null;
}

function disposition(call: Call): Disposition {
  if (call.d.answeredAt !== null) return 'answered';
  return statusResult(call.lastDialStatus) ?? causeResult(call.originator?.cause ?? null) ?? 'no-answer';
}

function hangupByOf(party: Party): HangupBy | null {
  return party === 'external' ? 'customer' : party === 'agent' ? 'agent' : null;
}

function endCall(s: TrackerState, call: Call, at: Date, reason: EndReason, mono: number): void {
  if (call.ended) return;
  const d = call.d;
  let end = at;
  const floor = d.answeredAt ?? d.startedAt;
  if (end.getTime() < floor.getTime()) end = floor;
  for (const ch of call.channels) {
    if (ch.alive) {
      ch.alive = false;
      if (ch.leg !== null && ch.leg.endedAt === null) endLeg(call, ch, end);
      leaveBridge(s, ch);
    }
    if (s.channels.get(ch.id) === ch) s.channels.delete(ch.id);
  }
  call.live = 0;
  call.ended = true;
  d.state = 'ended';
  d.endedAt = end;
  d.endReason = reason;
  d.disposition = disposition(call);
  d.missed = d.direction === 'inbound' && d.answeredAt === null;
  d.hangupBy = d.answeredAt === null ? null : finalHangupBy(call, reason);
  s.calls.delete(call.id);
  const visible = call.visible || qualifies(call);
  remember(s, call.id, visible && d.recordingFile === null ? call : null, Math.max(mono, call.lastMono));
  call.channels = [];
  call.originator = null;
  call.customer = null;
  if (visible) changed(call);
}

function finalHangupBy(call: Call, reason: EndReason): HangupBy | null {
  if (call.hangupByLive !== null) return call.hangupByLive;
  if (reason === 'pbx-restart') return 'system';
  if (call.celHangupSource !== null) {
    const src = call.channels.find((c) => c.name === call.celHangupSource);
    const by = src ? hangupByOf(src.party) : null;
    if (by !== null) return by;
  }
  return call.hangupByLeave;
}

/**
 * With CEL, the conversation is over at LINKEDID_END (Asterisk's own count of the channels that
 * carry the linkedid); without it (or before this PBX has shown it sends LINKEDID_END), when the
 * last channel we know of hangs up.
 */
function waitsForLinkedidEnd(s: TrackerState, call: Call): boolean {
  return s.linkedidEndSeen && call.celSeen;
}

function qualifies(call: Call): boolean {
  return call.hasExternal || call.nonPlumbing >= 2 || call.dialledSomething;
}

/** Links two records both ways (only records that are or will be emitted). */
function relate(a: Call, b: Call): void {
  if (a === b || !(a.visible || qualifies(a)) || !(b.visible || qualifies(b))) return;
  if (!a.d.relatedPbxCallIds.includes(b.id)) {
    a.d.relatedPbxCallIds.push(b.id);
    changed(a);
  }
  if (!b.d.relatedPbxCallIds.includes(a.id)) {
    b.d.relatedPbxCallIds.push(a.id);
    changed(b);
  }
}

function setRecording(call: Call, file: string): void {
  if (call.d.recordingFile === null && file.length > 0) {
    call.d.recordingFile = file;
    changed(call);
  }
}

function trackingFrom(call: Call, ch: Chan, info: { exten: string | null; context: string | null }, ctx: TrackerContext): void {
  // The DID is the exten of the trunk channel in the context it arrived in.
  if (info.exten === null || info.exten === 's' || info.context !== ch.firstContext) return;
  call.triedDid = info.exten;
  const e164 = toE164(info.exten, ctx.defaultCountry);
  if (e164 !== null) {
    call.d.trackingNumber = e164;
    changed(call);
  }
}

function externalNumberFrom(call: Call, ch: Chan, ctx: TrackerContext): void {
  if (ch !== call.customer || ch.callerNumber === null || call.ended) return;
  const d = call.d;
  if (d.direction === 'inbound') {
    // As the customer presented it, the first time we see it.
    if (d.externalNumberRaw !== null) return;
  } else {
    // The callee's number as Asterisk sent it to the trunk (it may replace the dialled exten).
    if (ch.callerNumber === d.externalNumberRaw) return;
  }
  d.externalNumberRaw = ch.callerNumber;
  d.externalNumber = toE164(ch.callerNumber, ctx.defaultCountry);
  changed(call);
}

/** `0501112233@carrier` → `0501112233`; `PJSIP/0501112233@carrier` → `0501112233`. */
function dialledNumber(dialString: string): string | null {
  let s = dialString;
  const slash = s.lastIndexOf('/');
  if (slash !== -1) s = s.slice(slash + 1);
  const at = s.indexOf('@');
  if (at !== -1) s = s.slice(0, at);
  return s.length > 0 ? s : null;
}

function baseName(path: string): string {
  const i = path.lastIndexOf('/');
  return i === -1 ? path : path.slice(i + 1);
}

const RECORDING_RE = /\.(wav|WAV|wav49|gsm|mp3|ogg|opus|sln\d*|raw|ulaw|alaw|ul|al|g722|g729|au)$/;

// ---------------------------------------------------------------------------------------------
// bridges

function onBridgeEnter(s: TrackerState, ev: PbxEventOf<'bridge-enter'>, ctx: TrackerContext): void {
  const ch = channel(s, ev.channel, ev, ctx, true);
  if (!ch || !ch.alive) return;
  if (ev.channel.state === 6) channelUp(s, ch, ev.at);
  let b = s.bridges.get(ev.bridgeId);
  if (b === undefined) {
    b = { id: ev.bridgeId, members: [], breaking: false };
    s.bridges.set(b.id, b);
  }
  if (ch.bridge !== b) {
    leaveBridge(s, ch);
    b.members.push(ch);
    ch.bridge = b;
  }
  if (!ev.mergesCalls) return;
  // Asterisk gives every channel of the bridge the oldest linkedid (ast_bridge_channel_update_linkedids).
  let oldest = ch.call;
  for (const m of b.members) if (m.id !== ev.swapChannelId && m.alive && olderId(m.call.id, oldest.id)) oldest = m.call;
  for (const m of [...b.members]) {
    if (m.id !== ev.swapChannelId && m.alive && m.call !== oldest) moveChannel(s, m, oldest, ev.at, ev.mono, ctx);
  }
}

function leaveBridge(s: TrackerState, ch: Chan): void {
  const b = ch.bridge;
  if (b === null) return;
  ch.bridge = null;
  const i = b.members.indexOf(ch);
  if (i !== -1) b.members.splice(i, 1);
  if (b.members.length === 0) s.bridges.delete(b.id);
}

const ID_TAIL = /(\d+)\.(\d+)$/;

/** Asterisk ids are `[system-]<epoch seconds>.<sequence>`: older = smaller time, then sequence. */
function olderId(a: string, b: string): boolean {
  const ma = ID_TAIL.exec(a);
  const mb = ID_TAIL.exec(b);
  if (ma && mb) {
    const ta = Number(ma[1]);
    const tb = Number(mb[1]);
    if (ta !== tb) return ta < tb;
    return Number(ma[2]) < Number(mb[2]);
  }
  return a < b;
}

// ---------------------------------------------------------------------------------------------
// renames (masquerades)

function onRenamed(s: TrackerState, ev: PbxEventOf<'channel-renamed'>, ctx: TrackerContext): void {
  const ch = channel(s, ev.channel, ev, ctx, false);
  if (!ch || !ch.alive || ev.newName.endsWith('<ZOMBIE>')) return;
  ch.name = ev.newName;
  const { endpoint, party } = classify(ev.newName, ctx);
  if (endpoint === ch.endpoint && party === ch.party) return;
  const call = ch.call;
  if (ch.leg !== null) {
    endLeg(call, ch, ev.at);
    ch.leg = null;
  }
  ch.endpoint = endpoint;
  if (party !== ch.party) {
    if (ch.party === 'plumbing') call.nonPlumbing++;
    if (party === 'external') call.hasExternal = true;
    ch.party = party;
  }
  if (party === 'agent' && ch !== call.originator) {
    ch.leg = { extension: endpoint, ringingAt: ch.up ? null : ev.at, answeredAt: ch.up ? ev.at : null, endedAt: null, result: null };
    call.d.legs.push(ch.leg);
    if (ch.up) personAnswered(call, ch, ev.at);
  }
  changed(call);
}

// ---------------------------------------------------------------------------------------------
// resync after a (re)login

function onResync(s: TrackerState, ev: PbxEventOf<'resync'>, ctx: TrackerContext): void {
  const lostAt = s.lostAt ?? ev.at;
  const lostMono = s.lostMono;
  const present = new Map<string, ResyncChannel>();
  for (const c of ev.channels) present.set(c.channelId, c);

  // After a lost link: a channel that existed before the loss and is not listed hung up meanwhile
  // (at the loss, as far as we can know); a call left without channels ended then. Channels
  // created after the loss (live events before this resync) are not judged. Without a lost
  // link (first login) nothing we know can have been missed.
  if (lostMono !== null) {
    for (const call of [...s.calls.values()]) {
      let keeps = false;
      const missing: Chan[] = [];
      for (const ch of call.channels) {
        if (!ch.alive) continue;
        if (present.has(ch.id) || ch.createdMono > lostMono) keeps = true;
        else missing.push(ch);
      }
      if (keeps) for (const ch of missing) channelGone(s, ch, lostAt);
      // all hung up before the loss, only LINKEDID_END was missed: it ended normally
      else if (call.live === 0) endCall(s, call, new Date(call.lastAtMs), 'normal', ev.mono);
      else endCall(s, call, lostAt, 'pbx-lost', ev.mono);
    }
  }

  // Channels still there: catch up; new ones: add, grouped by linkedid, oldest first.
  const fresh = new Map<string, ResyncChannel[]>();
  for (const c of ev.channels) {
    const ch = s.channels.get(c.channelId);
    if (ch === undefined) {
      if (s.ended.has(c.pbxCallId)) continue;
      let group = fresh.get(c.pbxCallId);
      if (group === undefined) fresh.set(c.pbxCallId, (group = []));
      group.push(c);
      continue;
    }
    if (!ch.alive) continue;
    channel(s, c, ev, ctx, false); // follows a linkedid change, touches the call
    if (c.state === 6) channelUp(s, ch, lostAt);
    resyncBridge(s, ch, c.bridgeId);
  }
  for (const [pbxCallId, group] of fresh) {
    group.sort((a, b) => rank(a, pbxCallId) - rank(b, pbxCallId) || b.durationSeconds - a.durationSeconds);
    const existing = s.calls.get(pbxCallId);
    const oldest = group.reduce((m, c) => Math.max(m, c.durationSeconds), 0);
    const startMs = ev.at.getTime() - oldest * 1000;
    const call = existing ?? callFor(s, pbxCallId, new Date(startMs), ev.mono);
    for (const c of group) {
      const createdMs = Math.max(call.d.startedAt.getTime(), ev.at.getTime() - c.durationSeconds * 1000);
      const created = new Date(createdMs);
      const ch = newChannel(s, c, created, ev.mono, ctx);
      // When it was answered is unknown: its creation is the earliest it can have been.
      if (c.state === 6) channelUp(s, ch, created);
      resyncBridge(s, ch, c.bridgeId);
      call.lastAtMs = ev.at.getTime();
    }
    changed(call);
  }
  s.lostAt = null;
  s.lostMono = null;
}

/** The linkedid's own channel first (uniqueid = linkedid: the originator), then the rest. */
function rank(c: ResyncChannel, pbxCallId: string): number {
  return c.channelId === pbxCallId ? 0 : 1;
}

function resyncBridge(s: TrackerState, ch: Chan, bridgeId: string | null): void {
  if (bridgeId === null) {
    leaveBridge(s, ch);
    return;
  }
  if (ch.bridge?.id === bridgeId) return;
  leaveBridge(s, ch);
  let b = s.bridges.get(bridgeId);
  if (b === undefined) {
    b = { id: bridgeId, members: [], breaking: false };
    s.bridges.set(bridgeId, b);
  }
  b.members.push(ch);
  ch.bridge = b;
}

// ---------------------------------------------------------------------------------------------
// parties

/** Channel technologies that carry no person: dialplan plumbing and media helpers. */
const PLUMBING_TECH: ReadonlySet<string> = new Set([
  'Local',
  'Announcer',
  'Recorder',
  'Snoop',
  'Bridge',
  'CBAnn',
  'CBRec',
  'Message',
  'UnicastRTP',
  'AudioSocket',
  'WebSocket',
  'Multicast',
  'MulticastRTP',
  'Surrogate',
]);

/** Technologies that are never a registered phone. */
const TRUNK_TECH: ReadonlySet<string> = new Set(['DAHDI', 'Zap', 'dahdi']);

/** `PJSIP/101-0000001a` → endpoint `101`; parties from the technology and ctx.isAgentExtension. */
function classify(name: string, ctx: TrackerContext): { endpoint: string; party: Party } {
  const slash = name.indexOf('/');
  const tech = slash === -1 ? name : name.slice(0, slash);
  let rest = slash === -1 ? '' : name.slice(slash + 1);
  if (rest.endsWith('<ZOMBIE>')) rest = rest.slice(0, -8);
  if (PLUMBING_TECH.has(tech)) return { endpoint: rest, party: 'plumbing' };
  const dash = rest.lastIndexOf('-');
  let endpoint = dash > 0 ? rest.slice(0, dash) : rest;
  const at = endpoint.indexOf('@');
  if (at > 0 && tech === 'IAX2') endpoint = endpoint.slice(0, at);
  if (TRUNK_TECH.has(tech)) return { endpoint, party: 'external' };
  return { endpoint, party: endpoint.length > 0 && ctx.isAgentExtension(endpoint) ? 'agent' : 'external' };
}

// ---------------------------------------------------------------------------------------------
// bookkeeping: dirty calls → changes; remembered ended linkedids

function changed(call: Call): void {
  if (!call.dirty) {
    call.dirty = true;
    call.sink.push(call);
  }
}

function flush(s: TrackerState): CallDraft[] {
  const dirty = s.dirty;
  if (dirty.length === 0) return NO_CHANGES;
  let out: CallDraft[] | null = null;
  for (const call of dirty) {
    call.dirty = false;
    if (!call.visible) {
      if (!qualifies(call)) continue;
      call.visible = true;
    }
    if (call.emitted !== null && sameDraft(call.emitted, call.d)) continue;
    call.emitted = snapshot(call.d);
    (out ??= []).push(snapshot(call.d));
  }
  dirty.length = 0;
  return out ?? NO_CHANGES;
}

function remember(s: TrackerState, id: string, call: Call | null, mono: number): void {
  const entry: Ended = { call, mono };
  const previous = s.ended.get(id);
  if (previous !== undefined) dropCall(s, previous);
  s.ended.delete(id);
  s.ended.set(id, entry);
  s.endedOrder.push([id, entry]);
  if (call !== null) s.endedCalls++;
  while (s.ended.size > s.rememberEnded && forgetOldest(s)) {
    /* the oldest remembered entry is gone */
  }
  // the calls kept for a late CDR are bounded apart: a call weighs a few KiB, a linkedid a few bytes
  while (s.endedCalls > s.rememberEndedCalls && dropOldestCall(s)) {
    /* the oldest kept call is let go */
  }
}

function dropCall(s: TrackerState, entry: Ended): void {
  if (entry.call === null) return;
  entry.call = null;
  s.endedCalls--;
}

/** Lets go of the call of the oldest entry that keeps one (its linkedid stays remembered). */
function dropOldestCall(s: TrackerState): boolean {
  const order = s.endedOrder;
  for (let i = Math.max(s.endedCallHead, s.endedHead); i < order.length; i++) {
    const e = order[i];
    // entries replaced or forgotten had their call dropped then
    if (e === undefined || e[1].call === null) continue;
    dropCall(s, e[1]);
    s.endedCallHead = i + 1;
    return true;
  }
  return false;
}

function forgetOldEnded(s: TrackerState, mono: number): void {
  const limit = mono - s.rememberEndedMs;
  for (;;) {
    const oldest = oldestEnded(s);
    if (oldest === undefined || oldest[1].mono >= limit) break;
    forgetOldest(s);
  }
}

/** The oldest entry of endedOrder still in the map (stale ones are dropped on the way). */
function oldestEnded(s: TrackerState): [string, Ended] | undefined {
  const order = s.endedOrder;
  while (s.endedHead < order.length) {
    const e = order[s.endedHead]!;
    if (s.ended.get(e[0]) === e[1]) return e;
    order[s.endedHead++] = undefined as unknown as [string, Ended];
  }
  return undefined;
}

/** Forgets the oldest remembered entry; false when there is none. */
function forgetOldest(s: TrackerState): boolean {
  const oldest = oldestEnded(s);
  if (oldest === undefined) return false;
  dropCall(s, oldest[1]);
  s.ended.delete(oldest[0]);
  s.endedOrder[s.endedHead++] = undefined as unknown as [string, Ended];
  // drop the consumed head now and then (amortised O(1))
  if (s.endedHead > 1024 && s.endedHead * 2 > s.endedOrder.length) {
    s.endedOrder.splice(0, s.endedHead);
    s.endedCallHead = Math.max(0, s.endedCallHead - s.endedHead);
    s.endedHead = 0;
  }
  return true;
}

const sameTime = (a: Date | null, b: Date | null): boolean => (a === null ? b === null : b !== null && a.getTime() === b.getTime());

function sameDraft(a: CallDraft, b: CallDraft): boolean {
  if (
    a.direction !== b.direction ||
    a.state !== b.state ||
    a.disposition !== b.disposition ||
    a.missed !== b.missed ||
    a.externalNumber !== b.externalNumber ||
    a.externalNumberRaw !== b.externalNumberRaw ||
    a.trackingNumber !== b.trackingNumber ||
    !sameTime(a.startedAt, b.startedAt) ||
    !sameTime(a.answeredAt, b.answeredAt) ||
    !sameTime(a.endedAt, b.endedAt) ||
    a.agentExtension !== b.agentExtension ||
    a.hangupBy !== b.hangupBy ||
    a.endReason !== b.endReason ||
    a.recordingFile !== b.recordingFile ||
    a.legs.length !== b.legs.length ||
    a.relatedPbxCallIds.length !== b.relatedPbxCallIds.length
  ) {
    return false;
  }
  for (let i = 0; i < a.legs.length; i++) {
    const x = a.legs[i] as CallLegDraft;
    const y = b.legs[i] as CallLegDraft;
    if (
      x.extension !== y.extension ||
      x.result !== y.result ||
      !sameTime(x.ringingAt, y.ringingAt) ||
      !sameTime(x.answeredAt, y.answeredAt) ||
      !sameTime(x.endedAt, y.endedAt)
    ) {
      return false;
    }
  }
  for (let i = 0; i < a.relatedPbxCallIds.length; i++) if (a.relatedPbxCallIds[i] !== b.relatedPbxCallIds[i]) return false;
  return true;
}

function snapshot(d: CallDraft): CallDraft {
  return {
    pbxCallId: d.pbxCallId,
    direction: d.direction,
    state: d.state,
    disposition: d.disposition,
    missed: d.missed,
    externalNumber: d.externalNumber,
    externalNumberRaw: d.externalNumberRaw,
    trackingNumber: d.trackingNumber,
    startedAt: new Date(d.startedAt.getTime()),
    answeredAt: d.answeredAt && new Date(d.answeredAt.getTime()),
    endedAt: d.endedAt && new Date(d.endedAt.getTime()),
    agentExtension: d.agentExtension,
    legs: d.legs.map((l) => ({
      extension: l.extension,
      ringingAt: l.ringingAt && new Date(l.ringingAt.getTime()),
      answeredAt: l.answeredAt && new Date(l.answeredAt.getTime()),
      endedAt: l.endedAt && new Date(l.endedAt.getTime()),
      result: l.result,
    })),
    hangupBy: d.hangupBy,
    endReason: d.endReason,
    relatedPbxCallIds: [...d.relatedPbxCallIds],
    recordingFile: d.recordingFile,
  };
}
