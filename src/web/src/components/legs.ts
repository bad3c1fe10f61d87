import { h } from '../dom';
import { formatSeconds, formatTimeSeconds } from '../format';
import { t, type MessageKey } from '../i18n';
import { isMine } from '../session';
import type { CallRecordDto, User } from '../types';

/** Every agent phone that was called or joined, in order, with when it rang, answered and ended. */
export function legsTimeline(me: User, call: CallRecordDto): HTMLElement {
  if (!call.legs.length) return h('p', { class: 'muted' }, t('legs.none'));
  return h(
    'ol',
    { class: 'legs', 'data-testid': 'legs' },
    call.legs.map((l) => {
      const result = l.result ? t(`leg.${l.result}` as MessageKey) : l.answeredAt ? t('state.talking') : t('state.ringing');
      const who = call.agent?.extension === l.extension && call.agent.name ? ` ${call.agent.name}` : '';
      const talk = l.answeredAt && l.endedAt ? (new Date(l.endedAt).getTime() - new Date(l.answeredAt).getTime()) / 1000 : null;
      return h(
        'li',
        { class: `leg ${l.result ?? (l.answeredAt ? 'talking' : 'ringing')}` },
        h('span', { class: 'leg-ext' }, `${l.extension}${who}`, isMine(me, l) ? h('span', { class: 'me' }, ` (${t('legs.me')})`) : null),
        h('span', { class: 'leg-result' }, result),
        h(
          'span',
          { class: 'leg-times muted' },
          [
            l.ringingAt ? `${t('legs.rang')} ${formatTimeSeconds(l.ringingAt)}` : '',
            l.answeredAt ? `${t('legs.answered')} ${formatTimeSeconds(l.answeredAt)}` : '',
            l.endedAt ? `${t('legs.ended')} ${formatTimeSeconds(l.endedAt)}` : '',
            talk !== null ? `${t('calls.talk')} ${formatSeconds(talk)}` : '',
          ]
            .filter(Boolean)
            .join(' · '),
        ),
      );
    }),
  );
}
