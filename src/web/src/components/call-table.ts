import { outcomeLabel } from '../session';
import { h } from '../dom';
import { formatSeconds, formatWhen } from '../format';
import { t } from '../i18n';
import type { CallRecordDto } from '../types';
import { agentLabel, callNumber, directionIcon, stateBadge, tone } from './call-status';

const COLUMNS = ['when', 'number', 'contact', 'agent', 'result', 'wait', 'talk', 'topic'] as const;
type Column = (typeof COLUMNS)[number];

/** A table of calls, newest first, keyed by id: `upsert()` replaces a row in place when a call changes. */
export class CallTable {
  readonly el: HTMLTableElement;
  private readonly body = h('tbody');
  private readonly rows = new Map<string, { row: HTMLTableRowElement; startedAt: string }>();
  private readonly empty: HTMLTableRowElement;

  private readonly omit: Set<Column>;

  /** `omit`: columns that say nothing on this page (the contact, on the contact's own page). */
  constructor(o: { emptyText: string; testId?: string; omit?: Column[] }) {
    this.omit = new Set(o.omit ?? []);
    const cols = COLUMNS.filter((c) => !this.omit.has(c));
    this.empty = h('tr', { class: 'empty' }, h('td', { colspan: cols.length + 1 }, o.emptyText));
    this.el = h(
      'table',
      { class: 'calls', 'data-testid': o.testId ?? 'calls' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', { class: 'narrow' }),
          cols.map((k) => h('th', {}, t(`calls.${k}`))),
        ),
      ),
      this.body,
    );
    this.body.append(this.empty);
  }

  get size(): number {
    return this.rows.size;
  }

  has(id: string): boolean {
    return this.rows.has(id);
  }

  clear(): void {
    this.rows.clear();
    this.body.replaceChildren(this.empty);
  }

  /** Adds or replaces; `append` adds at the end (the next page) instead of in date order. */
  upsert(call: CallRecordDto, append = false): void {
    const row = callRow(call, this.omit);
    const existing = this.rows.get(call.id);
    this.empty.remove();
    if (existing) {
      existing.row.replaceWith(row);
    } else if (append) {
      this.body.append(row);
    } else {
      const next = [...this.rows.values()].find((r) => r.startedAt < call.startedAt);
      this.body.insertBefore(row, next?.row ?? null);
    }
    this.rows.set(call.id, { row, startedAt: call.startedAt });
  }

  remove(id: string): void {
    this.rows.get(id)?.row.remove();
    this.rows.delete(id);
    if (!this.rows.size) this.body.append(this.empty);
  }
}

function callRow(c: CallRecordDto, omit: Set<Column>): HTMLTableRowElement {
  const open = () => (location.hash = `#/calls/${c.id}`);
  return h(
    'tr',
    {
      class: `tone-${tone(c)}`,
      'data-call-id': c.id,
      'data-pbx-call-id': c.pbxCallId,
      onclick: (e: Event) => {
        if (!(e.target as HTMLElement).closest('a,button')) open();
      },
    },
    h('td', { class: 'narrow' }, directionIcon(c)),
    h('td', {}, h('a', { href: `#/calls/${c.id}` }, formatWhen(c.startedAt))),
    h('td', { class: 'nowrap' }, callNumber(c)),
    omit.has('contact')
      ? null
      : h(
          'td',
          {},
          c.contact ? h('a', { href: `#/contacts/${c.contact.id}` }, c.contact.name) : null,
          c.contact && c.organization ? ' · ' : null,
          c.organization ? h('a', { href: `#/organizations/${c.organization.id}`, class: 'muted' }, c.organization.name) : null,
        ),
    omit.has('agent') ? null : h('td', {}, agentLabel(c)),
    h('td', {}, stateBadge(c)),
    h('td', { class: 'num' }, c.state === 'ringing' ? '' : formatSeconds(c.waitSeconds)),
    h('td', { class: 'num' }, c.answeredAt ? formatSeconds(c.talkSeconds) : ''),
    h(
      'td',
      { class: 'topic-cell' },
      c.topic ? h('span', { 'data-testid': 'row-topic' }, c.topic) : null,
      c.outcome ? h('span', { class: 'outcome', 'data-testid': 'row-outcome' }, outcomeLabel(c.outcome)) : null,
    ),
  );
}
