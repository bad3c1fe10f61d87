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
