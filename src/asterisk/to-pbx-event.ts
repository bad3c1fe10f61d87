/**
 * Anti-corruption layer: one AMI frame (as asterisk-manager emits it) → one domain `PbxEvent`, or
 * null for anything calltrack does not use or cannot trust. Pure, never throws: frames come from
 * the network and are validated field by field (a missing or malformed field → null; the caller
 * logs at debug).
 */
import { detach, type AmiFrame } from './ami-frame';
import type { ChannelInfo, DialStatus, InterestingVariable, PbxEvent, ResyncChannel } from '../calls/pbx-event';

type Handler = (f: AmiFrame, at: Date, mono: number) => PbxEvent | null;

/** Ids (uniqueid, linkedid, bridge id): printable ASCII without spaces, bounded. */
const ID_RE = /^[\x21-\x7e]{1,150}$/;
const MAX_NAME = 250;
const MAX_TEXT = 512;
const MAX_PATH = 1024;

function str(f: AmiFrame, key: string): string | undefined {
  const v = f[key];
  return typeof v === 'string' ? v : undefined;
}

function idField(f: AmiFrame, key: string): string | null {
  const v = f[key];
  return typeof v === 'string' && ID_RE.test(v) ? detach(v) : null;
}

/** Channel names: non-empty, bounded, no control characters. */
function nameField(f: AmiFrame, key: string): string | null {
  const v = f[key];
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_NAME) return null;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 32 || c === 127) return null;
  }
  return detach(v);
}

/** A free text value; '' and Asterisk's `<unknown>` placeholder mean "none". */
function textField(f: AmiFrame, key: string, max = MAX_TEXT): string | null {
  const v = f[key];
  if (typeof v !== 'string' || v.length === 0 || v.length > max || v === '<unknown>') return null;
  return detach(v);
}

function intField(f: AmiFrame, key: string): number | null {
  const v = f[key];
  if (typeof v !== 'string' || v.length === 0 || v.length > 12) return null;
  const n = Number(v);
  return Number.isInteger(n) ? n : null;
}

interface ChannelKeys {
  channel: string;
  channelstate: string;
  calleridnum: string;
  connectedlinenum: string;
  context: string;
  exten: string;
  uniqueid: string;
  linkedid: string;
}

function keys(prefix: string): ChannelKeys {
  return {
    channel: `${prefix}channel`,
    channelstate: `${prefix}channelstate`,
    calleridnum: `${prefix}calleridnum`,
    connectedlinenum: `${prefix}connectedlinenum`,
    context: `${prefix}context`,
    exten: `${prefix}exten`,
    uniqueid: `${prefix}uniqueid`,
    linkedid: `${prefix}linkedid`,
  };
}

const PLAIN = keys('');
const DEST = keys('dest');
const TRANSFERER = keys('transferer');
const TRANSFEREE = keys('transferee');
const ORIG_TRANSFERER = keys('origtransferer');
const SECOND_TRANSFERER = keys('secondtransferer');
const TRANSFER_TARGET = keys('transfertarget');
const TARGET = keys('target');

/** The channel snapshot of an event (with a key prefix), or null if it lacks an id, linkedid or name. */
function channelInfo(f: AmiFrame, k: ChannelKeys): ChannelInfo | null {
  const channelId = idField(f, k.uniqueid);
  const pbxCallId = idField(f, k.linkedid);
  const name = nameField(f, k.channel);
  if (channelId === null || pbxCallId === null || name === null) return null;
  const stateNum = intField(f, k.channelstate);
  const info: ChannelInfo = {
    channelId,
    pbxCallId,
    name,
    state: stateNum !== null && stateNum >= 0 && stateNum <= 10 ? stateNum : null,
    callerNumber: textField(f, k.calleridnum, 128),
    connectedNumber: textField(f, k.connectedlinenum, 128),
    exten: textField(f, k.exten, 128),
    context: textField(f, k.context, 128),
  };
  if (k === PLAIN) {
    const cv = f.chanvariable;
    if (typeof cv === 'object' && cv !== null && !Array.isArray(cv)) {
      const rec = (cv as Record<string, unknown>).RECORDING_FILE;
      if (typeof rec === 'string' && rec.length > 0 && rec.length <= MAX_PATH) info.recordingFile = detach(rec);
    }
  }
  return info;
}

