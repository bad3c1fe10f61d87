import { api, ApiError } from '../api';
import { h } from '../dom';
import { formatPhone } from '../format';
import { t } from '../i18n';
import type { Contact } from '../types';

/**
 * One step: a contact with this number, and optionally its organization (an existing one of the
 * same name is reused, else it is created first: POST /api/organizations, then POST /api/contacts).
 */
export function contactForm(o: { number?: string | null; onCreated: (c: Contact) => void; onCancel?: () => void }): HTMLFormElement {
  const uid = Math.random().toString(36).slice(2, 8);
  const field = (name: string, label: string, input: HTMLInputElement) => {
    input.id = `cf-${uid}-${name}`;
    input.name = name;
    return h('div', { class: 'field' }, h('label', { for: input.id }, label), input);
  };
  const firstName = h('input', { required: true, maxlength: 100, autocomplete: 'off' });
  const lastName = h('input', { maxlength: 100, autocomplete: 'off' });
  const org = h('input', { maxlength: 200, autocomplete: 'off', list: `cf-${uid}-orgs` });
  const orgList = h('datalist', { id: `cf-${uid}-orgs` });
  const phone = h('input', { type: 'tel', required: true, maxlength: 40, value: o.number ?? '' });
  const error = h('p', { class: 'error', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'primary' }, t('contact.create'));
  org.addEventListener('input', () => {
    const q = org.value.trim();
    if (q.length < 2) return;
    api.organizations({ q, limit: 8 }).then(
      (page) => orgList.replaceChildren(...page.items.map((x) => h('option', { value: x.name }))),
      () => undefined,
    );
  });
  const form = h(
    'form',
    { class: 'contact-form', 'data-testid': 'contact-form' },
    h('div', { class: 'row' }, field('firstName', t('contact.firstName'), firstName), field('lastName', t('contact.lastName'), lastName)),
    h(
      'div',
      { class: 'row' },
      field('organization', t('contact.organizationOptional'), org),
      o.number ? null : field('phone', t('contact.phone'), phone),
    ),
    o.number ? h('p', { class: 'muted' }, t('contact.withNumber', { number: formatPhone(o.number) })) : null,
    orgList,
    error,
    h(
      'div',
      { class: 'form-actions' },
      submit,
      o.onCancel ? h('button', { type: 'button', class: 'link', onclick: () => o.onCancel?.() }, t('form.cancel')) : null,
    ),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    submit.disabled = true;
    error.textContent = '';
    try {
      let organizationId: string | null = null;
      const orgName = org.value.trim();
      if (orgName) {
        const found = await api.organizations({ q: orgName, limit: 20 });
        const same = found.items.find((x) => x.name.trim().toLowerCase() === orgName.toLowerCase());
        organizationId = same ? same.id : (await api.createOrganization({ name: orgName })).id;
      }
      const contact = await api.createContact({
        firstName: firstName.value.trim(),
        lastName: lastName.value.trim() || null,
        organizationId,
        phones: [{ number: (o.number ?? phone.value).trim() }],
      });
      o.onCreated(contact);
    } catch (err) {
      error.textContent = err instanceof ApiError ? err.message : String(err);
    } finally {
      submit.disabled = false;
    }
  });
  queueMicrotask(() => firstName.focus());
  return form;
}
