import { api } from '../api';
import { h, replace } from '../dom';
import { formatPhone, formatSeconds, formatWhen, secondsSince } from '../format';
import { t } from '../i18n';
import { callbackOutcomeId, outcomeLabel, ringsMe, session } from '../session';
import type { CallRecordDto, Contact } from '../types';
import { AnnotateForm } from './annotate';
import { callNumber, resultLabel, stateBadge, statusLine, tone } from './call-status';
import { callButton } from './click-to-call';
import { contactForm } from './contact-form';

/**
 * The screen-pop: who is calling (contact, organization, personal manager, the number they
 * dialled), their last calls and open callbacks, where the call is now, and the annotation form.
 * It follows the call live through `update()`.
 */
export class CallCard {
  readonly el: HTMLElement;
  private call: CallRecordDto;
  private readonly head = h('header', { class: 'card-head' });
  private readonly who = h('div', { class: 'card-who' });
  private readonly facts = h('dl', { class: 'card-facts' });
  private readonly history = h('div', { class: 'card-history' });
  private readonly annotate: AnnotateForm;
  /** a contact created from this card (the record itself is not re-matched: see the report) */
  private created: Contact | null = null;
  private contact: Contact | null = null;
  private showForm = false;
  private loadedFor = '';
  private loads = 0;

  constructor(
    call: CallRecordDto,
    private readonly o: { onDismiss?: (call: CallRecordDto) => void } = {},
  ) {
    this.call = call;
    this.annotate = new AnnotateForm(call, { compact: true });
    this.el = h(
      'article',
      { class: 'call-card', 'data-testid': 'call-card', 'data-call-id': call.id, 'data-pbx-call-id': call.pbxCallId, tabindex: -1 },
      this.head,
      h(
        'div',
        { class: 'card-body' },
        h('div', { class: 'card-main' }, this.who, this.facts, this.history),
        h('div', { class: 'card-side' }, this.annotate.el),
      ),
    );
    this.render();
  }

  update(call: CallRecordDto): void {
    this.call = call;
    this.annotate.update(call);
    this.render();
  }

  private render(): void {
    const { me } = session();
    const call = this.call;
    this.el.dataset.state = call.state;
    this.el.dataset.tone = tone(call);
    this.el.classList.toggle('rings-me', ringsMe(me, call));

    const since = call.state === 'talking' && call.answeredAt ? call.answeredAt : call.startedAt;
    replace(
      this.head,
      stateBadge(call),
      h('span', { class: 'card-status', 'data-testid': 'card-status' }, statusLine(me, call)),
      call.state !== 'ended'
        ? h('span', { class: 'timer', 'data-since': since, title: t('card.elapsed') }, formatSeconds(secondsSince(since)))
        : h('span', { class: 'muted' }, formatWhen(call.startedAt)),
      h('a', { href: `#/calls/${call.id}`, class: 'card-open' }, t('card.open')),
      call.state === 'ended' && this.o.onDismiss
        ? h(
            'button',
            {
              type: 'button',
              class: 'icon',
              title: t('card.dismiss'),
              'aria-label': t('card.dismiss'),
              onclick: () => this.o.onDismiss?.(call),
            },
            '×',
          )
        : null,
    );

    this.renderWho();
    this.renderFacts();
    const key = `${call.externalNumber ?? ''}|${call.contact?.id ?? this.created?.id ?? ''}`;
    if (key !== this.loadedFor) {
      this.loadedFor = key;
      void this.loadContext();
    }
  }