/** `Timestamp: 1795715947.564699` → Date, or null when absent/garbage. */
function headerTime(f: AmiFrame): Date | null {
  const v = f.timestamp;
  if (typeof v !== 'string' || v.length === 0 || v.length > 32) return null;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || n > 1e11) return null;
  return new Date(Math.round(n * 1000));
}

function cause(f: AmiFrame): number | null {
  const n = intField(f, 'cause');
  return n !== null && n >= 0 && n < 1000 ? n : null;
}

function dialStatus(v: unknown): DialStatus | null {
  if (typeof v !== 'string' || v.length === 0 || v.length > 32 || !/^[A-Z_]+$/.test(v)) return null;
  return detach(v);
}

const INTERESTING_VARIABLES: ReadonlySet<string> = new Set<InterestingVariable>(['RECORDING_FILE', 'MIXMONITOR_FILENAME', 'DIALSTATUS']);

/** `HH:MM:SS` (or plain seconds) → seconds. */
function parseDuration(v: string | undefined): number | null {
  if (v === undefined || v.length === 0 || v.length > 16) return null;
  const m = /^(\d+):([0-5]?\d):([0-5]?\d)$/.exec(v);
  if (m) return Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
  if (/^\d+$/.test(v)) return Number(v);
  return null;
}

function parseJsonObject(v: string | undefined): Record<string, unknown> | null {
  if (v === undefined || v.length < 2 || v.length > 8192 || v.charCodeAt(0) !== 123 /* { */) return null;
  try {
    const o: unknown = JSON.parse(v);
    return typeof o === 'object' && o !== null && !Array.isArray(o) ? (o as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function jsonString(o: Record<string, unknown> | null, key: string, max = 250): string | null {
  const v = o?.[key];
  return typeof v === 'string' && v.length > 0 && v.length <= max ? v : null;
}

/** A CEL record's channel (its keys are capitalised differently: UniqueID, LinkedID, CallerIDnum). */
function celChannel(f: AmiFrame): ChannelInfo | null {
  const channelId = idField(f, 'uniqueid');
  const pbxCallId = idField(f, 'linkedid');
  const name = nameField(f, 'channel');
  if (channelId === null || pbxCallId === null || name === null) return null;
  return {
    channelId,
    pbxCallId,
    name,
    state: null,
    callerNumber: textField(f, 'calleridnum', 128),
    connectedNumber: null,
    exten: textField(f, 'exten', 128),
    context: textField(f, 'context', 128),
  };
}

function simpleChannelEvent<T extends 'channel-created' | 'channel-state' | 'caller-id' | 'channel-activity'>(type: T): Handler {
  return (f, at, mono) => {
    const channel = channelInfo(f, PLAIN);
    return channel ? ({ type, at, mono, channel } as PbxEvent) : null;
  };
}

function queueAgentEvent(type: 'queue-agent-called' | 'queue-agent-connected' | 'queue-agent-no-answer'): Handler {
  return (f, at, mono) => {
    const agent = channelInfo(f, DEST);
    if (!agent) return null;
    return { type, at, mono, caller: channelInfo(f, PLAIN), agent, queue: textField(f, 'queue', 128) };
  };
}

const celHandlers: Record<string, Handler> = {
  ANSWER(f, at, mono) {
    const channel = celChannel(f);
    return channel ? { type: 'channel-answered', at, mono, channel } : null;
  },
  HANGUP(f, at, mono) {
    const channel = celChannel(f);
    if (!channel) return null;
    const extra = parseJsonObject(str(f, 'extra'));
    const c = extra?.hangupcause;
    return {
      type: 'hangup',
      at,
      mono,
      channel,
      cause: typeof c === 'number' && Number.isInteger(c) && c >= 0 && c < 1000 ? c : null,
      source: 'cel',
      hangupSource: jsonString(extra, 'hangupsource'),
      dialStatus: dialStatus(extra?.dialstatus),
    };
  },
  LINKEDID_END(f, at, mono) {
    const pbxCallId = idField(f, 'linkedid');
    return pbxCallId ? { type: 'linkedid-end', at, mono, pbxCallId, channelId: idField(f, 'uniqueid') } : null;
  },
  ATTENDEDTRANSFER(f, at, mono) {
    const channel = celChannel(f);
    if (!channel) return null;
    const extra = parseJsonObject(str(f, 'extra'));
    const other = jsonString(extra, 'channel2_uniqueid', 150);
    return {
      type: 'transfer-recorded',
      at,
      mono,
      kind: 'attended',
      channel,
      otherChannelId: other !== null && ID_RE.test(other) ? other : null,
    };
  },
  BLINDTRANSFER(f, at, mono) {
    const channel = celChannel(f);
    return channel ? { type: 'transfer-recorded', at, mono, kind: 'blind', channel, otherChannelId: null } : null;
  },
};

const handlers: Record<string, Handler> = {
  Newchannel: simpleChannelEvent('channel-created'),
  Newstate: simpleChannelEvent('channel-state'),
  NewCallerid: simpleChannelEvent('caller-id'),
  RTCPSent: simpleChannelEvent('channel-activity'),
  RTCPReceived: simpleChannelEvent('channel-activity'),
  Rename(f, at, mono) {
    const channel = channelInfo(f, PLAIN);
    const newName = nameField(f, 'newname');
    return channel && newName ? { type: 'channel-renamed', at, mono, channel, newName } : null;
  },
  DialBegin(f, at, mono) {
    const callee = channelInfo(f, DEST);
    if (!callee) return null;
    return { type: 'dial-begin', at, mono, caller: channelInfo(f, PLAIN), callee, dialString: textField(f, 'dialstring', 256) };
  },
  DialEnd(f, at, mono) {
    const callee = channelInfo(f, DEST);
    const status = dialStatus(f.dialstatus);
    if (!callee || status === null) return null;
    return { type: 'dial-end', at, mono, caller: channelInfo(f, PLAIN), callee, status };
  },
  BridgeEnter(f, at, mono) {
    const channel = channelInfo(f, PLAIN);
    const bridgeId = idField(f, 'bridgeuniqueid');
    if (!channel || bridgeId === null) return null;
    const bridgeType = str(f, 'bridgetype');
    const technology = str(f, 'bridgetechnology');
    // Asterisk propagates the oldest linkedid to every channel of basic bridges and of mixing
    // Stasis bridges (bridge_basic_push / bridge_stasis_push), not of holding/parking/conference ones.
    const mergesCalls = bridgeType === 'basic' || (bridgeType === 'stasis' && technology !== 'holding_bridge');
    return { type: 'bridge-enter', at, mono, channel, bridgeId, mergesCalls, swapChannelId: idField(f, 'swapuniqueid') };
  },
  BridgeLeave(f, at, mono) {
    const channel = channelInfo(f, PLAIN);
    const bridgeId = idField(f, 'bridgeuniqueid');
    return channel && bridgeId !== null ? { type: 'bridge-leave', at, mono, channel, bridgeId } : null;
  },
  HangupRequest(f, at, mono) {
    const channel = channelInfo(f, PLAIN);
    return channel ? { type: 'hangup-request', at, mono, channel, cause: cause(f), by: 'remote' } : null;
  },
  SoftHangupRequest(f, at, mono) {
    const channel = channelInfo(f, PLAIN);
    return channel ? { type: 'hangup-request', at, mono, channel, cause: cause(f), by: 'pbx' } : null;
  },
  Hangup(f, at, mono) {
    const channel = channelInfo(f, PLAIN);
    return channel ? { type: 'hangup', at, mono, channel, cause: cause(f), source: 'ami', hangupSource: null, dialStatus: null } : null;
  },
  VarSet(f, at, mono) {
    const vars = f.variable;
    if (typeof vars !== 'object' || vars === null || Array.isArray(vars)) return null;
    let name: string | undefined;
    for (const k in vars) {
      name = k;
      break;
    }
    if (name === undefined) return null;
    // Inherited variables are set as _NAME / __NAME.
    let i = 0;
    while (i < name.length && name.charCodeAt(i) === 95 /* _ */) i++;
    if (i > 0) name = name.slice(i);
    if (!INTERESTING_VARIABLES.has(name)) return null;
    const value = str(f, 'value');
    if (value === undefined || value.length > MAX_PATH) return null;
    const channel = channelInfo(f, PLAIN);
    return channel ? { type: 'variable', at, mono, channel, name: name as InterestingVariable, value: detach(value) } : null;
  },
  MixMonitorStart(f, at, mono) {
    const channel = channelInfo(f, PLAIN);
    return channel ? { type: 'recording-started', at, mono, channel, file: textField(f, 'filename', MAX_PATH) } : null;
  },
  BlindTransfer(f, at, mono) {
    return {
      type: 'blind-transfer',
      at,
      mono,
      success: str(f, 'result') === 'Success',
      transferer: channelInfo(f, TRANSFERER),
      transferee: channelInfo(f, TRANSFEREE),
      extension: textField(f, 'extension', 128),
      context: textField(f, 'context', 128),
    };
  },
  AttendedTransfer(f, at, mono) {
    return {
      type: 'attended-transfer',
      at,
      mono,
      success: str(f, 'result') === 'Success',
      transferer: channelInfo(f, ORIG_TRANSFERER),
      secondTransferer: channelInfo(f, SECOND_TRANSFERER),
      transferee: channelInfo(f, TRANSFEREE),
      target: channelInfo(f, TRANSFER_TARGET),
    };
  },
  Pickup(f, at, mono) {
    const picker = channelInfo(f, PLAIN);
    const target = channelInfo(f, TARGET);
    return picker && target ? { type: 'pickup', at, mono, picker, target } : null;
  },
  AgentCalled: queueAgentEvent('queue-agent-called'),
  AgentConnect: queueAgentEvent('queue-agent-connected'),
  AgentRingNoAnswer: queueAgentEvent('queue-agent-no-answer'),
  QueueCallerAbandon(f, at, mono) {
    const caller = channelInfo(f, PLAIN);
    return caller ? { type: 'queue-caller-abandoned', at, mono, caller, queue: textField(f, 'queue', 128) } : null;
  },
  CEL(f, at, mono) {
    const name = str(f, 'eventname');
    if (name === undefined) return null;
    const h = celHandlers[name];
    return h ? h(f, at, mono) : null;
  },
  Cdr(f, at, mono) {
    const channelId = idField(f, 'uniqueid');
    if (channelId === null) return null;
    return {
      type: 'cdr-posted',
      at,
      mono,
      channelId,
      userField: textField(f, 'userfield', MAX_PATH),
      disposition: textField(f, 'disposition', 32),
    };
  },
  CoreShowChannel(f, at, mono) {
    const base = channelInfo(f, PLAIN);
    const durationSeconds = parseDuration(str(f, 'duration'));
    if (!base || durationSeconds === null) return null;
    const channel: ResyncChannel = {
      ...base,
      durationSeconds,
      bridgeId: idField(f, 'bridgeid'),
      application: textField(f, 'application', 128),
    };
    return { type: 'resync-channel', at, mono, requestId: textField(f, 'actionid', 150), channel };
  },
  CoreShowChannelsComplete(f, at, mono) {
    return { type: 'resync-complete', at, mono, requestId: textField(f, 'actionid', 150), listed: intField(f, 'listitems') };
  },
  FullyBooted(f, at, mono) {
    const up = intField(f, 'uptime');
    const reload = intField(f, 'lastreload');
    return {
      type: 'pbx-booted',
      at,
      mono,
      uptimeSeconds: up !== null && up >= 0 ? up : null,
      lastReloadSeconds: reload !== null && reload >= 0 ? reload : null,
    };
  },
};

const handlerMap: ReadonlyMap<string, Handler> = new Map(Object.entries(handlers));

/**
 * @param frame      one event as asterisk-manager emits it
 * @param receivedAt when the frame arrived (used when the PBX sends no `Timestamp:` header)
 * @param mono       the listener's monotonic clock in ms when it arrived
 * @returns the domain event, or null (not an event, not one we use, or malformed)
 */
export function toPbxEvent(frame: AmiFrame, receivedAt: Date, mono: number): PbxEvent | null {
  try {
    if (typeof frame !== 'object' || frame === null) return null;
    const name = frame.event;
    if (typeof name !== 'string') return null;
    const handler = handlerMap.get(name);
    if (handler === undefined) return null;
    const at = headerTime(frame) ?? receivedAt;
    return handler(frame, at, mono);
  } catch {
    return null;
  }
}
