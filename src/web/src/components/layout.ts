import { api } from '../api';
import { h, replace } from '../dom';
import { t, type MessageKey } from '../i18n';
import { ringsMe, session } from '../session';
import type { User } from '../types';
import { callNumber } from './call-status';
import { dialFromSelect } from './click-to-call';
import { phoneIcon } from './icons';
import { askPermission, canAskPermission } from './notify';
import { languageButton } from './language';

interface NavItem {
  href: string;
  label: MessageKey;
  roles?: User['role'][];
}
const NAV: NavItem[] = [
  { href: '#/', label: 'nav.myCalls' },
  { href: '#/history', label: 'nav.history' },
  { href: '#/contacts', label: 'nav.contacts' },
  { href: '#/board', label: 'nav.board', roles: ['supervisor', 'admin'] },
  { href: '#/review', label: 'nav.review', roles: ['supervisor', 'admin'] },
  { href: '#/reviews', label: 'nav.reviews', roles: ['manager'] },
  { href: '#/reports', label: 'nav.reports', roles: ['supervisor', 'admin'] },
  { href: '#/admin/users', label: 'nav.admin', roles: ['admin'] },
];

/** The frame around every page: navigation, connection state, DEMO badge, language, user. */
export function layout(o: { active: string; onLocale: () => void; onLogout: () => void }): {
  el: HTMLElement;
  main: HTMLElement;
  dispose(): void;
} {
  const { me, live } = session();
  const status = h('span', { class: 'conn', 'data-testid': 'connection', role: 'status', 'aria-live': 'polite' });
  const demo = h('span', { class: 'demo-badge', 'data-testid': 'demo-badge', title: t('pbx.demo') }, t('pbx.demoShort'));
  const notifyBtn = h('button', { type: 'button', class: 'link', title: t('notify.enableHint') }, t('notify.enable'));
  notifyBtn.addEventListener('click', async () => {
    await askPermission();
    notifyBtn.hidden = !canAskPermission();
  });
  notifyBtn.hidden = !canAskPermission();
  const incoming = h('div', { class: 'incoming-bar', 'data-testid': 'incoming-bar' });

  const renderStatus = () => {
    const pbx = live.pbx;
    let state: string;
    let label: string;
    if (live.link !== 'live') {
      state = live.link;
      label = t(live.link === 'connecting' ? 'conn.connecting' : 'conn.reconnecting');
    } else if (pbx && pbx.mode !== 'disabled' && pbx.status !== 'connected') {
      state = 'pbx-down';
      label = t('conn.pbxDown');
    } else if (pbx?.mode === 'disabled') {
      state = 'pbx-off';
      label = t('conn.pbxOff');
    } else {
      state = 'live';
      label = t('conn.live');
    }
    status.dataset.state = state;
    status.textContent = label;
    status.title = pbx ? `${t('conn.pbx')}: ${pbx.mode} / ${pbx.status}` : '';
    demo.hidden = pbx?.mode !== 'demo';
  };

  const renderIncoming = () => {
    // on pages other than "My calls", a call ringing my phone still shows, as a bar linking to it
    const ringing = o.active === '#/' ? [] : live.list().filter((c) => ringsMe(me, c));
    replace(
      incoming,
      ringing.map((c) =>
        h(
          'a',
          { href: '#/', class: 'incoming' },
          phoneIcon(),
          ' ',
          t('card.ringingYou'),
          ': ',
          h('strong', {}, c.contact?.name ?? callNumber(c)),
          ' ',
          c.contact ? callNumber(c) : '',
        ),
      ),
    );
  };

  const nav = h(
    'nav',
    { 'aria-label': t('nav.main') },
    NAV.filter((n) => !n.roles || n.roles.includes(me.role)).map((n) =>
      h(
        'a',
        { href: n.href, class: o.active === n.href ? 'active' : '', 'aria-current': o.active === n.href ? 'page' : false },
        t(n.label),
      ),
    ),
  );
  const logout = h('button', { type: 'button', class: 'link' }, t('nav.logout'));
  logout.addEventListener('click', async () => {
    await api.logout().catch(() => undefined);
    o.onLogout();
  });
  const main = h('main', { id: 'main', tabindex: -1 });
  const el = h(
    'div',
    { class: 'shell' },
    h('a', { href: '#main', class: 'skip' }, t('nav.skip')),
    h(
      'header',
      { class: 'topbar' },
      h('a', { href: '#/', class: 'brand' }, 'calltrack'),
      nav,
      h('span', { class: 'spacer' }),
      demo,
      status,
      notifyBtn,
      h(
        'span',
        { class: 'who', title: `${me.email} · ${t(`role.${me.role}`)}` },
        me.name,
        me.extensions.length ? h('span', { class: 'muted' }, ` · ${me.extensions.join(', ')}`) : null,
      ),
      dialFromSelect(),
      languageButton(o.onLocale),
      logout,
    ),
    incoming,
    main,
  );
  renderStatus();
  renderIncoming();
  const offStatus = live.onStatus(renderStatus);
  const offCall = live.onCall(renderIncoming);
  return {
    el,
    main,
    dispose() {
      offStatus();
      offCall();
    },
  };
}
