import { api, ApiError, type CallFilters } from '../api';
import { directionChoices } from '../components/call-status';
import { CallTable } from '../components/call-table';
import { h, options } from '../dom';
import { t } from '../i18n';
import { href, type Page } from '../router';
import { session } from '../session';

type Filter = 'from' | 'to' | 'direction' | 'disposition' | 'missed' | 'agent' | 'number';

/** Local day `yyyy-mm-dd` → the instant it starts (`plusDays` 1: the next day, for an inclusive "to"). */
export function dayStart(day: string, plusDays = 0): string | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) return undefined;
  return new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + plusDays).toISOString();
}

/** History: every call I may see, filtered, newest first, "more" pages by keyset cursor. Filters live in the URL. */
export const historyPage: Page = async ({ main, query }) => {
  const { live } = session();
  const value = (k: Filter) => query.get(k) ?? '';
  const from = h('input', { type: 'date', name: 'from', id: 'f-from', value: value('from') });
  const to = h('input', { type: 'date', name: 'to', id: 'f-to', value: value('to') });
  const direction = h('select', { name: 'direction', id: 'f-direction' }, options(directionChoices(), value('direction')));
  const disposition = h(
    'select',
    { name: 'disposition', id: 'f-disposition' },
    options(
      [
        { value: '', label: t('filter.any') },
        { value: 'answered', label: t('disposition.answered') },
        { value: 'no-answer', label: t('disposition.no-answer') },
        { value: 'busy', label: t('disposition.busy') },
        { value: 'failed', label: t('disposition.failed') },
      ],
      value('disposition'),
    ),
  );
  const missed = h('input', { type: 'checkbox', name: 'missed', id: 'f-missed', checked: value('missed') === 'true' });
  const agents = h('datalist', { id: 'f-agents' });
  const seen = new Map<string, string>();
  for (const c of live.calls.values()) if (c.agent) seen.set(c.agent.extension, c.agent.name ?? '');
  agents.append(...[...seen].map(([ext, name]) => h('option', { value: ext }, name)));
  const agent = h('input', {
    name: 'agent',
    id: 'f-agent',
    list: 'f-agents',
    inputmode: 'numeric',
    placeholder: '101',
    value: value('agent'),
    size: 8,
  });
  const number = h('input', {
    type: 'search',
    name: 'number',
    id: 'f-number',
    placeholder: '050 111 22 33',
    value: value('number'),
    'data-search': true,
  });
  const field = (label: string, input: HTMLElement) => h('div', { class: 'field' }, h('label', { for: input.id }, label), input);

  const form = h(
    'form',
    { class: 'filters', 'data-testid': 'history-filters', role: 'search' },
    field(t('filter.from'), from),
    field(t('filter.to'), to),
    field(t('calls.direction'), direction),
    field(t('calls.result'), disposition),
    h('div', { class: 'field check' }, missed, h('label', { for: missed.id }, t('filter.missedOnly'))),
    field(t('filter.agent'), agent),
    field(t('calls.number'), number),
    agents,
    h(
      'div',
      { class: 'form-actions' },
      h('button', { type: 'submit', class: 'primary' }, t('filter.apply')),
      h('a', { href: '#/history', class: 'button-link' }, t('filter.reset')),
    ),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    location.hash = href('/history', {
      from: from.value,
      to: to.value,
      direction: direction.value,
      disposition: disposition.value,
      missed: missed.checked ? 'true' : '',
      agent: agent.value.trim(),
      number: number.value.trim(),
    });
  });

  const table = new CallTable({ emptyText: t('history.empty'), testId: 'history-calls' });
  const error = h('p', { class: 'error', role: 'alert' });
  const more = h('button', { type: 'button', hidden: true, 'data-testid': 'more' }, t('calls.more'));
  const filters: CallFilters = {
    from: dayStart(value('from')),
    to: dayStart(value('to'), 1),
    direction: value('direction') || undefined,
    disposition: value('disposition') || undefined,
    missed: value('missed') === 'true' ? true : undefined,
    agent: value('agent') || undefined,
    number: value('number') || undefined,
    limit: 50,
  };
  let cursor: string | undefined;
  const load = async () => {
    more.disabled = true;
    try {
      const page = await api.calls({ ...filters, cursor });
      for (const c of page.items) {
        live.apply(c);
        table.upsert(live.calls.get(c.id) ?? c, true);
      }
      cursor = page.nextCursor ?? undefined;
      more.hidden = !cursor;
      error.textContent = '';
    } catch (err) {
      error.textContent = err instanceof ApiError ? err.message : String(err);
    } finally {
      more.disabled = false;
    }
  };
  more.addEventListener('click', () => void load());

  main.replaceChildren(h('h1', {}, t('nav.history')), form, error, table.el, h('div', { class: 'more' }, more));
  const off = live.onCall((c) => {
    if (table.has(c.id)) table.upsert(c);
  });
  await load();
  return off;
};
