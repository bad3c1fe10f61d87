import { api, ApiError } from '../api';
import { callButton } from '../components/click-to-call';
import { contactForm } from '../components/contact-form';
import { callTimeline } from '../components/timeline';
import { debounce, h, replace, thead } from '../dom';
import { formatDate, formatPhone } from '../format';
import { t } from '../i18n';
import { href, type Page } from '../router';
import type { Contact, Organization, Phone } from '../types';

const phoneList = (phones: Phone[], withCall: boolean) =>
  h(
    'ul',
    { class: 'phones' },
    phones.map((p) =>
      h(
        'li',
        {},
        h('span', { class: 'nowrap' }, formatPhone(p.e164)),
        p.label ? h('span', { class: 'muted' }, ` ${p.label}`) : null,
        withCall ? [' ', callButton(p.e164)] : null,
      ),
    ),
  );

/** Contacts and organizations: search by name or phone, create. */
export const contactsPage: Page = ({ main, query }) => {
  const tab = query.get('tab') === 'organizations' ? 'organizations' : 'contacts';
  const search = h('input', {
    type: 'search',
    id: 'c-search',
    placeholder: t('contacts.searchHint'),
    value: query.get('q') ?? '',
    'data-search': true,
    'data-testid': 'contact-search',
    'aria-label': t('contacts.search'),
  });
  const results = h('div', { class: 'results' });
  const formBox = h('div', {});
  const more = h('button', { type: 'button', hidden: true }, t('calls.more'));
  let offset = 0;

  const load = async (reset: boolean) => {
    if (reset) offset = 0;
    const q = search.value.trim() || undefined;
    history.replaceState(null, '', href('/contacts', { tab: tab === 'contacts' ? '' : tab, q }));
    try {
      if (tab === 'contacts') {
        const page = await api.contacts({ q, limit: 50, offset });
        renderContacts(page.items, reset);
        offset = page.nextOffset ?? offset;
        more.hidden = page.nextOffset === null;
      } else {
        const page = await api.organizations({ q, limit: 50, offset });
        renderOrganizations(page.items, reset);
        offset = page.nextOffset ?? offset;
        more.hidden = page.nextOffset === null;
      }
    } catch (err) {
      replace(results, h('p', { class: 'error' }, err instanceof ApiError ? err.message : String(err)));
    }
  };

  const tableOf = (heads: string[], rows: HTMLTableRowElement[], reset: boolean) => {
    let tbody = results.querySelector('tbody');
    if (reset || !tbody) {
      tbody = h('tbody');
      replace(results, h('table', { class: 'list' }, thead(heads), tbody));
    }
    tbody.append(...rows);
    if (!tbody.children.length) tbody.append(h('tr', {}, h('td', { colspan: heads.length }, t('contacts.none'))));
  };

  const renderContacts = (items: Contact[], reset: boolean) =>
    tableOf(
      [t('contact.name'), t('field.organization'), t('contact.phones'), t('card.manager')],
      items.map((c) =>
        h(
          'tr',
          { 'data-contact-id': c.id },
          h('td', {}, h('a', { href: `#/contacts/${c.id}` }, c.name)),
          h('td', {}, c.organization ? h('a', { href: `#/organizations/${c.organization.id}` }, c.organization.name) : ''),
          h('td', {}, phoneList(c.phones, false)),
          h('td', {}, c.owner?.name ?? ''),
        ),
      ),
      reset,
    );

  const renderOrganizations = (items: Organization[], reset: boolean) =>
    tableOf(
      [t('org.name'), t('contact.phones'), t('org.contacts')],
      items.map((o) =>
        h(
          'tr',
          {},
          h('td', {}, h('a', { href: `#/organizations/${o.id}` }, o.name)),
          h('td', {}, phoneList(o.phones, false)),
          h(
            'td',
            {},
            o.contacts.map((c, i) => [i ? ', ' : '', h('a', { href: `#/contacts/${c.id}` }, c.name)]),
          ),
        ),
      ),
      reset,
    );

  const newButton = h('button', { type: 'button', class: 'primary' }, tab === 'contacts' ? t('contact.new') : t('org.new'));
  newButton.addEventListener('click', () => {
    if (formBox.firstChild) return replace(formBox);
    replace(
      formBox,
      tab === 'contacts'
        ? h(
            'section',
            { class: 'panel' },
            contactForm({ onCreated: (c) => (location.hash = `#/contacts/${c.id}`), onCancel: () => replace(formBox) }),
          )
        : h('section', { class: 'panel' }, organizationForm()),
    );
  });
  search.addEventListener(
    'input',
    debounce(() => void load(true), 250),
  );
  more.addEventListener('click', () => void load(false));

  main.replaceChildren(
    h('h1', {}, t('nav.contacts')),
    h(
      'div',
      { class: 'tabs', role: 'tablist' },
      h(
        'a',
        {
          href: '#/contacts',
          role: 'tab',
          class: tab === 'contacts' ? 'active' : '',
          'aria-selected': tab === 'contacts' ? 'true' : 'false',
        },
        t('contacts.contacts'),
      ),
      h(
        'a',
        {
          href: '#/contacts?tab=organizations',
          role: 'tab',
          class: tab === 'organizations' ? 'active' : '',
          'aria-selected': tab === 'organizations' ? 'true' : 'false',
        },
        t('contacts.organizations'),
      ),
    ),
    h('div', { class: 'toolbar' }, search, newButton),
    formBox,
    results,
    h('div', { class: 'more' }, more),
  );
  void load(true);
};

