/**
 * The call-record contract (../DESIGN.md): what the tracker produces, the database stores, REST
 * returns and `call:update` pushes. Pure types, shared by every layer.
 */
export type Direction = 'inbound' | 'outbound' | 'internal';
export type CallState = 'ringing' | 'talking' | 'ended';
export type Disposition = 'answered' | 'no-answer' | 'busy' | 'failed';
export type LegResult = 'answered' | 'no-answer' | 'busy' | 'answered-elsewhere' | 'failed';
export type HangupBy = 'customer' | 'agent' | 'system';
export type EndReason = 'normal' | 'pbx-lost' | 'pbx-restart' | 'stale';
export type ContactMatch = 'matched' | 'none' | 'ambiguous';
export type RecordingState = 'pending' | 'stored' | 'failed' | 'missing' | 'purged' | 'empty';

export const DIRECTIONS: readonly Direction[] = ['inbound', 'outbound', 'internal'];
export const CALL_STATES: readonly CallState[] = ['ringing', 'talking', 'ended'];
export const DISPOSITIONS: readonly Disposition[] = ['answered', 'no-answer', 'busy', 'failed'];
export const LEG_RESULTS: readonly LegResult[] = ['answered', 'no-answer', 'busy', 'answered-elsewhere', 'failed'];
export const HANGUP_BY: readonly HangupBy[] = ['customer', 'agent', 'system'];
export const END_REASONS: readonly EndReason[] = ['normal', 'pbx-lost', 'pbx-restart', 'stale'];
export const RECORDING_STATES: readonly RecordingState[] = ['pending', 'stored', 'failed', 'missing', 'purged', 'empty'];

/** One agent phone that was called or joined the conversation. */
export interface CallLegDraft {
  extension: string;
  ringingAt: Date | null;
  answeredAt: Date | null;
  endedAt: Date | null;
  /** null while the leg is still live */
  result: LegResult | null;
}

/**
 * What the pure tracker knows about one conversation (keyed by Asterisk linkedid). The service
 * layer adds ids, users, contact match and annotations to make the stored record.
 */
export interface CallDraft {
  pbxCallId: string;
  direction: Direction;
  state: CallState;
  disposition: Disposition | null;
  missed: boolean;
  externalNumber: string | null;
  externalNumberRaw: string | null;
  trackingNumber: string | null;
  startedAt: Date;
  answeredAt: Date | null;
  endedAt: Date | null;
  agentExtension: string | null;
  legs: CallLegDraft[];
  hangupBy: HangupBy | null;
  endReason: EndReason | null;
  /** linkedids of related conversations (a consultation call and the call it transferred) */
  relatedPbxCallIds: string[];
  recordingFile: string | null;
}

/**
 * Talk analytics of a two-channel recording: the shape of `TalkAnalytics` in
 * src/recordings/talk-analytics.ts, spelled out here so this file stays free of server imports
 * (the web app compiles it). Durations in seconds, shares 0..1.
 */
export interface RecordingAnalytics {
  durationSeconds: number;
  agentTalkSeconds: number;
  customerTalkSeconds: number;
  /** agent talk / (agent + customer talk); null when nobody spoke */
  agentTalkShare: number | null;
  /** agent talk / customer talk; null when the customer never spoke */
  talkListenRatio: number | null;
  longestMonologueSeconds: number;
  longestMonologueBy: 'agent' | 'customer' | null;
  /** share of the duration where neither speaks */
  silenceShare: number;
  /** both speak at once */
  overtalkSeconds: number;
  overtalkShare: number;
}

/** The record as REST returns it and Socket.IO pushes it. */
export interface CallRecordDto {
  id: string;
  version: number;
  pbxCallId: string;
  direction: Direction;
  state: CallState;
  disposition: Disposition | null;
  missed: boolean;
  externalNumber: string | null;
  externalNumberRaw: string | null;
  trackingNumber: string | null;
  startedAt: string;
  answeredAt: string | null;
  endedAt: string | null;
  waitSeconds: number | null;
  talkSeconds: number | null;
  durationSeconds: number | null;
  agent: { userId: string | null; extension: string; name: string | null } | null;
  legs: {
    extension: string;
    userId: string | null;
    ringingAt: string | null;
    answeredAt: string | null;
    endedAt: string | null;
    result: LegResult | null;
  }[];
  hangupBy: HangupBy | null;
  contact: { id: string; name: string } | null;
  organization: { id: string; name: string } | null;
  contactMatch: ContactMatch;
  endReason: EndReason | null;
  relatedCallIds: string[];
  recording: {
    id: string;
    fileName: string;
    state: RecordingState;
    durationSeconds: number | null;
    url: string;
    /** 2: the customer and the agent on separate channels; 1: a mono mix; null until stored */
    channels: number | null;
    /** talk analytics of a two-channel recording; null for mono or until stored */
    analytics: RecordingAnalytics | null;
  } | null;
  topic: string | null;
  outcome: { id: string; name: string } | null;
  notes: string | null;
}
