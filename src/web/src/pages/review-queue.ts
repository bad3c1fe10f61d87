import { api, type QueueFilters } from '../api';
import { agentLabel, callNumber, directionChoices, directionIcon, tone } from '../components/call-status';
import { analyticsBadges, errorText, reviewStateBadge, scoreBadge } from '../components/review-parts';
import { h, options, replace } from '../dom';
import { formatSeconds, formatWhen } from '../format';
import { t } from '../i18n';
import { href, type Page } from '../router';
import { outcomeLabel, seesEverything, session } from '../session';
import type { QueueItem, RecordingInfo } from '../types';
import { dayStart } from './history';

/** Every filter of the queue as it appears in the URL (`#/review?agent=…&sample=10&seed=…`). */
type Key =
  | 'agent'
  | 'from'
  | 'to'
  | 'outcome'
  | 'direction'
  | 'minDuration'
  | 'maxDuration'
  | 'reviewed'
  | 'sample'
  | 'seed'
  | 'minTalkShare'
  | 'maxTalkShare'
  | 'minSilence'
  | 'minOvertalk'
  | 'minMonologue';

/** A number from the URL, or undefined; `scale` turns a percent into a share (0..1). */
function num(v: string, scale = 1): number | undefined {
  if (!v.trim()) return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n * scale : undefined;
}

const newSeed = () => Math.random().toString(36).slice(2, 8);

/** The agents to filter by: everyone with an extension (admins: the user list; supervisors: the report's agents). */
async function agentChoices(): Promise<{ value: string; label: string }[]> {
  const { me } = session();
  try {
    if (me.role === 'admin') {
      const users = (await api.users()).items.filter((u) => u.extensions.length);
      return users.map((u) => ({ value: u.id, label: `${u.name} (${u.extensions.join(', ')})` }));
    }
    const to = new Date();
    const from = new Date(to.getTime() - 365 * 86_400_000);
    const report = await api.agentReport(from.toISOString(), to.toISOString());
    return report.items.map((r) => ({ value: r.userId, label: r.extensions.length ? `${r.name} (${r.extensions.join(', ')})` : r.name }));
  } catch {
    return [];
  }
}

/**
 * The review queue (supervisors): ended calls with a stored recording, filtered by agent, period,
 * outcome, direction, talk duration and the talk analytics; "not yet reviewed" by default; an
 * optional random sample of N % per agent (the seed keeps it stable until "reshuffle").
 */
