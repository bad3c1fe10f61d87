/**
 * The domain events the call tracker consumes. `asterisk/to-pbx-event.ts` makes them from AMI
 * frames (the only code that knows AMI field names); the AMI adapter injects the control events
 * (`link-lost`, `resync`, `pbx-restart`, `sweep`). Everything is plain data: journalled events
 * can be replayed to rebuild records.
 *
 * Every event carries `at` (when it happened: Asterisk's `Timestamp:` header when the PBX sends
 * one, else when the frame was received) and `mono` (the listener's monotonic clock in ms, used
 * only by the stale sweeper).
 */

/** Asterisk channel states (`ChannelState`). */
export const ChannelStateCode = {
  down: 0,
  reserved: 1,
  offHook: 2,
  dialing: 3,
  ring: 4,
  ringing: 5,
  up: 6,
  busy: 7,
  dialingOffHook: 8,
  preRing: 9,
  unknown: 10,
} as const;

export interface EventTime {
  /** when it happened on the PBX (or when the frame arrived, without event timestamps) */
  at: Date;
  /** the listener's monotonic clock, ms (performance.now() or similar): the sweeper's only clock */
  mono: number;
}

/** What the PBX said about one channel at the moment of an event. */
export interface ChannelInfo {
  /** Asterisk uniqueid of the channel */
  channelId: string;
  /** Asterisk linkedid of the channel at that moment (it changes on transfers) */
  pbxCallId: string;
  /** e.g. `PJSIP/101-00000012`, `Local/600@from-internal-0000001a;2` */
  name: string;
  /** ChannelStateCode, null when the event does not say */
  state: number | null;
  /** caller id number of the channel; null when Asterisk has none (`<unknown>`, empty) */
  callerNumber: string | null;
  connectedNumber: string | null;
  exten: string | null;
  context: string | null;
  /** the RECORDING_FILE channel variable, when the PBX sends it with every event (manager.conf channelvars) */
  recordingFile?: string;
}

export type DialStatus = string; // ANSWER, BUSY, NOANSWER, CANCEL, CONGESTION, CHANUNAVAIL, …

export type InterestingVariable = 'RECORDING_FILE' | 'MIXMONITOR_FILENAME' | 'DIALSTATUS';

/** One channel of a CoreShowChannels answer. */
export interface ResyncChannel extends ChannelInfo {
  /** seconds since the channel was created (Asterisk gives whole seconds) */
  durationSeconds: number;
  bridgeId: string | null;
  application: string | null;
}

export type PbxEvent = EventTime &
  (
    | { type: 'channel-created'; channel: ChannelInfo }
    | { type: 'channel-state'; channel: ChannelInfo }
    /** CEL ANSWER: the channel was answered (same meaning as channel-state Up) */
    | { type: 'channel-answered'; channel: ChannelInfo }
    | { type: 'caller-id'; channel: ChannelInfo }
    | { type: 'channel-renamed'; channel: ChannelInfo; newName: string }
    /** a sign of life (RTCP report) for the stale sweeper */
    | { type: 'channel-activity'; channel: ChannelInfo }
    /** `caller` is null for an originate */
    | { type: 'dial-begin'; caller: ChannelInfo | null; callee: ChannelInfo; dialString: string | null }
    | { type: 'dial-end'; caller: ChannelInfo | null; callee: ChannelInfo; status: DialStatus }
    | {
        type: 'bridge-enter';
        channel: ChannelInfo;
        bridgeId: string;
        /** true when Asterisk gives every channel in the bridge the oldest linkedid (basic and mixing Stasis bridges) */
        mergesCalls: boolean;
        /** the channel this one replaces in the bridge */
        swapChannelId: string | null;
      }
    | { type: 'bridge-leave'; channel: ChannelInfo; bridgeId: string }
    /** `by: 'remote'`: the channel's own side hung up (HangupRequest); `'pbx'`: Asterisk asked (SoftHangupRequest) */
    | { type: 'hangup-request'; channel: ChannelInfo; cause: number | null; by: 'remote' | 'pbx' }
    | {
        type: 'hangup';
        channel: ChannelInfo;
        cause: number | null;
        /** 'cel': from CEL HANGUP (carries hangupSource/dialStatus), 'ami': the Hangup event */
        source: 'ami' | 'cel';
        /** name of the channel that caused the hangup, when known (CEL) */
        hangupSource: string | null;
        dialStatus: DialStatus | null;
      }
    | { type: 'variable'; channel: ChannelInfo; name: InterestingVariable; value: string }
    | { type: 'recording-started'; channel: ChannelInfo; file: string | null }
    /** CEL LINKEDID_END: the last channel of the conversation is gone */
    | { type: 'linkedid-end'; pbxCallId: string; channelId: string | null }
    | {
        type: 'blind-transfer';
        success: boolean;
        transferer: ChannelInfo | null;
        transferee: ChannelInfo | null;
        extension: string | null;
        context: string | null;
      }
    | {
        type: 'attended-transfer';
        success: boolean;
        /** the agent's channel in the first call */
        transferer: ChannelInfo | null;
        /** the agent's channel in the consultation call */
        secondTransferer: ChannelInfo | null;
        transferee: ChannelInfo | null;
        target: ChannelInfo | null;
      }
    /** CEL ATTENDEDTRANSFER / BLINDTRANSFER: `otherChannelId` is the consultation channel of an attended one */
    | { type: 'transfer-recorded'; kind: 'blind' | 'attended'; channel: ChannelInfo; otherChannelId: string | null }
    | { type: 'pickup'; picker: ChannelInfo; target: ChannelInfo }
    | { type: 'queue-agent-called'; caller: ChannelInfo | null; agent: ChannelInfo; queue: string | null }
    | { type: 'queue-agent-connected'; caller: ChannelInfo | null; agent: ChannelInfo; queue: string | null }
    | { type: 'queue-agent-no-answer'; caller: ChannelInfo | null; agent: ChannelInfo; queue: string | null }
    | { type: 'queue-caller-abandoned'; caller: ChannelInfo; queue: string | null }
    /** cdr_manager: a CDR was posted; `userField` is CDR(userfield) (the recording file on our PBX) */
    | { type: 'cdr-posted'; channelId: string; userField: string | null; disposition: string | null }
    /** one CoreShowChannels item; the adapter collects them into a `resync` */
    | { type: 'resync-channel'; requestId: string | null; channel: ResyncChannel }
    | { type: 'resync-complete'; requestId: string | null; listed: number | null }
    /** FullyBooted: the adapter compares uptimes to detect a PBX restart */
    | { type: 'pbx-booted'; uptimeSeconds: number | null; lastReloadSeconds: number | null }
    // ---- control events injected by the adapters ----
    /** the AMI link dropped at `at` */
    | { type: 'link-lost' }
    /** the complete CoreShowChannels answer after a (re)login */
    | { type: 'resync'; channels: ResyncChannel[] }
    /** the PBX restarted: every open call is over */
    | { type: 'pbx-restart' }
    /** close calls without any event for longer than staleAfterMs (measured on `mono`) */
    | { type: 'sweep'; staleAfterMs: number }
  );

export type PbxEventType = PbxEvent['type'];
export type PbxEventOf<T extends PbxEventType> = Extract<PbxEvent, { type: T }>;
