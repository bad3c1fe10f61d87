import { h } from '../dom';
import { t } from '../i18n';
import type { Page } from '../router';

export const notFoundPage: Page = ({ main }) => {
  main.replaceChildren(h('h1', {}, t('error.pageNotFound')), h('p', {}, h('a', { href: '#/' }, t('nav.myCalls'))));
};
