import { api, ApiError } from '../api';
import { h } from '../dom';
import { formatPhone } from '../format';
import { t } from '../i18n';
import { session } from '../session';
import { phoneIcon } from './icons';
import { toast } from './toast';

/** What went wrong with POST /api/calls/originate, in words a manager understands (the server says why). */
export function originateError(err: unknown): string {
  if (!(err instanceof ApiError)) return t('dial.failed', { reason: String(err) });
  const reason = err.message;
  switch (err.status) {
    case 403:
      return t('dial.forbidden', { reason });
    case 409:
      return t('dial.conflict', { reason });
    case 503:
      return t('dial.unavailable', { reason });
    case 404:
    case 405:
      return t('dial.notAvailable');
    case 0:
      return t('error.network');
    default:
      return t('dial.failed', { reason });
  }
}

const DIAL_FROM_KEY = 'calltrack.dialFrom';

/** Which of my phones rings first (only asked when I have several). */
export function dialFrom(): string | undefined {
  const mine = session().me.extensions;
  if (mine.length < 2) return undefined;
  const chosen = localStorage.getItem(DIAL_FROM_KEY);
  return chosen && mine.includes(chosen) ? chosen : [...mine].sort()[0];
}

/** A select of my phones for the header, when I have more than one. */
export function dialFromSelect(): HTMLSelectElement | null {
  const mine = session().me.extensions;
  if (mine.length < 2) return null;
  const select = h(
    'select',
    { class: 'dial-from', title: t('dial.from'), 'aria-label': t('dial.from') },
    [...mine].sort().map((x) => h('option', { value: x, selected: x === dialFrom() }, `${t('dial.fromShort')} ${x}`)),
  );
  select.addEventListener('change', () => localStorage.setItem(DIAL_FROM_KEY, select.value));
  return select;
}

/** A "call" button: the PBX rings my phone, then dials the number. */
export function callButton(number: string, o: { label?: string } = {}): HTMLButtonElement {
  const button = h(
    'button',
    { type: 'button', class: 'call-btn', 'data-testid': 'click-to-call', title: t('dial.title', { number: formatPhone(number) }) },
    phoneIcon(),
    ' ',
    o.label ?? t('dial.call'),
  );
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      const res = await api.originate(number, dialFrom());
      toast(t('dial.started', { number: formatPhone(number), ext: res.extension }), 'ok');
    } catch (err) {
      toast(originateError(err), 'error', 10_000);
    } finally {
      button.disabled = false;
    }
  });
  return button;
}
