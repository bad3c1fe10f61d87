import { api, ApiError } from '../api';
import { h } from '../dom';
import { t } from '../i18n';
import { languageButton } from '../components/language';
import type { User } from '../types';

export function renderLogin(root: HTMLElement, onLoggedIn: (user: User) => void): void {
  const email = h('input', { type: 'email', name: 'email', id: 'login-email', autocomplete: 'username', required: true });
  const password = h('input', {
    type: 'password',
    name: 'password',
    id: 'login-password',
    autocomplete: 'current-password',
    required: true,
  });
  const error = h('p', { class: 'error', role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'primary' }, t('login.submit'));
  const form = h(
    'form',
    { class: 'login' },
    h('div', { class: 'login-brand' }, 'calltrack'),
    h('h1', {}, t('login.title')),
    h('label', { for: email.id }, t('login.email')),
    email,
    h('label', { for: password.id }, t('login.password')),
    password,
    error,
    submit,
    h(
      'div',
      { class: 'login-foot' },
      languageButton(() => renderLogin(root, onLoggedIn)),
    ),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    submit.disabled = true;
    error.textContent = '';
    try {
      const res = await api.login(email.value, password.value);
      onLoggedIn(res.user);
    } catch (err) {
      const status = err instanceof ApiError ? err.status : 0;
      error.textContent = t(status === 429 ? 'login.rateLimited' : status === 0 ? 'error.network' : 'login.failed');
    } finally {
      submit.disabled = false;
    }
  });
  root.replaceChildren(form);
  email.focus();
}