export const reviewQueuePage: Page = async ({ main, query }) => {
  const { me } = session();
  if (!seesEverything(me)) {
    main.replaceChildren(h('p', { class: 'error' }, t('error.forbidden')));
    return;
  }
  const value = (k: Key) => query.get(k) ?? '';
  const field = (label: string, input: HTMLElement, cls = '') =>
    h('div', { class: `field ${cls}` }, h('label', { for: input.id }, label), input);
  const numInput = (name: Key, attrs: Record<string, string | number> = {}) =>
    h('input', { type: 'number', name, id: `q-${name}`, value: value(name), class: 'narrow-input', min: 0, ...attrs });

  const agent = h(
    'select',
    { name: 'agent', id: 'q-agent', 'data-testid': 'queue-agent' },
    options([{ value: '', label: t('filter.any') }]),
  );
  const from = h('input', { type: 'date', name: 'from', id: 'q-from', value: value('from') });
  const to = h('input', { type: 'date', name: 'to', id: 'q-to', value: value('to') });
  const outcome = h(
    'select',
    { name: 'outcome', id: 'q-outcome' },
    options(
      [{ value: '', label: t('filter.any') }, ...session().outcomes.map((o) => ({ value: o.id, label: outcomeLabel(o) }))],
      value('outcome'),
    ),
  );
  const direction = h('select', { name: 'direction', id: 'q-direction' }, options(directionChoices(), value('direction')));
  const minDuration = numInput('minDuration', { placeholder: '0' });
  const maxDuration = numInput('maxDuration', { placeholder: '∞' });
  // not yet reviewed: on unless the URL says reviewed=all
  const notReviewed = h('input', {
    type: 'checkbox',
    id: 'q-reviewed',
    'data-testid': 'queue-not-reviewed',
    checked: value('reviewed') !== 'all',
  });
  const sample = numInput('sample', { min: 1, max: 100, placeholder: '100' });
  const minTalkShare = numInput('minTalkShare', { max: 100, placeholder: '0' });
  const maxTalkShare = numInput('maxTalkShare', { max: 100, placeholder: '100' });
  const minSilence = numInput('minSilence', { max: 100, placeholder: '0' });
  const minOvertalk = numInput('minOvertalk', { max: 100, placeholder: '0' });
  const minMonologue = numInput('minMonologue', { placeholder: '0' });
  const seed = value('seed');

  const go = (reseed = false) => {
    const pct = sample.value.trim();
    location.hash = href('/review', {
      agent: agent.value,
      from: from.value,
      to: to.value,
      outcome: outcome.value,
      direction: direction.value,
      minDuration: minDuration.value,
      maxDuration: maxDuration.value,
      reviewed: notReviewed.checked ? '' : 'all',
      sample: pct,
      seed: pct ? (reseed || !seed ? newSeed() : seed) : '',
      minTalkShare: minTalkShare.value,
      maxTalkShare: maxTalkShare.value,
      minSilence: minSilence.value,
      minOvertalk: minOvertalk.value,
      minMonologue: minMonologue.value,
    });
  };
  const reshuffle = h(
    'button',
    { type: 'button', 'data-testid': 'reshuffle', title: t('queue.reshuffleHint'), disabled: !value('sample') },
    t('queue.reshuffle'),
  );
  reshuffle.addEventListener('click', () => go(true));
  sample.addEventListener('input', () => (reshuffle.disabled = !sample.value.trim()));

  const range = (label: string, a: HTMLElement, b: HTMLElement, unit: string) =>
    h(
      'div',
      { class: 'field range' },
      h('label', { for: a.id }, label),
      h('span', { class: 'range-inputs' }, a, '–', b, h('span', { class: 'muted' }, unit)),
    );
  const analyticsOpen = ['minTalkShare', 'maxTalkShare', 'minSilence', 'minOvertalk', 'minMonologue'].some((k) => value(k as Key));
  const form = h(
    'form',
    { class: 'filters queue-filters', 'data-testid': 'queue-filters', role: 'search' },
    field(t('filter.agentName'), agent),
    field(t('filter.from'), from),
    field(t('filter.to'), to),
    field(t('annotate.outcome'), outcome),
    field(t('calls.direction'), direction),
    range(t('queue.talkDuration'), minDuration, maxDuration, t('unit.seconds')),
    h('div', { class: 'field check' }, notReviewed, h('label', { for: notReviewed.id }, t('queue.notReviewed'))),
    h(
      'div',
      { class: 'field' },
      h('label', { for: sample.id }, t('queue.sample')),
      h('span', { class: 'range-inputs' }, sample, h('span', { class: 'muted' }, t('queue.perAgent')), reshuffle),
    ),
    h(
      'details',
      { class: 'analytics-filters', open: analyticsOpen },
      h('summary', {}, t('queue.analyticsFilters')),
      h(
        'div',
        { class: 'filters-row' },
        range(t('queue.talkShare'), minTalkShare, maxTalkShare, '%'),
        field(t('queue.minSilence'), minSilence),
        field(t('queue.minOvertalk'), minOvertalk),
        field(t('queue.minMonologue'), minMonologue),
      ),
    ),
    h(
      'div',
      { class: 'form-actions' },
      h('button', { type: 'submit', class: 'primary' }, t('filter.apply')),
      h('a', { href: '#/review', class: 'button-link' }, t('filter.reset')),
    ),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    go();
  });

  const filters: QueueFilters = {
    agent: value('agent') || undefined,
    from: dayStart(value('from')),
    to: dayStart(value('to'), 1),
    outcome: value('outcome') || undefined,
    direction: value('direction') || undefined,
    minDuration: num(value('minDuration')),
    maxDuration: num(value('maxDuration')),
    reviewed: value('reviewed') === 'all' ? undefined : 'false',
    sample: num(value('sample')),
    seed: value('sample') ? seed || undefined : undefined,
    minTalkShare: num(value('minTalkShare'), 0.01),
    maxTalkShare: num(value('maxTalkShare'), 0.01),
    minSilence: num(value('minSilence'), 0.01),
    minOvertalk: num(value('minOvertalk'), 0.01),
    minMonologue: num(value('minMonologue')),
    limit: 50,
  };

  const body = h('tbody');
  const empty = h('tr', { class: 'empty' }, h('td', { colspan: 9 }, t('queue.empty')));
  const table = h(
    'table',
    { class: 'calls queue', 'data-testid': 'review-queue' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { class: 'narrow' }),
        [
          t('calls.when'),
          t('calls.agent'),
          t('calls.number'),
          t('calls.talk'),
          t('annotate.outcome'),
          t('queue.analytics'),
          t('queue.review'),
        ].map((x) => h('th', {}, x)),
        h('th', {}),
      ),
    ),
    body,
  );
  body.append(h('tr', { class: 'loading' }, h('td', { colspan: 9 }, t('form.loading'))));
  const count = h('span', { class: 'count', 'data-testid': 'queue-count' });
  const error = h('p', { class: 'error', role: 'alert' });
  const more = h('button', { type: 'button', hidden: true, 'data-testid': 'more' }, t('calls.more'));
  let shown = 0;

  const row = ({ call: c, review }: QueueItem) => {
    const rec = c.recording as RecordingInfo | null;
    const open = `#/review/${c.id}`;
    return h(
      'tr',
      {
        class: `tone-${tone(c)}`,
        'data-call-id': c.id,
        'data-pbx-call-id': c.pbxCallId,
        onclick: (e: Event) => {
          if (!(e.target as HTMLElement).closest('a,button')) location.hash = open;
        },
      },
      h('td', { class: 'narrow' }, directionIcon(c)),
      h('td', { class: 'nowrap' }, h('a', { href: open }, formatWhen(c.startedAt))),
      h('td', {}, agentLabel(c)),
      h('td', {}, h('span', { class: 'nowrap' }, callNumber(c)), c.contact ? h('div', { class: 'muted' }, c.contact.name) : null),
      h('td', { class: 'num' }, formatSeconds(c.talkSeconds)),
      h('td', {}, c.outcome ? h('span', { class: 'outcome' }, outcomeLabel(c.outcome)) : null),
      h('td', {}, analyticsBadges(rec)),
      h(
        'td',
        { class: 'nowrap' },
        review?.state === 'submitted' ? scoreBadge(review.score) : reviewStateBadge(review?.state ?? null),
        review?.reviewerName ? h('div', { class: 'muted small' }, review.reviewerName) : null,
      ),
      h(
        'td',
        { class: 'actions' },
        h('a', { href: open, class: 'button-link', 'data-testid': 'open-review' }, review ? t('review.open') : t('queue.startReview')),
      ),
    );
  };

  let cursor: string | undefined;
  const load = async () => {
    more.disabled = true;
    try {
      const page = await api.reviewQueue({ ...filters, cursor });
      body.querySelector('tr.loading')?.remove();
      empty.remove();
      body.append(...page.items.map(row));
      shown += page.items.length;
      if (!shown) body.append(empty);
      count.textContent = shown ? String(shown) + (page.nextCursor ? '+' : '') : '';
      cursor = page.nextCursor ?? undefined;
      more.hidden = !cursor;
      error.textContent = '';
    } catch (err) {
      error.textContent = errorText(err);
    } finally {
      more.disabled = false;
    }
  };
  more.addEventListener('click', () => void load());

  main.replaceChildren(
    h('div', { class: 'page-head' }, h('h1', {}, t('nav.review'), ' ', count), h('a', { href: '#/reviews' }, t('queue.submittedList'))),
    form,
    error,
    table,
    h('div', { class: 'more' }, more),
  );
  const [choices] = await Promise.all([agentChoices(), load()]);
  replace(agent, ...options([{ value: '', label: t('filter.any') }, ...choices], value('agent')));
};
