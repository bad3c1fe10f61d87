/** Shapes the web app reads. The call record and the live contract come from the server's own types. */
export type { CallRecordDto, Direction, Disposition, CallState, LegResult } from '../../calls/call-record';
export type { CallsSnapshot, PbxLinkStatus, ServerToClientEvents, ClientToServerEvents } from '../../live/live-events';

export type Role = 'admin' | 'supervisor' | 'manager';
export type Locale = 'uk' | 'en';

export interface User {
  id: string;
  email: string;
  name: string;
  role: Role;
  locale: Locale;
  active: boolean;
  extensions: string[];
  createdAt: string;
}

export interface Phone {
  id: string;
  number: string;
  e164: string;
  label: string | null;
}

export interface Contact {
  id: string;
  firstName: string;
  lastName: string | null;
  name: string;
  organization: { id: string; name: string } | null;
  owner: { id: string; name: string } | null;
  birthday: string | null;
  email: string | null;
  notes: string | null;
  tags: string[];
  phones: Phone[];
  createdAt: string;
  updatedAt: string;
}

export interface Organization {
  id: string;
  name: string;
  notes: string | null;
  phones: Phone[];
  contacts: { id: string; name: string }[];
  createdAt: string;
  updatedAt: string;
}

export interface Outcome {
  id: string;
  code: string | null;
  name: string;
  active: boolean;
  sortOrder: number;
}

export interface ApiToken {
  id: string;
  name: string;
  userId: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface Health {
  status: string;
  database: string;
  pbx: { mode: 'asterisk' | 'demo' | 'disabled'; status: string };
  version: string;
}

export interface CallPage<T> {
  items: T[];
  nextCursor: string | null;
}

export interface OffsetPage<T> {
  items: T[];
  nextOffset: number | null;
}

/** Talk analytics of a two-channel recording (src/recordings/talk-analytics.ts on the server). */
export interface TalkAnalyticsDto {
  durationSeconds: number;
  agentTalkSeconds: number;
  customerTalkSeconds: number;
  agentTalkShare: number | null;
  talkListenRatio: number | null;
  longestMonologueSeconds: number;
  longestMonologueBy: 'agent' | 'customer' | null;
  silenceShare: number;
  overtalkSeconds: number;
  overtalkShare: number;
}

/** The call's recording with the fields added for playback and review (stereo channels, analytics). */
export type RecordingInfo = NonNullable<import('../../calls/call-record').CallRecordDto['recording']> & {
  channels?: number | null;
  analytics?: TalkAnalyticsDto | null;
};

export interface Waveform {
  durationSeconds: number;
  sampleRate: number;
  channels: number;
  /** which channel is the customer (0|1) in a stereo recording; null for mono */
  customerChannel: number | null;
  /** per channel, 0..1 */
  peaks: number[][];
}

export type CriterionKind = 'yes_no' | 'scale';

export interface ReviewCriterion {
  id: string;
  name: string;
  description: string | null;
  kind: CriterionKind;
  weight: number;
  position: number;
  active: boolean;
}

export interface CommentDto {
  id: string;
  parentId: string | null;
  author: { id: string; name: string; role: Role } | null;
  atSeconds: number | null;
  body: string;
  createdAt: string;
}

export interface ReviewScore {
  criterionId: string;
  name: string;
  kind: CriterionKind;
  weight: number;
  value: number;
}

export interface ReviewDto {
  id: string;
  callId: string;
  state: 'draft' | 'submitted';
  score: number | null;
  summary: string | null;
  reviewer: { id: string; name: string } | null;
  agent: { id: string; name: string } | null;
  scores: ReviewScore[];
  comments: CommentDto[];
  createdAt: string;
  updatedAt: string;
  submittedAt: string | null;
}

export interface ReviewSummary {
  id: string;
  state: 'draft' | 'submitted';
  score: number | null;
  reviewerName: string | null;
  submittedAt: string | null;
}

export interface QueueItem {
  call: import('../../calls/call-record').CallRecordDto;
  review: ReviewSummary | null;
}

export interface AgentReportRow {
  userId: string;
  name: string;
  extensions: string[];
  calls: number;
  answered: number;
  missed: number;
  avgWaitSeconds: number | null;
  avgTalkSeconds: number | null;
  reviews: number;
  avgScore: number | null;
}

export interface AgentReport {
  from: string;
  to: string;
  items: AgentReportRow[];
  days: { date: string; calls: number; answered: number; missed: number }[];
}

/** GET /api/audit (admins): who did what, when. */
export interface AuditEntry {
  id: string;
  at: string;
  actor: { id: string; name: string } | null;
  action: string;
  entityType: string | null;
  entityId: string | null;
  details: Record<string, unknown>;
  ip: string | null;
}
