/**
 * The browser contract of the live layer (Socket.IO), shared by the server (src/live/) and the web
 * app (src/web/). Event names are `<entity>:<verb>`. Types only: nothing here runs.
 */
import type { CallRecordDto } from '../calls/call-record';

export interface PbxLinkStatus {
  mode: 'asterisk' | 'demo' | 'disabled';
  /** connecting | connected | disconnected | disabled */
  status: string;
  since?: string;
}

export interface CallsSnapshot {
  /** calls in progress the user may see */
  live: CallRecordDto[];
  /** the user's calls since `since` (newest first; at most 500) */
  recent: CallRecordDto[];
  since: string;
}

/** The answer to a snapshot request that could not be served; ask again later. */
export interface SnapshotError {
  error: { code: 'unavailable'; message: string };
}

export interface ServerToClientEvents {
  /** the whole record, on every change; apply only if `version` is greater than the one you have */
  'call:update': (call: CallRecordDto) => void;
  /** sent on every (re)connect: nothing is lost by a reload or a network blip */
  'calls:snapshot': (snapshot: CallsSnapshot) => void;
  /** the snapshot due on connect could not be built (database down?): ask with `calls:snapshot` later */
  'calls:snapshot-failed': (error: SnapshotError) => void;
  'pbx:status': (status: PbxLinkStatus) => void;
}

export interface ClientToServerEvents {
  /** ask for a fresh snapshot (e.g. after the tab was asleep); `since` ISO date-time, default: start of today (server time) */
  'calls:snapshot': (request: { since?: string }, reply: (result: CallsSnapshot | SnapshotError) => void) => void;
}

/** Data the server keeps on each socket. */
export interface SocketData {
  userId: string;
  role: 'admin' | 'supervisor' | 'manager';
}
