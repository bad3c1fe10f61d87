import { api, ApiError, type UserInput } from '../api';
import { toast } from '../components/toast';
import { h, options, replace, thead } from '../dom';
import { formatWhen } from '../format';
import { t, type MessageKey } from '../i18n';
import type { Page } from '../router';
import { refreshOutcomes, session } from '../session';
import type { ApiToken, AuditEntry, CriterionKind, Outcome, ReviewCriterion, User } from '../types';

const errorText = (err: unknown) => (err instanceof ApiError ? err.message : String(err));
const ROLES = ['manager', 'supervisor', 'admin'] as const;
const TABS = ['users', 'outcomes', 'criteria', 'tokens', 'audit'] as const;

/** Admin: users with extensions, call outcomes, review criteria, API tokens, the audit log. */
export const adminPage: Page = async ({ main, params, query }) => {
  const { me } = session();
  if (me.role !== 'admin') {
    main.replaceChildren(h('p', { class: 'error' }, t('error.forbidden')));
    return;
  }
  const tab = TABS.find((x) => x === params.tab) ?? 'users';
  const body = h('div', {});
  main.replaceChildren(
    h('h1', {}, t('nav.admin')),
    h(
      'div',
      { class: 'tabs', role: 'tablist' },
      TABS.map((x) =>
        h(
          'a',
          { href: `#/admin/${x}`, role: 'tab', class: x === tab ? 'active' : '', 'aria-selected': x === tab ? 'true' : 'false' },
          t(`admin.${x}`),
        ),
      ),
    ),
    body,
  );
  if (tab === 'users') await usersTab(body);
  else if (tab === 'outcomes') await outcomesTab(body);
  else if (tab === 'criteria') await criteriaTab(body);
  else if (tab === 'audit') await auditTab(body, query.get('action') ?? undefined);
  else await tokensTab(body);
};

// ------------------------------------------------------------------------------------------------
// Users

function userForm(user: User | null, onSaved: () => void, onCancel: () => void): HTMLFormElement {
  const uid = user?.id.slice(0, 6) ?? 'new';
  const input = (name: string, attrs: Record<string, string | boolean | number>) => h('input', { id: `u-${uid}-${name}`, name, ...attrs });
  const name = input('name', { required: true, maxlength: 200, value: user?.name ?? '' });
  const email = input('email', { type: 'email', required: true, maxlength: 254, value: user?.email ?? '' });
  const password = input('password', { type: 'password', minlength: 8, autocomplete: 'new-password', required: !user });
  const role = h(
    'select',
    { id: `u-${uid}-role`, name: 'role' },
    options(
      ROLES.map((r) => ({ value: r, label: t(`role.${r}`) })),
      user?.role ?? 'manager',
    ),
  );
  const extensions = input('extensions', { value: user?.extensions.join(', ') ?? '', placeholder: '101, 102', pattern: '[0-9, ]*' });
  const locale = h(
    'select',
    { id: `u-${uid}-locale`, name: 'locale' },
    options(
      [
        { value: 'uk', label: 'Українська' },
        { value: 'en', label: 'English' },
      ],
      user?.locale ?? 'uk',
    ),
  );
  const error = h('p', { class: 'error', role: 'alert' });
  const field = (label: string, el: HTMLElement) => h('div', { class: 'field' }, h('label', { for: el.id }, label), el);
  const form = h(
    'form',
    { class: 'user-form', 'data-testid': 'user-form' },
    h(
      'div',
      { class: 'row' },
      field(t('user.name'), name),
      field(t('login.email'), email),
      field(user ? t('user.newPassword') : t('login.password'), password),
    ),
    h('div', { class: 'row' }, field(t('user.role'), role), field(t('user.extensions'), extensions), field(t('user.locale'), locale)),
    error,
    h(
      'div',
      { class: 'form-actions' },
      h('button', { type: 'submit', class: 'primary' }, user ? t('form.save') : t('user.create')),
      h('button', { type: 'button', class: 'link', onclick: onCancel }, t('form.cancel')),
    ),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body: UserInput = {
      name: name.value.trim(),
      email: email.value.trim(),
      role: role.value,
      locale: locale.value,
      extensions: extensions.value
        .split(/[\s,;]+/)
        .map((x) => x.trim())
        .filter(Boolean),
    };
    if (password.value) body.password = password.value;
    try {
      if (user) await api.updateUser(user.id, body);
      else await api.createUser(body);
      toast(t('form.saved'), 'ok');
      onSaved();
    } catch (err) {
      error.textContent = errorText(err);
    }
  });
  queueMicrotask(() => name.focus());
  return form;
}

