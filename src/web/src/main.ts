import { api, UNAUTHENTICATED } from './api';
import { callNumber } from './components/call-status';
import { layout } from './components/layout';
import { notify } from './components/notify';
import { startTicker } from './components/ticker';
import { toast, toastRegion } from './components/toast';
import { topicSuggestions } from './components/topics';
import { h } from './dom';
import { setLocale, t } from './i18n';
import { adminPage } from './pages/admin';
import { boardPage } from './pages/board';
import { callPage } from './pages/call';
import { contactPage, contactsPage, organizationPage } from './pages/contacts';
import { historyPage } from './pages/history';
import { homePage } from './pages/home';
import { renderLogin } from './pages/login';
import { notFoundPage } from './pages/not-found';
import { reportsPage } from './pages/reports';
import { reviewPage } from './pages/review';
import { reviewQueuePage } from './pages/review-queue';
import { reviewsPage } from './pages/reviews';
import { match, type Route } from './router';
import { endSession, hasSession, ringsMe, session, startSession } from './session';
import type { User } from './types';

const root = document.getElementById('app')!;

const routes: Route[] = [
  ['/', homePage, '#/'],
  ['/history', historyPage, '#/history'],
  ['/calls/:id', callPage, '#/history'],
  ['/contacts', contactsPage, '#/contacts'],
  ['/contacts/:id', contactPage, '#/contacts'],
  ['/organizations/:id', organizationPage, '#/contacts'],
  ['/board', boardPage, '#/board'],
  ['/review', reviewQueuePage, '#/review'],
  ['/review/:id', reviewPage, '#/review'],
  ['/reviews', reviewsPage, '#/reviews'],
  ['/reports', reportsPage, '#/reports'],
  ['/admin/:tab', adminPage, '#/admin/users'],
];

let disposePage: (() => void) | void = undefined;
let disposeFrame: (() => void) | undefined;
let renderSeq = 0;

async function render(): Promise<void> {
  if (!hasSession()) return;
  const seq = ++renderSeq;
  disposePage?.();
  disposePage = undefined;
  disposeFrame?.();
  const found = match(routes);
  const frame = layout({ active: found?.active ?? '', onLocale: () => void render(), onLogout: logout });
  const topics = topicSuggestions(session().live);
  disposeFrame = () => {
    frame.dispose();
    topics.dispose();
  };
  root.replaceChildren(frame.el, topics.el, toastRegion());
  try {
    const dispose = await (found ?? { page: notFoundPage }).page({
      main: frame.main,
      params: found?.params ?? {},
      query: found?.query ?? new URLSearchParams(),
    });
    if (seq !== renderSeq) dispose?.();
    else disposePage = dispose;
  } catch (err) {
    frame.main.replaceChildren(h('p', { class: 'error' }, err instanceof Error ? err.message : String(err)));
  }
}

function showLogin(): void {
  disposePage?.();
  disposeFrame?.();
  disposePage = disposeFrame = undefined;
  endSession();
  renderLogin(root, (user) => void enter(user));
}

function logout(): void {
  showLogin();
}

/** Screen-pop everywhere: a call that starts ringing my phone notifies me while the tab is hidden. */
function watchScreenPops(me: User): void {
  session().live.onCall((call, previous) => {
    if (!ringsMe(me, call) || (previous && ringsMe(me, previous))) return;
    const who = call.contact?.name ?? callNumber(call);
    notify(t('notify.incoming'), `${who}${call.contact ? ` · ${callNumber(call)}` : ''}`, call.id, () => (location.hash = '#/'));
    document.title = `📞 ${who} — calltrack`;
    setTimeout(() => (document.title = 'calltrack'), 15_000);
  });
}

async function enter(user: User): Promise<void> {
  setLocale(user.locale);
  await startSession(user, showLogin);
  watchScreenPops(user);
  session()
    .live.loadToday()
    .catch((err: unknown) => toast(err instanceof Error ? err.message : String(err), 'error'));
  await render();
}

/** A 401 somewhere: log out only if the session is really gone (one glitch must not throw a manager out mid-call). */
let checkingSession = false;
window.addEventListener(UNAUTHENTICATED, () => {
  if (!hasSession() || checkingSession) return;
  checkingSession = true;
  fetch('/api/me', { credentials: 'same-origin' })
    .then((res) => {
      if (res.status === 401 && hasSession()) showLogin();
    })
    .catch(() => undefined)
    .finally(() => (checkingSession = false));
});
window.addEventListener('hashchange', () => void render());
document.addEventListener('keydown', (e) => {
  // "/" jumps to the page's search field (as in most web apps)
  if (e.key !== '/' || e.ctrlKey || e.metaKey || e.altKey) return;
  const target = e.target as HTMLElement;
  if (target.closest('input,textarea,select,[contenteditable]')) return;
  const search = document.querySelector<HTMLInputElement>('[data-search]');
  if (search) {
    e.preventDefault();
    search.focus();
  }
});

startTicker();
api.me().then(
  (res) => void enter(res.user),
  () => showLogin(),
);
