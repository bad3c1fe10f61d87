/**
 * The typed subset of AMI events calltrack consumes (Asterisk 12+ field names, as the
 * asterisk-manager client delivers them: lowercased keys, string values). These types document
 * what `to-pbx-event.ts` reads; the frames themselves are untrusted and validated field by field
 * there, never cast wholesale.
 *
 * Reference: docs.asterisk.org, API_Documentation/AMI_Events/<Name> (Asterisk 20–22).
 */

/** The channel snapshot Asterisk puts in every channel event (`ast_manager_build_channel_state_string`). */
export interface AmiChannelFields {
  channel: string;
  /** 0 Down, 1 Rsrvd, 2 OffHook, 3 Dialing, 4 Ring, 5 Ringing, 6 Up, 7 Busy, 8 Dialing Offhook, 9 Pre-ring, 10 Unknown */
  channelstate: string;
  channelstatedesc?: string;
  calleridnum: string;
  calleridname?: string;
  connectedlinenum?: string;
  connectedlinename?: string;
  language?: string;
  accountcode?: string;
  context: string;
  exten: string;
  priority?: string;
  uniqueid: string;
  linkedid: string;
  /** `channelvars` of manager.conf, e.g. `ChanVariable: RECORDING_FILE=calltrack/in-….wav` */
  chanvariable?: Record<string, string>;
}

/** The same snapshot with a prefix (`Dest…`, `Transferee…`, `Target…`); keys are `<prefix><field>`. */
export type AmiPrefixedChannelFields<P extends string> = {
  [K in keyof Omit<AmiChannelFields, 'chanvariable'> as `${P}${K & string}`]: AmiChannelFields[K];
};

interface AmiEventBase {
  event: string;
  privilege?: string;
  /** present when manager.conf has `timestampevents = yes`: epoch seconds with microseconds */
  timestamp?: string;
}

