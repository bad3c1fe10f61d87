import { agentLabel, callNumber, ringingExtensions, stateBadge } from '../components/call-status';
import { h, replace, thead } from '../dom';
import { formatPhone, formatSeconds, formatTime, isToday, secondsSince } from '../format';
import { t } from '../i18n';
import type { Page } from '../router';
import { seesEverything, session } from '../session';
import type { CallRecordDto } from '../types';

/** How a missed call was followed up: our outbound call to the number, or a later answered call from it. */
export function followUp(missed: CallRecordDto, all: CallRecordDto[]): CallRecordDto | null {
  if (!missed.externalNumber) return null;
  const later = all
    .filter((c) => c.id !== missed.id && c.externalNumber === missed.externalNumber && c.startedAt > missed.startedAt)
    .filter((c) => c.direction === 'outbound' || (c.direction === 'inbound' && c.answeredAt))
    .sort((a, b) => a.startedAt.localeCompare(b.startedAt));
  return later[0] ?? null;
}

function liveTile(c: CallRecordDto): HTMLElement {
  const since = c.state === 'talking' && c.answeredAt ? c.answeredAt : c.startedAt;
  const ringing = ringingExtensions(c);
  return h(
    'a',
    {
      href: `#/calls/${c.id}`,
      class: `tile tone-${c.state}`,
      'data-pbx-call-id': c.pbxCallId,
      'data-call-id': c.id,
      'data-state': c.state,
    },
    h('div', { class: 'tile-top' }, stateBadge(c), h('span', { class: 'timer', 'data-since': since }, formatSeconds(secondsSince(since)))),
    h(
      'div',
      { class: 'tile-who' },
      h('strong', {}, c.contact?.name ?? callNumber(c)),
      c.contact ? h('span', { class: 'muted' }, ` ${callNumber(c)}`) : null,
    ),
    c.organization ? h('div', { class: 'muted' }, c.organization.name) : null,
    h(
      'div',
      { class: 'tile-meta muted' },
      [
        c.trackingNumber ? `${t('card.line')} ${formatPhone(c.trackingNumber)}` : '',
        c.state === 'ringing' && ringing.length ? `→ ${ringing.join(', ')}` : '',
      ]
        .filter(Boolean)
        .join(' · '),
    ),
  );
}

/** Supervisor board: every live call grouped by agent; today's missed calls and whether someone called back. */
export const boardPage: Page = ({ main }) => {
  const { me, live } = session();
  if (!seesEverything(me)) {
    main.replaceChildren(h('p', { class: 'error' }, t('error.forbidden')));
    return;
  }
  const stats = h('div', { class: 'stats', 'data-testid': 'board-stats' });
  const groups = h('div', { class: 'board-groups', 'data-testid': 'board-live' });
  const missedBody = h('tbody');
  const missedTable = h(
    'table',
    { class: 'list', 'data-testid': 'board-missed' },
    thead([t('calls.when'), t('calls.number'), t('calls.contact'), t('card.line'), t('board.rang'), t('board.calledBack')]),
    missedBody,
  );

  let scheduled = false;
  const render = () => {
    scheduled = false;
    const all = live.list();
    const current = all.filter((c) => c.state !== 'ended');
    const waiting = current.filter((c) => c.state === 'ringing');
    const byAgent = new Map<string, { title: string; calls: CallRecordDto[] }>();
    for (const c of current.filter((x) => x.state === 'talking')) {
      const key = c.agent?.userId ?? c.agent?.extension ?? '?';
      const group = byAgent.get(key) ?? { title: agentLabel(c) || t('board.noAgent'), calls: [] };
      group.calls.push(c);
      byAgent.set(key, group);
    }
    const today = all.filter((c) => isToday(new Date(c.startedAt)));
    const missed = today.filter((c) => c.missed);
    const open = missed.filter((m) => !followUp(m, all));
    replace(
      stats,
      [
        [t('board.live'), current.length, ''],
        [t('state.ringing'), waiting.length, 'ringing'],
        [t('state.talking'), current.length - waiting.length, 'talking'],
        [t('board.callsToday'), today.length, ''],
        [t('board.missedToday'), missed.length, missed.length ? 'missed' : ''],
        [t('board.notCalledBack'), open.length, open.length ? 'missed' : ''],
      ].map(([label, n, tone]) =>
        h('div', { class: `stat ${tone}` }, h('span', { class: 'stat-n' }, String(n)), h('span', { class: 'stat-label' }, String(label))),
      ),
    );
    const column = (title: string, calls: CallRecordDto[], cls: string) =>
      h(
        'section',
        { class: `group ${cls}` },
        h('h3', {}, title, ' ', h('span', { class: 'count' }, String(calls.length))),
        calls.map(liveTile),
      );
    replace(
      groups,
      waiting.length ? column(t('board.waiting'), waiting, 'waiting') : null,
      [...byAgent.values()].sort((a, b) => a.title.localeCompare(b.title)).map((g) => column(g.title, g.calls, 'agent')),
      current.length ? null : h('p', { class: 'muted' }, t('board.quiet')),
    );
    replace(
      missedBody,
      missed.length
        ? missed.map((m) => {
            const f = followUp(m, all);
            return h(
              'tr',
              { class: f ? '' : 'tone-missed', 'data-call-id': m.id, 'data-pbx-call-id': m.pbxCallId },
              h('td', {}, h('a', { href: `#/calls/${m.id}` }, formatTime(m.startedAt))),
              h('td', { class: 'nowrap' }, callNumber(m)),
              h('td', {}, m.contact ? h('a', { href: `#/contacts/${m.contact.id}` }, m.contact.name) : ''),
              h('td', { class: 'nowrap' }, m.trackingNumber ? formatPhone(m.trackingNumber) : ''),
              h('td', {}, m.legs.map((l) => l.extension).join(', ')),
              h(
                'td',
                {},
                f
                  ? h(
                      'span',
                      { class: 'badge answered' },
                      t(f.direction === 'outbound' ? 'board.calledBackAt' : 'board.reachedAgainAt', {
                        time: formatTime(f.startedAt),
                        who: agentLabel(f),
                      }),
                    )
                  : h('span', { class: 'badge missed' }, t('board.notYet')),
              ),
            );
          })
        : h('tr', {}, h('td', { colspan: 6 }, t('board.noMissed'))),
    );
  };
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    setTimeout(render, 30);
  };
  render();
  const offCall = live.onCall(schedule);
  const offStatus = live.onStatus(schedule);
  main.replaceChildren(
    h('h1', {}, t('nav.board')),
    stats,
    h('h2', {}, t('board.liveCalls')),
    groups,
    h('h2', {}, t('board.missedTitle')),
    missedTable,
  );
  return () => {
    offCall();
    offStatus();
  };
};
