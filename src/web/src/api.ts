import type {
  AgentReport,
  ApiToken,
  AuditEntry,
  CallPage,
  CallRecordDto,
  CommentDto,
  Contact,
  CriterionKind,
  Health,
  OffsetPage,
  Organization,
  Outcome,
  QueueItem,
  ReviewCriterion,
  ReviewDto,
  User,
  Waveform,
} from './types';

/** An API answer other than 2xx: `{ error: { code, message } }` as the server's error handler writes it. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Fired when the session is gone (401): the app shows the login page. */
export const UNAUTHENTICATED = 'calltrack:unauthenticated';

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError(0, 'network', err instanceof Error ? err.message : String(err));
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!res.ok) {
    const error = (json as { error?: { code?: string; message?: string } } | null)?.error;
    if (res.status === 401 && path !== '/api/auth/login') window.dispatchEvent(new Event(UNAUTHENTICATED));
    throw new ApiError(res.status, error?.code ?? 'http', error?.message ?? (text.slice(0, 200) || res.statusText));
  }
  return json as T;
}

const get = <T>(path: string) => request<T>('GET', path);
const post = <T>(path: string, body: unknown) => request<T>('POST', path, body);
const patch = <T>(path: string, body: unknown) => request<T>('PATCH', path, body);
const del = <T = void>(path: string) => request<T>('DELETE', path);

