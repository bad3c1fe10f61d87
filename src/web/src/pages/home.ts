import { CallCard } from '../components/call-card';
import { CallTable } from '../components/call-table';
import { h } from '../dom';
import { isToday } from '../format';
import { t } from '../i18n';
import type { Page } from '../router';
import { involvesMe, ringsMe, seesEverything, session } from '../session';
import type { CallRecordDto } from '../types';

/** Ended cards stay (for annotating) until dismissed; kept per tab so a reload keeps them. */
const PINNED_KEY = 'calltrack.pinnedCards';
const MAX_ENDED_CARDS = 4;
/** A call a colleague answered leaves my screen this long after it ended: it is theirs to annotate. */
const COLLEAGUE_CARD_MS = 8000;

function loadPinned(): string[] {
  try {
    const v: unknown = JSON.parse(sessionStorage.getItem(PINNED_KEY) ?? '[]');
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}
const savePinned = (ids: string[]) => sessionStorage.setItem(PINNED_KEY, JSON.stringify(ids.slice(-MAX_ENDED_CARDS * 2)));

const ORDER = { ringing: 0, talking: 1, ended: 2 } as const;

/** "My calls": live cards on top (the screen-pop), today's calls below, both updated live. */
export const homePage: Page = ({ main }) => {
  const { me, live } = session();
  const everything = seesEverything(me);
  const mine = (c: CallRecordDto) => !everything || involvesMe(me, c);
  const pinned = loadPinned();
  const cards = new Map<string, CallCard>();
  const cardsBox = h('div', { class: 'cards', 'data-testid': 'live-cards' });
  const noCards = h('p', { class: 'empty-cards muted' }, t('home.noLive'));
  const table = new CallTable({ emptyText: t('home.noCallsToday'), testId: 'today-calls' });
  const todayCount = h('span', { class: 'count' });

  const leaving = new Set<string>();
  const wantsCard = (c: CallRecordDto) => (c.state !== 'ended' ? mine(c) : pinned.includes(c.id) || leaving.has(c.id));

  const sorted = () =>
    [...cards.entries()]
      .map(([id, card]) => ({ card, call: live.calls.get(id)! }))
      .sort((a, b) => ORDER[a.call.state] - ORDER[b.call.state] || b.call.startedAt.localeCompare(a.call.startedAt));
  const placeCards = () => {
    for (const x of sorted()
      .filter((x) => x.call.state === 'ended')
      .slice(MAX_ENDED_CARDS))
      dismiss(x.call);
    sorted().forEach((x, i) => {
      if (cardsBox.children[i] !== x.card.el) cardsBox.insertBefore(x.card.el, cardsBox.children[i] ?? null);
    });
    noCards.hidden = cards.size > 0;
  };

  function dismiss(c: CallRecordDto): void {
    const i = pinned.indexOf(c.id);
    if (i >= 0) pinned.splice(i, 1);
    savePinned(pinned);
    cards.get(c.id)?.el.remove();
    cards.delete(c.id);
    noCards.hidden = cards.size > 0;
  }

  const show = (c: CallRecordDto) => {
    if (c.state !== 'ended' && involvesMe(me, c) && !pinned.includes(c.id)) {
      pinned.push(c.id);
      savePinned(pinned);
    }
    const card = cards.get(c.id);
    if (c.state === 'ended' && c.answeredAt && c.agent?.userId !== me.id && pinned.includes(c.id)) {
      // a colleague took it: shown ended for a moment, then gone (and not back after a reload)
      pinned.splice(pinned.indexOf(c.id), 1);
      savePinned(pinned);
      if (card) {
        leaving.add(c.id);
        setTimeout(() => {
          leaving.delete(c.id);
          dismiss(c);
        }, COLLEAGUE_CARD_MS);
      }
    }
    if (!wantsCard(c)) {
      if (card) dismiss(c);
    } else if (card) {
      card.update(c);
      placeCards();
    } else {
      const created = new CallCard(c, { onDismiss: dismiss });
      cards.set(c.id, created);
      placeCards();
      if (ringsMe(me, c)) created.el.scrollIntoView({ block: 'nearest' });
    }
    if (isToday(new Date(c.startedAt)) && mine(c)) table.upsert(c);
    todayCount.textContent = table.size ? String(table.size) : '';
  };

  for (const c of live.list().reverse()) show(c);
  const off = live.onCall((c) => show(c));

  main.replaceChildren(
    h('section', { class: 'live-section', 'aria-labelledby': 'h-live' }, h('h2', { id: 'h-live' }, t('home.now')), noCards, cardsBox),
    h(
      'section',
      { 'aria-labelledby': 'h-today' },
      h('h2', { id: 'h-today' }, t('home.today'), ' ', todayCount),
      table.el,
      everything ? h('p', { class: 'muted' }, t('home.everyoneHint'), ' ', h('a', { href: '#/board' }, t('nav.board'))) : null,
    ),
  );
  return off;
};
