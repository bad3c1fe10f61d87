import { api } from './api';
import { t, type MessageKey } from './i18n';
import { LiveCalls } from './live';
import type { CallRecordDto, Outcome, User } from './types';

/** The logged-in user's session: who they are, the live calls, the outcome list. */
export interface Session {
  me: User;
  live: LiveCalls;
  outcomes: Outcome[];
}

let current: Session | null = null;

export function session(): Session {
  if (!current) throw new Error('not logged in');
  return current;
}

export const hasSession = () => current !== null;

export async function startSession(me: User, onUnauthenticated: () => void): Promise<Session> {
  const live = new LiveCalls();
  current = { me, live, outcomes: [] };
  live.connect(onUnauthenticated);
  const [outcomes, health] = await Promise.all([api.outcomes().catch(() => ({ items: [] })), api.health().catch(() => null)]);
  current.outcomes = outcomes.items;
  if (health && !live.pbx) live.setPbx({ mode: health.pbx.mode, status: health.pbx.status });
  return current;
}

export function endSession(): void {
  current?.live.disconnect();
  current = null;
}

export async function refreshOutcomes(): Promise<void> {
  if (current) current.outcomes = (await api.outcomes()).items;
}

export const seesEverything = (me: User) => me.role === 'admin' || me.role === 'supervisor';
export const isMine = (me: User, leg: { extension: string; userId: string | null }) =>
  leg.userId === me.id || (leg.userId === null && me.extensions.includes(leg.extension));

/** The call is ringing one of my phones right now. */
export function ringsMe(me: User, call: CallRecordDto): boolean {
  return call.state === 'ringing' && call.legs.some((l) => isMine(me, l) && !l.answeredAt && !l.endedAt);
}

/** I took part: one of my phones was called, or I am the agent. */
export function involvesMe(me: User, call: CallRecordDto): boolean {
  return call.agent?.userId === me.id || call.legs.some((l) => isMine(me, l));
}

/** The id of the outcome "callback needed" (admin list, code `callback-needed`). */
export const callbackOutcomeId = (outcomes: Outcome[]) => outcomes.find((o) => o.code === 'callback-needed')?.id ?? null;

/** Seeded English names, shown translated while an admin has not renamed them. */
const SEEDED: Record<string, string> = {
  sale: 'Sale',
  consultation: 'Consultation',
  complaint: 'Complaint',
  'callback-needed': 'Callback needed',
  'wrong-number': 'Wrong number',
  spam: 'Spam',
};

/** An outcome's name in the user's language (the seeded ones are translated by their code). */
export function outcomeLabel(o: { id: string; name: string }): string {
  const known = current?.outcomes.find((x) => x.id === o.id);
  const code = known?.code;
  if (code && SEEDED[code] === o.name) return t(`outcomeCode.${code}` as MessageKey);
  return o.name;
}
