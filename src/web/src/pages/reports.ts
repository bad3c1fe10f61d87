import { api, query } from '../api';
import { errorText, scoreBadge } from '../components/review-parts';
import { h } from '../dom';
import { dateInputValue, formatSeconds } from '../format';
import { locale, t } from '../i18n';
import { href, type Page } from '../router';
import { seesEverything, session } from '../session';
import type { AgentReport, AgentReportRow } from '../types';
import { dayStart } from './history';

const SVG_NS = 'http://www.w3.org/2000/svg';

/** `svg('rect', { x: 1 })`: the SVG twin of `h()` (attributes only, no listeners). */
function svg(tag: string, attrs: Record<string, string | number> = {}, ...children: (Node | string | null)[]): SVGElement {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) if (c !== null) el.append(c);
  return el;
}
const title = (text: string) => svg('title', {}, text);

function legend(items: [cls: string, label: string][]): HTMLElement {
  return h(
    'p',
    { class: 'legend' },
    items.map(([cls, label]) => h('span', {}, h('span', { class: `swatch ${cls}` }), label)),
  );
}

/** One horizontal bar per agent: answered and missed, side by side on one scale. */
function agentsChart(rows: AgentReportRow[]): HTMLElement {
  const shown = rows.filter((r) => r.answered || r.missed);
  if (!shown.length) return h('p', { class: 'muted' }, t('reports.noData'));
  const max = Math.max(...shown.map((r) => r.answered + r.missed), 1);
  const W = 640;
  const labelW = 170;
  const rowH = 26;
  const barW = W - labelW - 40;
  const chart = svg(
    'svg',
    {
      viewBox: `0 0 ${W} ${shown.length * rowH + 8}`,
      class: 'chart',
      role: 'img',
      'aria-label': t('reports.chartAgents'),
      'data-testid': 'chart-agents',
    },
    ...shown.map((r, i) => {
      const y = i * rowH + 4;
      const a = (r.answered / max) * barW;
      const m = (r.missed / max) * barW;
      const name = r.name.length > 22 ? `${r.name.slice(0, 21)}…` : r.name;
      return svg(
        'g',
        {},
        svg('text', { x: labelW - 8, y: y + 15, 'text-anchor': 'end', class: 'chart-label' }, name),
        svg(
          'rect',
          { x: labelW, y, width: Math.max(a, 0), height: rowH - 8, class: 'bar answered' },
          title(`${t('reports.answered')}: ${r.answered}`),
        ),
        svg(
          'rect',
          { x: labelW + a, y, width: Math.max(m, 0), height: rowH - 8, class: 'bar missed' },
          title(`${t('reports.missed')}: ${r.missed}`),
        ),
        svg('text', { x: labelW + a + m + 6, y: y + 14, class: 'chart-value' }, `${r.answered} / ${r.missed}`),
      );
    }),
  );
  return h(
    'div',
    {},
    chart,
    legend([
      ['answered', t('reports.answered')],
      ['missed', t('reports.missed')],
    ]),
  );
}

