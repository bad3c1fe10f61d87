import { formatTime, locale, setLocale, t, type Locale, type MessageKey } from './i18n';

interface Call {
  id: string;
  direction: string;
  state: string;
  disposition: string | null;
  missed: boolean;
  externalNumber: string | null;
  externalNumberRaw: string | null;
  startedAt: string;
  talkSeconds: number | null;
  agent: { extension: string; name: string | null } | null;
  contact: { id: string; name: string } | null;
}
interface Me {
  id: string;
  name: string;
  role: string;
  locale: Locale;
}

const app = document.getElementById('app')!;

async function api<T>(path: string, init?: RequestInit): Promise<{ status: number; body: T }> {
  const res = await fetch(path, { ...init, headers: { 'Content-Type': 'application/json', ...init?.headers }, credentials: 'same-origin' });
  const body = res.status === 204 ? (undefined as T) : ((await res.json()) as T);
  return { status: res.status, body };
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: (Node | string)[]) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  node.append(...children);
  return node;
}

async function pbxBanner(): Promise<HTMLElement | null> {
  const res = await fetch('/health');
  const health = (await res.json()) as { pbx: { mode: string; status: string } };
  if (health.pbx.mode === 'demo') return el('div', { class: 'banner demo', 'data-testid': 'demo-banner' }, t('pbx.demo'));
  if (health.pbx.mode === 'asterisk' && health.pbx.status !== 'connected') return el('div', { class: 'banner warn' }, t('pbx.disconnected'));
  return null;
}

function languageButton(onChange: () => void): HTMLElement {
  const b = el('button', { type: 'button', class: 'link' }, t('lang.switch'));
  b.addEventListener('click', () => {
    setLocale(locale() === 'uk' ? 'en' : 'uk');
    void fetch('/api/me', { method: 'PATCH', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ locale: locale() }) });
    onChange();
  });
  return b;
}

function renderLogin(): void {
  const email = el('input', { type: 'email', name: 'email', autocomplete: 'username', required: '' });
  const password = el('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: '' });
  const error = el('p', { class: 'error', role: 'alert' });
  const form = el(
    'form',
    { class: 'login' },
    el('h1', {}, t('login.title')),
    el('label', {}, t('login.email'), email),
    el('label', {}, t('login.password'), password),
    error,
    el('button', { type: 'submit' }, t('login.submit')),
    languageButton(renderLogin),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const res = await api<{ user: Me }>('/api/auth/login', { method: 'POST', body: JSON.stringify({ email: email.value, password: password.value }) });
    if (res.status === 200) return route();
    error.textContent = t(res.status === 429 ? 'login.rateLimited' : 'login.failed');
  });
  app.replaceChildren(form);
}

function callRow(c: Call): HTMLElement {
  const number = c.externalNumber ?? c.externalNumberRaw ?? t('number.withheld');
  const result = c.state !== 'ended' ? t('call.live') : c.missed ? t('call.missed') : c.disposition ? t(`disposition.${c.disposition}` as MessageKey) : '';
  return el(
    'tr',
    { class: c.missed ? 'missed' : '', 'data-call-id': c.id },
    el('td', {}, formatTime(c.startedAt)),
    el('td', {}, t(`direction.${c.direction}` as MessageKey)),
    el('td', {}, number),
    el('td', {}, c.contact?.name ?? ''),
    el('td', {}, c.agent ? `${c.agent.name ?? ''} (${c.agent.extension})` : ''),
    el('td', {}, result),
    el('td', {}, c.talkSeconds != null ? `${Math.round(c.talkSeconds)} s` : ''),
  );
}

async function renderCalls(me: Me): Promise<void> {
  const tbody = el('tbody');
  const more = el('button', { type: 'button' }, t('calls.more'));
  let cursor: string | null = null;
  const load = async () => {
    const res = await api<{ items: Call[]; nextCursor: string | null }>(`/api/calls?limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    if (res.status === 401) return renderLogin();
    tbody.append(...res.body.items.map(callRow));
    if (!tbody.children.length) tbody.append(el('tr', {}, el('td', { colspan: '7' }, t('calls.empty'))));
    cursor = res.body.nextCursor;
    more.hidden = !cursor;
  };
  more.addEventListener('click', () => void load());
  const logout = el('button', { type: 'button', class: 'link' }, t('nav.logout'));
  logout.addEventListener('click', async () => {
    await api('/api/auth/logout', { method: 'POST' });
    renderLogin();
  });
  const head = el('tr', {}, ...(['calls.when', 'calls.direction', 'calls.number', 'calls.contact', 'calls.agent', 'calls.result', 'calls.talk'] as const).map((k) => el('th', {}, t(k))));
  const banner = await pbxBanner();
  app.replaceChildren(
    ...(banner ? [banner] : []),
    el('header', {}, el('strong', {}, t('app.title')), el('nav', {}, el('a', { href: '/' }, t('nav.calls'))), el('span', {}, me.name), languageButton(() => void renderCalls(me)), logout),
    el('main', {}, el('table', { class: 'calls' }, el('thead', {}, head), tbody), more),
  );
  await load();
}

async function route(): Promise<void> {
  const res = await api<{ user: Me }>('/api/me');
  if (res.status !== 200) return renderLogin();
  setLocale(res.body.user.locale);
  await renderCalls(res.body.user);
}

void route();
