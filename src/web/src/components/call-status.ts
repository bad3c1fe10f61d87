import { h } from '../dom';
import { formatPhone } from '../format';
import { t, type MessageKey } from '../i18n';
import { isMine } from '../session';
import type { CallRecordDto, User } from '../types';

/** ringing | talking | missed | answered | unanswered: the colour of a call everywhere. */
export function tone(call: CallRecordDto): 'ringing' | 'talking' | 'missed' | 'answered' | 'unanswered' {
  if (call.state === 'ringing') return 'ringing';
  if (call.state === 'talking') return 'talking';
  if (call.missed) return 'missed';
  return call.disposition === 'answered' ? 'answered' : 'unanswered';
}

export function resultLabel(call: CallRecordDto): string {
  if (call.state !== 'ended') return t(`state.${call.state}`);
  if (call.missed) return t('call.missed');
  return call.disposition ? t(`disposition.${call.disposition}` as MessageKey) : t('state.ended');
}

export function stateBadge(call: CallRecordDto): HTMLElement {
  return h('span', { class: `badge ${tone(call)}`, 'data-testid': 'call-state' }, resultLabel(call));
}

export function directionIcon(call: CallRecordDto): HTMLElement {
  const arrow = call.direction === 'inbound' ? '↙' : call.direction === 'outbound' ? '↗' : '↔';
  return h(
    'span',
    { class: `dir ${call.direction}`, title: t(`direction.${call.direction}`), 'aria-label': t(`direction.${call.direction}`) },
    arrow,
  );
}

/** The customer's number as people read it (or the raw value, or "withheld"). */
export function callNumber(call: CallRecordDto): string {
  if (call.externalNumber) return formatPhone(call.externalNumber);
  if (call.direction === 'internal')
    return t('number.extension', { ext: call.externalNumberRaw ?? call.legs.map((l) => l.extension).join(', ') });
  return call.externalNumberRaw && !/^(anonymous|<unknown>|unknown)$/i.test(call.externalNumberRaw)
    ? call.externalNumberRaw
    : t('number.withheld');
}

export function agentLabel(call: CallRecordDto): string {
  if (!call.agent) return '';
  const { name, extension } = call.agent;
  if (!name) return extension;
  return name.includes(extension) ? name : `${name} (${extension})`;
}

/** Who picked up, from my point of view: "you", a colleague, or nobody yet. */
export function answeredBy(me: User, call: CallRecordDto): string | null {
  if (!call.agent) return null;
  const mine = call.agent.userId === me.id;
  // outbound and internal calls: the agent is the one who called
  if (call.direction !== 'inbound') return mine ? t('card.youCalled') : t('card.calledBy', { name: agentLabel(call) });
  if (!call.answeredAt) return null;
  return mine ? t('card.answeredByMe') : t('card.answeredBy', { name: agentLabel(call) });
}

/** Extensions of the legs still ringing. */
export const ringingExtensions = (call: CallRecordDto) =>
  call.legs.filter((l) => l.ringingAt && !l.answeredAt && !l.endedAt).map((l) => l.extension);

/** Answered legs in order: more than one means the call was transferred. */
export const answeredLegs = (call: CallRecordDto) => call.legs.filter((l) => l.answeredAt);

/** One line saying where the call is: ringing you / answered by a colleague / transferred / ended. */
export function statusLine(me: User, call: CallRecordDto): string {
  const parts: string[] = [];
  if (call.state === 'ringing') {
    const ringing = ringingExtensions(call);
    const mine = call.legs.some((l) => isMine(me, l) && !l.answeredAt && !l.endedAt);
    if (mine) parts.push(t('card.ringingYou'));
    else if (call.direction !== 'inbound' && call.agent) parts.push(answeredBy(me, call)!, t('state.ringing'));
    else parts.push(ringing.length ? t('card.ringingAt', { ext: ringing.join(', ') }) : t('state.ringing'));
  } else {
    const by = answeredBy(me, call);
    if (by) parts.push(by);
  }
  const answered = answeredLegs(call);
  if (answered.length > 1) parts.push(t('card.transferred', { path: answered.map((l) => l.extension).join(' → ') }));
  if (call.state === 'ended') {
    if (call.missed) parts.push(t('call.missed'));
    else if (!call.answeredAt) parts.push(resultLabel(call));
  }
  return parts.join(' · ');
}

/** The choices of a direction filter: any, inbound, outbound, internal. */
export const directionChoices = () => [
  { value: '', label: t('filter.any') },
  ...(['inbound', 'outbound', 'internal'] as const).map((d) => ({ value: d, label: t(`direction.${d}`) })),
];