async function usersTab(box: HTMLElement): Promise<void> {
  const { me } = session();
  const formBox = h('div', {});
  const list = h('div', {});
  const reload = async () => {
    let users: User[];
    try {
      users = (await api.users()).items;
    } catch (err) {
      replace(list, h('p', { class: 'error' }, errorText(err)));
      return;
    }
    replace(
      list,
      h(
        'table',
        { class: 'list', 'data-testid': 'users' },
        thead([t('user.name'), t('login.email'), t('user.role'), t('user.extensions'), t('user.status'), '']),
        h(
          'tbody',
          {},
          users.map((u) => {
            const edit = h('button', { type: 'button', class: 'link' }, t('form.edit'));
            const toggle = h(
              'button',
              { type: 'button', class: 'link', disabled: u.id === me.id },
              u.active ? t('user.deactivate') : t('user.activate'),
            );
            const remove = h('button', { type: 'button', class: 'link danger', disabled: u.id === me.id }, t('form.delete'));
            const row = h(
              'tr',
              { class: u.active ? '' : 'inactive', 'data-user-id': u.id },
              h('td', {}, u.name),
              h('td', {}, u.email),
              h('td', {}, t(`role.${u.role}`)),
              h('td', {}, u.extensions.join(', ')),
              h('td', {}, u.active ? t('user.active') : t('user.inactive')),
              h('td', { class: 'actions' }, edit, toggle, remove),
            );
            edit.addEventListener('click', () => {
              const cell = h(
                'td',
                { colspan: 6 },
                userForm(
                  u,
                  () => void reload(),
                  () => void reload(),
                ),
              );
              row.replaceChildren(cell);
            });
            toggle.addEventListener('click', async () => {
              try {
                await api.updateUser(u.id, { active: !u.active });
                await reload();
              } catch (err) {
                toast(errorText(err), 'error');
              }
            });
            remove.addEventListener('click', async () => {
              if (!confirm(t('user.confirmDelete', { name: u.name }))) return;
              try {
                await api.deleteUser(u.id);
                await reload();
              } catch (err) {
                toast(errorText(err), 'error');
              }
            });
            return row;
          }),
        ),
      ),
    );
  };
  const add = h('button', { type: 'button', class: 'primary', 'data-testid': 'new-user' }, t('user.new'));
  add.addEventListener('click', () =>
    replace(
      formBox,
      h(
        'section',
        { class: 'panel' },
        userForm(
          null,
          () => {
            replace(formBox);
            void reload();
          },
          () => replace(formBox),
        ),
      ),
    ),
  );
  replace(box, h('div', { class: 'toolbar' }, add), formBox, list);
  await reload();
}

// ------------------------------------------------------------------------------------------------
// Outcomes

async function outcomesTab(box: HTMLElement): Promise<void> {
  const list = h('div', {});
  const reload = async () => {
    let outcomes: Outcome[];
    try {
      outcomes = (await api.outcomes(true)).items;
    } catch (err) {
      replace(list, h('p', { class: 'error' }, errorText(err)));
      return;
    }
    await refreshOutcomes().catch(() => undefined);
    replace(
      list,
      h(
        'table',
        { class: 'list', 'data-testid': 'outcomes' },
        thead([t('outcome.name'), t('outcome.code'), t('outcome.order'), t('user.active'), '']),
        h(
          'tbody',
          {},
          outcomes.map((o) => {
            const name = h('input', { value: o.name, maxlength: 100, 'aria-label': t('outcome.name') });
            const order = h('input', {
              type: 'number',
              value: String(o.sortOrder),
              min: 0,
              max: 10000,
              class: 'narrow-input',
              'aria-label': t('outcome.order'),
            });
            const active = h('input', { type: 'checkbox', checked: o.active, 'aria-label': t('user.active') });
            const save = h('button', { type: 'button', class: 'link' }, t('form.save'));
            const remove = h('button', { type: 'button', class: 'link danger' }, t('form.delete'));
            save.addEventListener('click', async () => {
              try {
                await api.updateOutcome(o.id, { name: name.value.trim(), sortOrder: Number(order.value), active: active.checked });
                toast(t('form.saved'), 'ok');
                await reload();
              } catch (err) {
                toast(errorText(err), 'error');
              }
            });
            remove.addEventListener('click', async () => {
              if (!confirm(t('outcome.confirmDelete', { name: o.name }))) return;
              try {
                const res = await api.deleteOutcome(o.id);
                toast(res.deactivated ? t('outcome.deactivated') : t('outcome.deleted'), 'ok');
                await reload();
              } catch (err) {
                toast(errorText(err), 'error');
              }
            });
            return h(
              'tr',
              { class: o.active ? '' : 'inactive' },
              h('td', {}, name),
              h('td', {}, h('code', {}, o.code ?? '')),
              h('td', {}, order),
              h('td', {}, active),
              h('td', { class: 'actions' }, save, remove),
            );
          }),
        ),
      ),
    );
  };
  const name = h('input', { id: 'new-outcome', required: true, maxlength: 100, placeholder: t('outcome.newHint') });
  const form = h(
    'form',
    { class: 'toolbar' },
    h('label', { for: name.id, class: 'sr-only' }, t('outcome.name')),
    name,
    h('button', { type: 'submit', class: 'primary' }, t('outcome.add')),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await api.createOutcome({ name: name.value.trim() });
      name.value = '';
      await reload();
    } catch (err) {
      toast(errorText(err), 'error');
    }
  });
  replace(box, form, list, h('p', { class: 'muted' }, t('outcome.hint')));
  await reload();
}