function organizationForm(): HTMLFormElement {
  const name = h('input', { id: 'o-name', required: true, maxlength: 200 });
  const phone = h('input', { id: 'o-phone', type: 'tel', maxlength: 40 });
  const error = h('p', { class: 'error', role: 'alert' });
  const form = h(
    'form',
    { class: 'contact-form' },
    h(
      'div',
      { class: 'row' },
      h('div', { class: 'field' }, h('label', { for: name.id }, t('org.name')), name),
      h('div', { class: 'field' }, h('label', { for: phone.id }, t('contact.phoneOptional')), phone),
    ),
    error,
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'primary' }, t('org.create'))),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const org = await api.createOrganization({
        name: name.value.trim(),
        phones: phone.value.trim() ? [{ number: phone.value.trim() }] : [],
      });
      location.hash = `#/organizations/${org.id}`;
    } catch (err) {
      error.textContent = err instanceof ApiError ? err.message : String(err);
    }
  });
  queueMicrotask(() => name.focus());
  return form;
}

const notFound = (err: unknown) =>
  h('p', { class: 'error' }, err instanceof ApiError && err.status === 404 ? t('contacts.notFound') : String(err));

/** A contact: details, phones with click-to-call, the call timeline. */
export const contactPage: Page = async ({ main, params }) => {
  let c: Contact;
  try {
    c = await api.contact(params.id!);
  } catch (err) {
    main.replaceChildren(notFound(err));
    return;
  }
  const timeline = callTimeline({ contact: c.id });
  const facts: [string, Node | string | null][] = [
    [t('field.organization'), c.organization ? h('a', { href: `#/organizations/${c.organization.id}` }, c.organization.name) : null],
    [t('card.manager'), c.owner?.name ?? null],
    [t('contact.email'), c.email ? h('a', { href: `mailto:${c.email}` }, c.email) : null],
    [t('contact.birthday'), c.birthday ? formatDate(c.birthday) : null],
    [t('contact.tags'), c.tags.length ? c.tags.join(', ') : null],
    [t('annotate.notes'), c.notes],
  ];
  main.replaceChildren(
    h('p', { class: 'crumbs' }, h('a', { href: '#/contacts' }, t('nav.contacts')), ' / '),
    h('h1', { 'data-testid': 'contact-title' }, c.name),
    h(
      'div',
      { class: 'detail-layout' },
      h(
        'section',
        { class: 'panel' },
        h('h2', {}, t('contact.phones')),
        c.phones.length ? phoneList(c.phones, true) : h('p', { class: 'muted' }, t('contact.noPhones')),
        h(
          'dl',
          { class: 'facts-grid' },
          facts.filter(([, v]) => v).map(([k, v]) => h('div', {}, h('dt', {}, k), h('dd', {}, v))),
        ),
      ),
      timeline.el,
    ),
  );
  return timeline.dispose;
};

/** An organization: phones, its contacts, the call timeline. */
export const organizationPage: Page = async ({ main, params }) => {
  let o: Organization;
  try {
    o = await api.organization(params.id!);
  } catch (err) {
    main.replaceChildren(notFound(err));
    return;
  }
  const timeline = callTimeline({ organization: o.id });
  main.replaceChildren(
    h('p', { class: 'crumbs' }, h('a', { href: '#/contacts?tab=organizations' }, t('contacts.organizations')), ' / '),
    h('h1', {}, o.name),
    h(
      'div',
      { class: 'detail-layout' },
      h(
        'section',
        { class: 'panel' },
        h('h2', {}, t('contact.phones')),
        o.phones.length ? phoneList(o.phones, true) : h('p', { class: 'muted' }, t('contact.noPhones')),
        h('h2', {}, t('org.contacts')),
        o.contacts.length
          ? h(
              'ul',
              {},
              o.contacts.map((c) => h('li', {}, h('a', { href: `#/contacts/${c.id}` }, c.name))),
            )
          : h('p', { class: 'muted' }, t('contacts.none')),
        o.notes ? h('p', {}, o.notes) : null,
      ),
      timeline.el,
    ),
  );
  return timeline.dispose;
};
