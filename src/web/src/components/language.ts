import { api } from '../api';
import { h } from '../dom';
import { locale, setLocale, t } from '../i18n';
import { hasSession, session } from '../session';

/** uk ⇄ en; stored for the user (PATCH /api/me) when logged in, in the browser otherwise. */
export function languageButton(onChange: () => void): HTMLButtonElement {
  const b = h(
    'button',
    { type: 'button', class: 'link lang', lang: locale() === 'uk' ? 'en' : 'uk', 'data-testid': 'language' },
    t('lang.switch'),
  );
  b.addEventListener('click', () => {
    const next = locale() === 'uk' ? 'en' : 'uk';
    setLocale(next);
    if (hasSession()) {
      session().me.locale = next;
      void api.updateMe({ locale: next }).catch(() => undefined);
    }
    onChange();
  });
  return b;
}