// ------------------------------------------------------------------------------------------------
// Review criteria (the scorecard)

const KINDS: CriterionKind[] = ['yes_no', 'scale'];

async function criteriaTab(box: HTMLElement): Promise<void> {
  const list = h('div', {});
  const reload = async () => {
    let criteria: ReviewCriterion[];
    try {
      criteria = (await api.criteria(true)).items;
    } catch (err) {
      replace(list, h('p', { class: 'error' }, errorText(err)));
      return;
    }
    replace(
      list,
      h(
        'table',
        { class: 'list criteria', 'data-testid': 'criteria' },
        thead([t('criterion.name'), t('criterion.kind'), t('criterion.weight'), t('outcome.order'), t('user.active'), '']),
        h(
          'tbody',
          {},
          criteria.length
            ? criteria.map((c) => {
                const name = h('input', {
                  value: c.name,
                  maxlength: 200,
                  'aria-label': t('criterion.name'),
                  class: 'criterion-name-input',
                });
                const description = h('input', {
                  value: c.description ?? '',
                  maxlength: 1000,
                  placeholder: t('criterion.descriptionHint'),
                  'aria-label': t('criterion.description'),
                  class: 'criterion-desc-input',
                });
                const kind = h(
                  'select',
                  { 'aria-label': t('criterion.kind') },
                  options(
                    KINDS.map((k) => ({ value: k, label: t(`criterion.kind.${k}`) })),
                    c.kind,
                  ),
                );
                const weight = h('input', {
                  type: 'number',
                  value: String(c.weight),
                  min: 1,
                  max: 100,
                  class: 'narrow-input',
                  'aria-label': t('criterion.weight'),
                });
                const position = h('input', {
                  type: 'number',
                  value: String(c.position),
                  min: 0,
                  max: 10000,
                  class: 'narrow-input',
                  'aria-label': t('outcome.order'),
                });
                const active = h('input', { type: 'checkbox', checked: c.active, 'aria-label': t('user.active') });
                const save = h('button', { type: 'button', class: 'link' }, t('form.save'));
                const remove = h('button', { type: 'button', class: 'link danger' }, t('form.delete'));
                save.addEventListener('click', async () => {
                  try {
                    await api.updateCriterion(c.id, {
                      name: name.value.trim(),
                      description: description.value.trim() || null,
                      kind: kind.value as CriterionKind,
                      weight: Number(weight.value),
                      position: Number(position.value),
                      active: active.checked,
                    });
                    toast(t('form.saved'), 'ok');
                    await reload();
                  } catch (err) {
                    toast(errorText(err), 'error');
                  }
                });
                remove.addEventListener('click', async () => {
                  if (!confirm(t('criterion.confirmDelete', { name: c.name }))) return;
                  try {
                    const res = await api.deleteCriterion(c.id);
                    toast(res?.deactivated ? t('criterion.deactivated') : t('outcome.deleted'), 'ok');
                    await reload();
                  } catch (err) {
                    toast(errorText(err), 'error');
                  }
                });
                return h(
                  'tr',
                  { class: c.active ? '' : 'inactive', 'data-criterion-id': c.id },
                  h('td', { class: 'criterion-cell' }, name, description),
                  h('td', {}, kind),
                  h('td', {}, weight),
                  h('td', {}, position),
                  h('td', {}, active),
                  h('td', { class: 'actions' }, save, remove),
                );
              })
            : h('tr', { class: 'empty' }, h('td', { colspan: 6 }, t('criterion.none'))),
        ),
      ),
    );
  };
  const name = h('input', { id: 'new-criterion', required: true, maxlength: 200, placeholder: t('criterion.newHint') });
  const kind = h(
    'select',
    { id: 'new-criterion-kind', 'aria-label': t('criterion.kind') },
    options(
      KINDS.map((k) => ({ value: k, label: t(`criterion.kind.${k}`) })),
      'yes_no',
    ),
  );
  const weight = h('input', { id: 'new-criterion-weight', type: 'number', min: 1, max: 100, value: '1', class: 'narrow-input' });
  const form = h(
    'form',
    { class: 'toolbar', 'data-testid': 'new-criterion' },
    h('label', { for: name.id, class: 'sr-only' }, t('criterion.name')),
    name,
    kind,
    h('label', { for: weight.id }, t('criterion.weight')),
    weight,
    h('button', { type: 'submit', class: 'primary' }, t('outcome.add')),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await api.createCriterion({ name: name.value.trim(), kind: kind.value as CriterionKind, weight: Number(weight.value) || 1 });
      name.value = '';
      await reload();
    } catch (err) {
      toast(errorText(err), 'error');
    }
  });
  replace(box, form, list, h('p', { class: 'muted' }, t('criterion.hint')));
  await reload();
}