  private renderWho(): void {
    const call = this.call;
    const contact = call.contact ?? (this.created ? { id: this.created.id, name: this.created.name } : null);
    const organization = call.organization ?? this.created?.organization ?? null;
    const name: HTMLElement[] = [];
    if (contact)
      name.push(h('a', { href: `#/contacts/${contact.id}`, class: 'contact-name', 'data-testid': 'contact-name' }, contact.name));
    if (organization) name.push(h('a', { href: `#/organizations/${organization.id}`, class: 'org-name' }, organization.name));
    let unknown: HTMLElement | null = null;
    if (!contact && call.externalNumber) {
      if (call.contactMatch === 'ambiguous') {
        unknown = h(
          'p',
          { class: 'unknown' },
          t('card.ambiguous'),
          ' ',
          h('a', { href: `#/contacts?q=${encodeURIComponent(call.externalNumber)}` }, t('card.showContacts')),
        );
      } else if (this.showForm) {
        unknown = contactForm({
          number: call.externalNumber,
          onCreated: (c) => {
            this.created = c;
            this.showForm = false;
            this.render();
          },
          onCancel: () => {
            this.showForm = false;
            this.renderWho();
          },
        });
      } else {
        unknown = h(
          'p',
          { class: 'unknown' },
          h('span', {}, t('card.unknown')),
          ' — ',
          h(
            'button',
            {
              type: 'button',
              class: 'link',
              'data-testid': 'create-contact',
              onclick: () => {
                this.showForm = true;
                this.renderWho();
              },
            },
            t('card.createContact'),
          ),
        );
      }
    }
    replace(
      this.who,
      h(
        'div',
        { class: 'card-number-line' },
        h('span', { class: 'card-number', 'data-testid': 'card-number' }, callNumber(call)),
        call.state === 'ended' && call.externalNumber ? callButton(call.externalNumber, { label: t('dial.callBack') }) : null,
      ),
      name.length ? h('div', { class: 'card-names' }, name[0]!, name[1] ? [' · ', name[1]] : null) : null,
      unknown,
    );
  }

  private renderFacts(): void {
    const call = this.call;
    const rows: [string, string | HTMLElement][] = [];
    if (call.trackingNumber) rows.push([t('card.line'), formatPhone(call.trackingNumber)]);
    const owner = this.contact?.owner ?? this.created?.owner;
    if (owner) rows.push([t('card.manager'), owner.name]);
    if (call.state === 'ended') {
      rows.push([t('calls.wait'), formatSeconds(call.waitSeconds)]);
      if (call.answeredAt) rows.push([t('calls.talk'), formatSeconds(call.talkSeconds)]);
    }
    if (call.legs.length > 1 || call.state === 'ringing') {
      rows.push([t('card.phones'), call.legs.map((l) => `${l.extension}${l.answeredAt ? ' ✓' : ''}`).join(', ')]);
    }
    replace(
      this.facts,
      rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
    );
  }

  /** The contact's manager, the last calls with this number and the callbacks still open. */
  private async loadContext(): Promise<void> {
    const call = this.call;
    const seq = ++this.loads;
    const contactId = call.contact?.id ?? this.created?.id;
    const [contact, past] = await Promise.all([
      contactId ? api.contact(contactId).catch(() => null) : Promise.resolve(null),
      call.externalNumber ? api.calls({ number: call.externalNumber, limit: 6 }).catch(() => null) : Promise.resolve(null),
    ]);
    if (seq !== this.loads) return; // a newer load is on its way
    this.contact = contact;
    this.renderFacts();
    if (!past) {
      replace(this.history);
      return;
    }
    const others = past.items.filter((c) => c.id !== call.id).slice(0, 5);
    const callbackId = callbackOutcomeId(session().outcomes);
    const open = others.filter(
      (c) => callbackId && c.outcome?.id === callbackId && !others.some((later) => later.startedAt > c.startedAt && later.answeredAt),
    );
    replace(
      this.history,
      open.length
        ? h(
            'div',
            { class: 'callbacks', 'data-testid': 'open-callbacks' },
            h('strong', {}, t('card.openCallbacks', { n: open.length })),
            h(
              'ul',
              {},
              open.map((c) => h('li', {}, h('a', { href: `#/calls/${c.id}` }, formatWhen(c.startedAt)), c.topic ? ` — ${c.topic}` : '')),
            ),
          )
        : null,
      h('h4', {}, t('card.lastCalls')),
      others.length
        ? h(
            'ul',
            { class: 'last-calls', 'data-testid': 'last-calls' },
            others.map((c) =>
              h(
                'li',
                { class: `tone-${tone(c)}` },
                h('a', { href: `#/calls/${c.id}` }, formatWhen(c.startedAt)),
                h('span', { class: 'muted' }, ` ${t(`direction.${c.direction}`)} · ${resultLabel(c)}`),
                c.topic ? h('span', { class: 'topic' }, ` · ${c.topic}`) : null,
                c.outcome ? h('span', { class: 'outcome' }, outcomeLabel(c.outcome)) : null,
              ),
            ),
          )
        : h('p', { class: 'muted' }, t('card.firstCall')),
    );
  }
}
