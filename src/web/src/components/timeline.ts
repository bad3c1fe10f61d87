import { api, ApiError, type CallFilters } from '../api';
import { h } from '../dom';
import { t } from '../i18n';
import { session } from '../session';
import { CallTable } from './call-table';

/** The calls of a contact or an organization, newest first, with "more"; rows follow live changes. */
export function callTimeline(filters: CallFilters): { el: HTMLElement; dispose(): void } {
  const { live } = session();
  const table = new CallTable({ emptyText: t('timeline.empty'), testId: 'timeline', omit: filters.contact ? ['contact'] : [] });
  const more = h('button', { type: 'button', hidden: true }, t('calls.more'));
  const error = h('p', { class: 'error', role: 'alert' });
  let cursor: string | undefined;
  const load = async () => {
    try {
      const page = await api.calls({ ...filters, limit: 25, cursor });
      for (const c of page.items) {
        live.apply(c);
        table.upsert(live.calls.get(c.id) ?? c, true);
      }
      cursor = page.nextCursor ?? undefined;
      more.hidden = !cursor;
    } catch (err) {
      error.textContent = err instanceof ApiError ? err.message : String(err);
    }
  };
  more.addEventListener('click', () => void load());
  void load();
  const off = live.onCall((c) => {
    const belongs =
      (filters.contact && c.contact?.id === filters.contact) || (filters.organization && c.organization?.id === filters.organization);
    if (table.has(c.id) || belongs) table.upsert(c);
  });
  return {
    el: h('section', { class: 'timeline' }, h('h2', {}, t('timeline.title')), error, table.el, h('div', { class: 'more' }, more)),
    dispose: off,
  };
}