// ------------------------------------------------------------------------------------------------
// API tokens

async function tokensTab(box: HTMLElement): Promise<void> {
  const list = h('div', {});
  const shown = h('div', {});
  let users: User[] = [];
  try {
    users = (await api.users()).items;
  } catch {
    users = [];
  }
  const userName = (id: string) => users.find((u) => u.id === id)?.name ?? id.slice(0, 8);
  const reload = async () => {
    let tokens: ApiToken[];
    try {
      tokens = (await api.tokens()).items;
    } catch (err) {
      replace(list, h('p', { class: 'error' }, errorText(err)));
      return;
    }
    replace(
      list,
      h(
        'table',
        { class: 'list', 'data-testid': 'tokens' },
        thead([t('token.name'), t('token.user'), t('token.created'), t('token.lastUsed'), t('user.status'), '']),
        h(
          'tbody',
          {},
          tokens.length
            ? tokens.map((tk) => {
                const revoke = h('button', { type: 'button', class: 'link danger' }, t('token.revoke'));
                revoke.addEventListener('click', async () => {
                  if (!confirm(t('token.confirmRevoke', { name: tk.name }))) return;
                  try {
                    await api.revokeToken(tk.id);
                    await reload();
                  } catch (err) {
                    toast(errorText(err), 'error');
                  }
                });
                return h(
                  'tr',
                  { class: tk.revokedAt ? 'inactive' : '' },
                  h('td', {}, tk.name),
                  h('td', {}, userName(tk.userId)),
                  h('td', {}, formatWhen(tk.createdAt)),
                  h('td', {}, tk.lastUsedAt ? formatWhen(tk.lastUsedAt) : '—'),
                  h('td', {}, tk.revokedAt ? `${t('token.revoked')} ${formatWhen(tk.revokedAt)}` : t('user.active')),
                  h('td', { class: 'actions' }, tk.revokedAt ? null : revoke),
                );
              })
            : h('tr', {}, h('td', { colspan: 6 }, t('token.none'))),
        ),
      ),
    );
  };
  const name = h('input', { id: 'token-name', required: true, maxlength: 100, placeholder: t('token.nameHint') });
  const owner = h(
    'select',
    { id: 'token-user' },
    options(
      users.filter((u) => u.active).map((u) => ({ value: u.id, label: `${u.name} (${t(`role.${u.role}`)})` })),
      session().me.id,
    ),
  );
  const form = h(
    'form',
    { class: 'toolbar' },
    h('label', { for: name.id, class: 'sr-only' }, t('token.name')),
    name,
    h('label', { for: owner.id }, t('token.user')),
    owner,
    h('button', { type: 'submit', class: 'primary' }, t('token.create')),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const created = await api.createToken({ name: name.value.trim(), userId: owner.value || undefined });
      name.value = '';
      const value = h('input', {
        readonly: true,
        value: created.token,
        class: 'token-value',
        'data-testid': 'new-token',
        'aria-label': t('token.value'),
      });
      const copy = h('button', { type: 'button' }, t('token.copy'));
      copy.addEventListener('click', () => {
        void navigator.clipboard?.writeText(created.token).then(() => toast(t('token.copied'), 'ok'));
        value.select();
      });
      replace(
        shown,
        h(
          'div',
          { class: 'panel token-once' },
          h('strong', {}, t('token.onceTitle')),
          h('p', {}, t('token.once')),
          h('div', { class: 'toolbar' }, value, copy),
        ),
      );
      value.select();
      await reload();
    } catch (err) {
      toast(errorText(err), 'error');
    }
  });
  replace(box, form, shown, list);
  await reload();
}