/** `?a=1&b=2` from the defined, non-empty values. */
export function query(params: Record<string, string | number | boolean | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

export interface CallFilters {
  from?: string;
  to?: string;
  direction?: string;
  disposition?: string;
  state?: string;
  missed?: boolean;
  agent?: string;
  contact?: string;
  organization?: string;
  number?: string;
  limit?: number;
  cursor?: string;
}

export interface Annotation {
  topic?: string | null;
  outcome?: string | null;
  notes?: string | null;
}

export interface ContactInput {
  firstName: string;
  lastName?: string | null;
  organizationId?: string | null;
  ownerId?: string | null;
  email?: string | null;
  notes?: string | null;
  phones?: { number: string; label?: string | null }[];
}

export interface UserInput {
  email?: string;
  name?: string;
  password?: string;
  role?: string;
  locale?: string;
  active?: boolean;
  extensions?: string[];
}

/** GET /api/reviews/queue: ended calls with a stored recording, for supervisors to review. */
export interface QueueFilters {
  agent?: string;
  from?: string;
  to?: string;
  outcome?: string;
  direction?: string;
  minDuration?: number;
  maxDuration?: number;
  reviewed?: 'true' | 'false';
  sample?: number;
  seed?: string;
  minTalkShare?: number;
  maxTalkShare?: number;
  minSilence?: number;
  maxSilence?: number;
  minOvertalk?: number;
  maxOvertalk?: number;
  minMonologue?: number;
  cursor?: string;
  limit?: number;
}

export interface CriterionInput {
  name?: string;
  description?: string | null;
  kind?: CriterionKind;
  weight?: number;
  position?: number;
  active?: boolean;
}

export interface ReviewUpdate {
  scores?: { criterionId: string; value: number }[];
  summary?: string | null;
  submit?: true;
}

const callPath = (id: string) => `/api/calls/${encodeURIComponent(id)}`;

export const api = {
  health: () => get<Health>('/health'),
  login: (email: string, password: string) => post<{ user: User }>('/api/auth/login', { email, password }),
  logout: () => post<void>('/api/auth/logout', {}),
  me: () => get<{ user: User }>('/api/me'),
  updateMe: (body: { locale?: string; name?: string }) => patch<{ user: User }>('/api/me', body),

  calls: (f: CallFilters = {}) => get<CallPage<CallRecordDto>>(`/api/calls${query({ ...f })}`),
  call: (id: string) => get<CallRecordDto>(`/api/calls/${encodeURIComponent(id)}`),
  annotate: (id: string, body: Annotation) => patch<CallRecordDto>(`/api/calls/${encodeURIComponent(id)}`, body),
  originate: (to: string, extension?: string) =>
    post<{ channelId: string; extension: string; to: string }>('/api/calls/originate', extension ? { to, extension } : { to }),

  outcomes: (all = false) => get<{ items: Outcome[] }>(`/api/outcomes${all ? '?all=true' : ''}`),
  createOutcome: (body: { name: string; active?: boolean; sortOrder?: number }) => post<Outcome>('/api/outcomes', body),
  updateOutcome: (id: string, body: { name?: string; active?: boolean; sortOrder?: number }) => patch<Outcome>(`/api/outcomes/${id}`, body),
  deleteOutcome: (id: string) => del<{ deleted: boolean; deactivated: boolean }>(`/api/outcomes/${id}`),

  contacts: (q: { q?: string; limit?: number; offset?: number; ownerId?: string; organizationId?: string } = {}) =>
    get<OffsetPage<Contact>>(`/api/contacts${query(q)}`),
  contact: (id: string) => get<Contact>(`/api/contacts/${encodeURIComponent(id)}`),
  createContact: (body: ContactInput) => post<Contact>('/api/contacts', body),
  organizations: (q: { q?: string; limit?: number; offset?: number } = {}) =>
    get<OffsetPage<Organization>>(`/api/organizations${query(q)}`),
  organization: (id: string) => get<Organization>(`/api/organizations/${encodeURIComponent(id)}`),
  createOrganization: (body: { name: string; notes?: string | null; phones?: { number: string }[] }) =>
    post<Organization>('/api/organizations', body),

  users: () => get<{ items: User[] }>('/api/users'),
  createUser: (body: UserInput) => post<User>('/api/users', body),
  updateUser: (id: string, body: UserInput) => patch<User>(`/api/users/${id}`, body),
  deleteUser: (id: string) => del(`/api/users/${id}`),

  waveform: (callId: string, buckets = 600) => get<Waveform>(`${callPath(callId)}/recording/waveform${query({ buckets })}`),

  criteria: (all = false) => get<{ items: ReviewCriterion[] }>(`/api/review-criteria${all ? '?all=true' : ''}`),
  createCriterion: (body: CriterionInput) => post<ReviewCriterion>('/api/review-criteria', body),
  updateCriterion: (id: string, body: CriterionInput) => patch<ReviewCriterion>(`/api/review-criteria/${id}`, body),
  deleteCriterion: (id: string) => del<{ deleted?: boolean; deactivated?: boolean }>(`/api/review-criteria/${id}`),

  reviewQueue: (f: QueueFilters) => get<CallPage<QueueItem>>(`/api/reviews/queue${query({ ...f })}`),
  callReviews: (callId: string) => get<{ items: ReviewDto[] }>(`${callPath(callId)}/reviews`),
  /** the caller's own review of the call: created as a draft, or the existing one */
  startReview: (callId: string) => post<ReviewDto>(`${callPath(callId)}/reviews`, {}),
  reviews: (cursor?: string) => get<CallPage<ReviewDto & { call: CallRecordDto }>>(`/api/reviews${query({ cursor })}`),
  review: (id: string) => get<ReviewDto>(`/api/reviews/${id}`),
  updateReview: (id: string, body: ReviewUpdate) => patch<ReviewDto>(`/api/reviews/${id}`, body),
  comment: (reviewId: string, body: { body: string; atSeconds?: number | null; parentId?: string }) =>
    post<CommentDto>(`/api/reviews/${reviewId}/comments`, body),

  agentReport: (from: string, to: string) => get<AgentReport>(`/api/reports/agents${query({ from, to })}`),

  tokens: () => get<{ items: ApiToken[] }>('/api/tokens'),
  audit: (f: { action?: string; cursor?: string; limit?: number } = {}) =>
    get<{ items: AuditEntry[]; nextCursor: string | null }>(`/api/audit${query({ ...f })}`),
  createToken: (body: { name: string; userId?: string }) => post<ApiToken & { token: string }>('/api/tokens', body),
  revokeToken: (id: string) => del(`/api/tokens/${id}`),
};
