import { locale } from './i18n';

/** `+380501112233` → `+380 50 111 22 33`; other countries keep E.164 with light grouping. */
export function formatPhone(e164: string | null | undefined): string {
  if (!e164) return '';
  const ua = /^\+380(\d{2})(\d{3})(\d{2})(\d{2})$/.exec(e164);
  if (ua) return `+380 ${ua[1]} ${ua[2]} ${ua[3]} ${ua[4]}`;
  const nanp = /^\+1(\d{3})(\d{3})(\d{4})$/.exec(e164);
  if (nanp) return `+1 ${nanp[1]} ${nanp[2]} ${nanp[3]}`;
  const m = /^\+(\d{2,3})(\d+)$/.exec(e164);
  if (!m) return e164;
  return `+${m[1]} ${m[2]!.replace(/(\d{3})(?=\d{3,})/g, '$1 ')}`;
}

/** 65 → `1:05`, 3725 → `1:02:05`. */
export function formatSeconds(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '';
  const s = Math.max(0, Math.round(seconds));
  const two = (n: number) => String(n).padStart(2, '0');
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor(s / 60) % 60;
  return hours ? `${hours}:${two(minutes)}:${two(s % 60)}` : `${minutes}:${two(s % 60)}`;
}

const intl = () => (locale() === 'uk' ? 'uk-UA' : 'en-GB');

export const formatTime = (iso: string) => new Intl.DateTimeFormat(intl(), { hour: '2-digit', minute: '2-digit' }).format(new Date(iso));
export const formatTimeSeconds = (iso: string) =>
  new Intl.DateTimeFormat(intl(), { hour: '2-digit', minute: '2-digit', second: '2-digit' }).format(new Date(iso));
export const formatDate = (iso: string) => new Intl.DateTimeFormat(intl(), { dateStyle: 'medium' }).format(new Date(iso));

/** Today: the time only; otherwise the short date and time. */
export function formatWhen(iso: string): string {
  const d = new Date(iso);
  if (isToday(d)) return formatTime(iso);
  return new Intl.DateTimeFormat(intl(), { day: '2-digit', month: '2-digit', year: '2-digit', hour: '2-digit', minute: '2-digit' }).format(
    d,
  );
}

export function isToday(d: Date): boolean {
  const now = new Date();
  return d.getFullYear() === now.getFullYear() && d.getMonth() === now.getMonth() && d.getDate() === now.getDate();
}

export function startOfToday(): Date {
  const d = new Date();
  d.setHours(0, 0, 0, 0);
  return d;
}

/** `yyyy-mm-dd` of a local date (for `<input type=date>`). */
export function dateInputValue(d: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}`;
}

/** Seconds since `iso` (live timers). */
export const secondsSince = (iso: string) => (Date.now() - new Date(iso).getTime()) / 1000;
