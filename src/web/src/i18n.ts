/** User-facing text in Ukrainian and English. Keys are the same in both; `t()` falls back to English. */
const uk = {
  'app.title': 'calltrack',
  'login.title': 'Вхід',
  'login.email': 'Електронна пошта',
  'login.password': 'Пароль',
  'login.submit': 'Увійти',
  'login.failed': 'Неправильна пошта або пароль',
  'login.rateLimited': 'Забагато спроб. Спробуйте пізніше.',
  'nav.calls': 'Дзвінки',
  'nav.logout': 'Вийти',
  'calls.empty': 'Дзвінків ще немає',
  'calls.more': 'Показати ще',
  'calls.when': 'Коли',
  'calls.direction': 'Напрямок',
  'calls.number': 'Номер',
  'calls.contact': 'Контакт',
  'calls.agent': 'Менеджер',
  'calls.result': 'Результат',
  'calls.talk': 'Розмова',
  'direction.inbound': 'Вхідний',
  'direction.outbound': 'Вихідний',
  'direction.internal': 'Внутрішній',
  'disposition.answered': 'Прийнятий',
  'disposition.no-answer': 'Без відповіді',
  'disposition.busy': 'Зайнято',
  'disposition.failed': 'Помилка',
  'call.missed': 'Пропущений',
  'call.live': 'Триває',
  'number.withheld': 'Прихований номер',
  'pbx.demo': 'ДЕМО: дзвінки програються демонстраційною АТС, а не вашою Asterisk',
  'pbx.disconnected': 'Немає зв’язку з АТС',
  'lang.switch': 'English',
} as const;

export type MessageKey = keyof typeof uk;

const en: Record<MessageKey, string> = {
  'app.title': 'calltrack',
  'login.title': 'Log in',
  'login.email': 'Email',
  'login.password': 'Password',
  'login.submit': 'Log in',
  'login.failed': 'Wrong email or password',
  'login.rateLimited': 'Too many attempts. Try again later.',
  'nav.calls': 'Calls',
  'nav.logout': 'Log out',
  'calls.empty': 'No calls yet',
  'calls.more': 'Show more',
  'calls.when': 'When',
  'calls.direction': 'Direction',
  'calls.number': 'Number',
  'calls.contact': 'Contact',
  'calls.agent': 'Manager',
  'calls.result': 'Result',
  'calls.talk': 'Talk',
  'direction.inbound': 'Inbound',
  'direction.outbound': 'Outbound',
  'direction.internal': 'Internal',
  'disposition.answered': 'Answered',
  'disposition.no-answer': 'No answer',
  'disposition.busy': 'Busy',
  'disposition.failed': 'Failed',
  'call.missed': 'Missed',
  'call.live': 'Live',
  'number.withheld': 'Withheld number',
  'pbx.demo': 'DEMO: calls are played by a demo PBX, not your Asterisk',
  'pbx.disconnected': 'PBX disconnected',
  'lang.switch': 'Українська',
};

export type Locale = 'uk' | 'en';
const catalogs: Record<Locale, Record<MessageKey, string>> = { uk, en };
let current: Locale = (localStorage.getItem('locale') as Locale | null) ?? (navigator.language.startsWith('uk') ? 'uk' : 'en');

export const locale = () => current;
export function setLocale(l: Locale): void {
  current = l;
  localStorage.setItem('locale', l);
  document.documentElement.lang = l;
}
export const t = (key: MessageKey): string => catalogs[current][key] ?? en[key];
export const formatTime = (iso: string) =>
  new Intl.DateTimeFormat(current === 'uk' ? 'uk-UA' : 'en-GB', { dateStyle: 'short', timeStyle: 'medium' }).format(new Date(iso));