export interface AmiNewchannel extends AmiEventBase, AmiChannelFields {
  event: 'Newchannel';
}
export interface AmiNewstate extends AmiEventBase, AmiChannelFields {
  event: 'Newstate';
}
export interface AmiNewCallerid extends AmiEventBase, AmiChannelFields {
  event: 'NewCallerid';
  'cid-callingpres'?: string;
}
export interface AmiRename extends AmiEventBase, AmiChannelFields {
  event: 'Rename';
  newname: string;
}
export interface AmiDialBegin extends AmiEventBase, Partial<AmiChannelFields>, AmiPrefixedChannelFields<'dest'> {
  event: 'DialBegin';
  dialstring?: string;
}
export interface AmiDialEnd extends AmiEventBase, Partial<AmiChannelFields>, AmiPrefixedChannelFields<'dest'> {
  event: 'DialEnd';
  /** ANSWER, BUSY, NOANSWER, CANCEL, CONGESTION, CHANUNAVAIL, DONTCALL, TORTURE, INVALIDARGS, … */
  dialstatus: string;
  forward?: string;
}
export interface AmiBridgeFields {
  bridgeuniqueid: string;
  /** basic, stasis, holding, parking, … (only basic and mixing stasis bridges propagate linkedids) */
  bridgetype: string;
  bridgetechnology?: string;
  bridgecreator?: string;
  bridgename?: string;
  bridgenumchannels?: string;
}
export interface AmiBridgeEnter extends AmiEventBase, AmiBridgeFields, AmiChannelFields {
  event: 'BridgeEnter';
  /** the channel this one replaces in the bridge (transfers, Local channel optimisation) */
  swapuniqueid?: string;
}
export interface AmiBridgeLeave extends AmiEventBase, AmiBridgeFields, AmiChannelFields {
  event: 'BridgeLeave';
}
export interface AmiHangupRequest extends AmiEventBase, AmiChannelFields {
  event: 'HangupRequest' | 'SoftHangupRequest';
  cause?: string;
  techcause?: string;
}
export interface AmiHangup extends AmiEventBase, AmiChannelFields {
  event: 'Hangup';
  cause: string;
  'cause-txt'?: string;
  techcause?: string;
}
export interface AmiVarSet extends AmiEventBase, AmiChannelFields {
  event: 'VarSet';
  /** the client turns `Variable: NAME` into `{ NAME: '' }` */
  variable: Record<string, string>;
  value: string;
}
export interface AmiMixMonitorStart extends AmiEventBase, AmiChannelFields {
  event: 'MixMonitorStart';
}
export interface AmiBlindTransfer extends AmiEventBase, AmiPrefixedChannelFields<'transferer'>, AmiPrefixedChannelFields<'transferee'> {
  event: 'BlindTransfer';
  result: 'Fail' | 'Invalid' | 'Not Permitted' | 'Success';
  isexternal?: 'Yes' | 'No';
  context?: string;
  extension?: string;
}
export interface AmiAttendedTransfer
  extends
    AmiEventBase,
    AmiPrefixedChannelFields<'origtransferer'>,
    AmiPrefixedChannelFields<'secondtransferer'>,
    AmiPrefixedChannelFields<'transferee'>,
    AmiPrefixedChannelFields<'transfertarget'> {
  event: 'AttendedTransfer';
  result: 'Fail' | 'Invalid' | 'Not Permitted' | 'Success';
  origbridgeuniqueid?: string;
  secondbridgeuniqueid?: string;
  /** Bridge, App, Link, Threeway, Fail */
  desttype?: string;
  destbridgeuniqueid?: string;
  destapp?: string;
  localonechannel?: string;
  localtwochannel?: string;
}
export interface AmiPickup extends AmiEventBase, AmiChannelFields, AmiPrefixedChannelFields<'target'> {
  event: 'Pickup';
}
export interface AmiQueueAgentEvent extends AmiEventBase, AmiChannelFields, AmiPrefixedChannelFields<'dest'> {
  event: 'AgentCalled' | 'AgentConnect' | 'AgentRingNoAnswer' | 'AgentComplete';
  queue: string;
  interface?: string;
  membername?: string;
  holdtime?: string;
  ringtime?: string;
  talktime?: string;
}
export interface AmiQueueCallerAbandon extends AmiEventBase, AmiChannelFields {
  event: 'QueueCallerAbandon';
  queue: string;
  position?: string;
  originalposition?: string;
  holdtime?: string;
}
/** cel_manager: one CEL record. Note the different capitalisation of its keys on the wire. */
export interface AmiCel extends AmiEventBase {
  event: 'CEL';
  /** CHAN_START, CHAN_END, ANSWER, HANGUP, APP_START, APP_END, BRIDGE_ENTER, BRIDGE_EXIT, BLINDTRANSFER, ATTENDEDTRANSFER, PICKUP, FORWARD, LOCAL_OPTIMIZE, LINKEDID_END, … */
  eventname: string;
  calleridnum?: string;
  exten?: string;
  context?: string;
  channel: string;
  application?: string;
  appdata?: string;
  /** 'YYYY-MM-DD HH:MM:SS' in the PBX's zone (seconds only): the Timestamp header is used instead */
  eventtime?: string;
  uniqueid: string;
  linkedid: string;
  peer?: string;
  /** JSON, e.g. HANGUP `{"hangupcause":16,"hangupsource":"PJSIP/carrier-…","dialstatus":"ANSWER"}` */
  extra?: string;
}
export interface AmiCdr extends AmiEventBase {
  event: 'Cdr';
  source?: string;
  destination?: string;
  channel?: string;
  destinationchannel?: string;
  disposition?: string;
  uniqueid: string;
  userfield?: string;
}
/** One item of the CoreShowChannels EventList (no Timestamp header: it answers an action). */
export interface AmiCoreShowChannel extends AmiEventBase, AmiChannelFields {
  event: 'CoreShowChannel';
  actionid?: string;
  application?: string;
  applicationdata?: string;
  /** HH:MM:SS since the channel was created */
  duration: string;
  bridgeid?: string;
}
export interface AmiCoreShowChannelsComplete extends AmiEventBase {
  event: 'CoreShowChannelsComplete';
  actionid?: string;
  eventlist?: string;
  listitems?: string;
}
export interface AmiFullyBooted extends AmiEventBase {
  event: 'FullyBooted';
  status?: string;
  /** seconds since Asterisk started (Asterisk 16+) */
  uptime?: string;
  lastreload?: string;
}
/** RTCP reports: only used as a sign of life of a channel (stale sweeper). */
export interface AmiRtcp extends AmiEventBase, AmiChannelFields {
  event: 'RTCPSent' | 'RTCPReceived';
}

/** Every AMI event name `toPbxEvent` understands (anything else → null). */
export const CONSUMED_AMI_EVENTS = [
  'Newchannel',
  'Newstate',
  'NewCallerid',
  'Rename',
  'DialBegin',
  'DialEnd',
  'BridgeEnter',
  'BridgeLeave',
  'HangupRequest',
  'SoftHangupRequest',
  'Hangup',
  'VarSet',
  'MixMonitorStart',
  'BlindTransfer',
  'AttendedTransfer',
  'Pickup',
  'AgentCalled',
  'AgentConnect',
  'AgentRingNoAnswer',
  'QueueCallerAbandon',
  'CEL',
  'Cdr',
  'CoreShowChannel',
  'CoreShowChannelsComplete',
  'FullyBooted',
  'RTCPSent',
  'RTCPReceived',
] as const;

/** The CEL event names `toPbxEvent` maps (the others only tell that CEL is on). */
export const CONSUMED_CEL_EVENTS = ['ANSWER', 'HANGUP', 'LINKEDID_END', 'ATTENDEDTRANSFER', 'BLINDTRANSFER', 'PICKUP'] as const;
