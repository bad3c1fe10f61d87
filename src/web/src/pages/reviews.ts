import { api } from '../api';
import { agentLabel, callNumber, directionIcon } from '../components/call-status';
import { errorText, scoreBadge } from '../components/review-parts';
import { h } from '../dom';
import { formatSeconds, formatWhen } from '../format';
import { t } from '../i18n';
import type { Page } from '../router';
import { seesEverything, session } from '../session';
import type { CallRecordDto, ReviewDto } from '../types';

/** Submitted reviews I may see, newest first: a manager's own calls; everyone's for supervisors. */
export const reviewsPage: Page = async ({ main }) => {
  const { me } = session();
  const body = h('tbody');
  const empty = h('tr', { class: 'empty' }, h('td', { colspan: 9 }, t('reviews.empty')));
  body.append(h('tr', { class: 'loading' }, h('td', { colspan: 9 }, t('form.loading'))));
  const error = h('p', { class: 'error', role: 'alert' });
  const more = h('button', { type: 'button', hidden: true, 'data-testid': 'more' }, t('calls.more'));
  const row = (r: ReviewDto & { call: CallRecordDto }) => {
    const c = r.call;
    const open = `#/review/${c.id}`;
    const comments = r.comments.length;
    return h(
      'tr',
      {
        'data-review-id': r.id,
        'data-call-id': c.id,
        onclick: (e: Event) => {
          if (!(e.target as HTMLElement).closest('a,button')) location.hash = open;
        },
      },
      h('td', { class: 'narrow' }, directionIcon(c)),
      h('td', { class: 'nowrap' }, h('a', { href: `#/calls/${c.id}` }, formatWhen(c.startedAt))),
      h('td', {}, h('span', { class: 'nowrap' }, callNumber(c)), c.contact ? h('div', { class: 'muted' }, c.contact.name) : null),
      seesEverything(me) ? h('td', {}, agentLabel(c)) : null,
      h('td', { class: 'num' }, formatSeconds(c.talkSeconds)),
      h('td', {}, scoreBadge(r.score)),
      h('td', {}, r.reviewer?.name ?? '', h('div', { class: 'muted small' }, r.submittedAt ? formatWhen(r.submittedAt) : '')),
      h('td', { class: 'num' }, comments || ''),
      h('td', { class: 'actions' }, h('a', { href: open, class: 'button-link', 'data-testid': 'open-review' }, t('review.open'))),
    );
  };
  let cursor: string | undefined;
  let shown = 0;
  const load = async () => {
    more.disabled = true;
    try {
      const page = await api.reviews(cursor);
      body.querySelector('tr.loading')?.remove();
      empty.remove();
      body.append(...page.items.map(row));
      shown += page.items.length;
      if (!shown) body.append(empty);
      cursor = page.nextCursor ?? undefined;
      more.hidden = !cursor;
    } catch (err) {
      error.textContent = errorText(err);
    } finally {
      more.disabled = false;
    }
  };
  more.addEventListener('click', () => void load());
  main.replaceChildren(
    h('h1', {}, t('nav.reviews')),
    h('p', { class: 'muted' }, seesEverything(me) ? t('reviews.hintAll') : t('reviews.hintMine')),
    error,
    h(
      'table',
      { class: 'calls', 'data-testid': 'reviews' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', { class: 'narrow' }),
          [
            t('calls.when'),
            t('calls.number'),
            seesEverything(me) ? t('calls.agent') : null,
            t('calls.talk'),
            t('review.score'),
            t('review.reviewer'),
            t('review.comments'),
          ]
            .filter((x): x is string => x !== null)
            .map((x) => h('th', {}, x)),
          h('th', {}),
        ),
      ),
      body,
    ),
    h('div', { class: 'more' }, more),
  );
  await load();
};