// ------------------------------------------------------------------------------------------------
// Audit log

/** Action families the filter offers (GET /api/audit?action=<prefix>). */
const AUDIT_FILTERS = ['recording.', 'auth.', 'review', 'user.', 'token.', 'call.'] as const;

function auditAction(action: string): string {
  const key = `audit.action.${action}` as MessageKey;
  const text = t(key);
  return text === key ? action : text;
}

/** The object of an entry: a call links to its page, anything else is its kind and short id. */
function auditObject(e: AuditEntry): Node | string {
  if (!e.entityId) return '—';
  if (e.entityType === 'call') return h('a', { href: `#/calls/${e.entityId}` }, `${t('audit.call')} ${e.entityId.slice(0, 8)}`);
  return `${e.entityType ?? ''} ${e.entityId.slice(0, 8)}`.trim();
}

function auditDetails(details: Record<string, unknown>): string {
  return Object.entries(details)
    .filter(([, v]) => v !== null && v !== undefined && v !== '')
    .map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(', ');
}

async function auditTab(box: HTMLElement, action: string | undefined): Promise<void> {
  const chosen = AUDIT_FILTERS.find((f) => f === action) ?? '';
  const filter = h(
    'select',
    { id: 'audit-filter', 'data-testid': 'audit-filter' },
    options(
      [
        { value: '', label: t('audit.filter.all') },
        ...AUDIT_FILTERS.map((f) => ({ value: f, label: t(`audit.filter.${f.replace(/\.$/, '')}` as MessageKey) })),
      ],
      chosen,
    ),
  );
  // the filter lives in the URL: a reload or a shared link shows the same entries
  filter.addEventListener('change', () => {
    location.hash = filter.value ? `#/admin/audit?action=${encodeURIComponent(filter.value)}` : '#/admin/audit';
  });
  const rows = h('tbody', {});
  const more = h('button', { type: 'button', hidden: true }, t('audit.more'));
  let cursor: string | null = null;
  const load = async () => {
    let page;
    try {
      page = await api.audit({ action: chosen || undefined, cursor: cursor ?? undefined, limit: 100 });
    } catch (err) {
      toast(errorText(err), 'error');
      return;
    }
    if (!cursor && !page.items.length) rows.append(h('tr', {}, h('td', { colspan: 6 }, t('audit.none'))));
    for (const e of page.items) {
      rows.append(
        h(
          'tr',
          { 'data-testid': 'audit-entry', 'data-action': e.action },
          h('td', { class: 'nowrap' }, formatWhen(e.at)),
          h('td', {}, e.actor?.name ?? t('audit.system')),
          h('td', {}, auditAction(e.action)),
          h('td', {}, auditObject(e)),
          h('td', { class: 'muted' }, auditDetails(e.details)),
          h('td', { class: 'muted' }, e.ip ?? ''),
        ),
      );
    }
    cursor = page.nextCursor;
    more.hidden = !cursor;
  };
  more.addEventListener('click', () => void load());
  replace(
    box,
    h('div', { class: 'toolbar' }, h('label', { for: filter.id }, t('audit.filter')), filter),
    h(
      'table',
      { class: 'list', 'data-testid': 'audit' },
      thead([t('audit.when'), t('audit.who'), t('audit.what'), t('audit.object'), t('audit.details'), t('audit.ip')]),
      rows,
    ),
    more,
  );
  await load();
}