/** Per day: calls (the outline), answered and missed (filled) as grouped bars. */
function daysChart(days: AgentReport['days']): HTMLElement {
  if (!days.length) return h('p', { class: 'muted' }, t('reports.noData'));
  const W = 640;
  const H = 200;
  const left = 30;
  const bottom = 22;
  const plotH = H - bottom - 8;
  const max = Math.max(...days.map((d) => d.calls), 1);
  const step = (W - left - 4) / days.length;
  const bw = Math.max(2, Math.min(14, (step - 6) / 3));
  const y = (v: number) => 8 + plotH - (v / max) * plotH;
  const ticks = [0, Math.ceil(max / 2), max].filter((v, i, a) => a.indexOf(v) === i);
  const labelEvery = Math.ceil(days.length / 12);
  const fmt = (iso: string) => `${iso.slice(8, 10)}.${iso.slice(5, 7)}`;
  const chart = svg(
    'svg',
    { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': t('reports.chartDays'), 'data-testid': 'chart-days' },
    ...ticks.map((v) =>
      svg(
        'g',
        {},
        svg('line', { x1: left, x2: W, y1: y(v), y2: y(v), class: 'grid' }),
        svg('text', { x: left - 4, y: y(v) + 4, 'text-anchor': 'end', class: 'chart-value' }, String(v)),
      ),
    ),
    ...days.map((d, i) => {
      const x0 = left + i * step + (step - bw * 3) / 2;
      const bar = (n: number, k: number, cls: string, label: string) =>
        svg(
          'rect',
          { x: x0 + k * bw, y: y(n), width: bw - 1, height: Math.max(0, y(0) - y(n)), class: `bar ${cls}` },
          title(`${fmt(d.date)} ${label}: ${n}`),
        );
      return svg(
        'g',
        {},
        bar(d.calls, 0, 'calls', t('reports.calls')),
        bar(d.answered, 1, 'answered', t('reports.answered')),
        bar(d.missed, 2, 'missed', t('reports.missed')),
        i % labelEvery === 0
          ? svg('text', { x: left + i * step + step / 2, y: H - 6, 'text-anchor': 'middle', class: 'chart-label' }, fmt(d.date))
          : null,
      );
    }),
  );
  return h(
    'div',
    {},
    chart,
    legend([
      ['calls', t('reports.calls')],
      ['answered', t('reports.answered')],
      ['missed', t('reports.missed')],
    ]),
  );
}

/** Supervisor reports: per agent and period, two charts, CSV export. The period lives in the URL. */
export const reportsPage: Page = async ({ main, query: q }) => {
  const { me } = session();
  if (!seesEverything(me)) {
    main.replaceChildren(h('p', { class: 'error' }, t('error.forbidden')));
    return;
  }
  const today = new Date();
  const weekAgo = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 6);
  const fromDay = q.get('from') || dateInputValue(weekAgo);
  const toDay = q.get('to') || dateInputValue(today);
  const from = h('input', { type: 'date', id: 'r-from', name: 'from', value: fromDay, required: true });
  const to = h('input', { type: 'date', id: 'r-to', name: 'to', value: toDay, required: true });
  const preset = (days: number, label: string) =>
    h(
      'button',
      {
        type: 'button',
        class: 'link',
        onclick: () => {
          const start = new Date(today.getFullYear(), today.getMonth(), today.getDate() - (days - 1));
          location.hash = href('/reports', { from: dateInputValue(start), to: dateInputValue(today) });
        },
      },
      label,
    );
  const period = { from: dayStart(fromDay) ?? '', to: dayStart(toDay, 1) ?? '' };
  const csv = h(
    'a',
    {
      href: `/api/reports/agents.csv${query({ ...period, lang: locale() })}`,
      download: `calltrack-agents-${fromDay}-${toDay}.csv`,
      class: 'button-link',
      'data-testid': 'report-csv',
    },
    '⬇ ',
    t('reports.csv'),
  );
  const form = h(
    'form',
    { class: 'filters', role: 'search', 'data-testid': 'report-period' },
    h('div', { class: 'field' }, h('label', { for: from.id }, t('filter.from')), from),
    h('div', { class: 'field' }, h('label', { for: to.id }, t('filter.to')), to),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'primary' }, t('reports.show'))),
    h('div', { class: 'form-actions' }, preset(7, t('reports.last7')), preset(30, t('reports.last30'))),
    h('span', { class: 'spacer' }),
    csv,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    location.hash = href('/reports', { from: from.value, to: to.value });
  });
  const out = h('div', {}, h('p', { class: 'muted' }, t('form.loading')));
  main.replaceChildren(h('h1', {}, t('nav.reports')), form, out);

  let report: AgentReport;
  try {
    report = await api.agentReport(period.from, period.to);
  } catch (err) {
    out.replaceChildren(h('p', { class: 'error' }, errorText(err)));
    return;
  }
  const sum = (k: 'calls' | 'answered' | 'missed' | 'reviews') => report.items.reduce((a, r) => a + r[k], 0);
  const cols = [
    t('reports.agent'),
    t('user.extensions'),
    t('reports.calls'),
    t('reports.answered'),
    t('reports.missed'),
    t('reports.avgWait'),
    t('reports.avgTalk'),
    t('reports.reviews'),
    t('reports.avgScore'),
  ];
  out.replaceChildren(
    h(
      'div',
      { class: 'stats' },
      [
        [sum('calls'), t('reports.calls'), ''],
        [sum('answered'), t('reports.answered'), 'talking'],
        [sum('missed'), t('reports.missed'), 'missed'],
        [sum('reviews'), t('reports.reviews'), ''],
      ].map(([n, label, cls]) =>
        h('div', { class: `stat ${cls}` }, h('span', { class: 'stat-n' }, n), h('span', { class: 'stat-label' }, label)),
      ),
    ),
    h(
      'table',
      { class: 'list report', 'data-testid': 'report-agents' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          cols.map((c, i) => h('th', { class: i >= 2 ? 'num' : '' }, c)),
        ),
      ),
      h(
        'tbody',
        {},
        report.items.length
          ? report.items.map((r) =>
              h(
                'tr',
                { 'data-user-id': r.userId },
                h('td', {}, r.name),
                h('td', {}, r.extensions.join(', ')),
                h('td', { class: 'num' }, r.calls),
                h('td', { class: 'num' }, r.answered),
                h('td', { class: `num${r.missed ? ' missed' : ''}` }, r.missed),
                h('td', { class: 'num' }, formatSeconds(r.avgWaitSeconds) || '—'),
                h('td', { class: 'num' }, formatSeconds(r.avgTalkSeconds) || '—'),
                h('td', { class: 'num' }, r.reviews),
                h('td', { class: 'num' }, r.avgScore === null ? '—' : scoreBadge(r.avgScore, 'avg-score')),
              ),
            )
          : h('tr', { class: 'empty' }, h('td', { colspan: cols.length }, t('reports.noData'))),
      ),
    ),
    h(
      'div',
      { class: 'charts' },
      h('section', { class: 'panel' }, h('h2', {}, t('reports.chartAgents')), agentsChart(report.items)),
      h('section', { class: 'panel' }, h('h2', {}, t('reports.chartDays')), daysChart(report.days)),
    ),
  );
};
