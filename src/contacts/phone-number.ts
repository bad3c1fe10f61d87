import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/min';

/**
 * Every number calltrack sees goes through here: caller IDs as Asterisk presents them, numbers
 * typed by people, search terms. Never throws: the result says what the input was.
 */
export type PhoneNumber =
  | { kind: 'e164'; e164: string; raw: string }
  | { kind: 'extension'; extension: string; raw: string }
  | { kind: 'withheld'; raw: string }
  | { kind: 'invalid'; raw: string; reason: string };

const WITHHELD = new Set(['', 'anonymous', 'unknown', '<unknown>', 'unavailable', 'private', 'restricted', 'withheld']);
const MAX_EXTENSION_DIGITS = 5;

/** Trunk prefixes libphonenumber does not know about, rewritten before parsing. */
function preRules(digits: string, country: CountryCode): string {
  if (digits.startsWith('00')) return `+${digits.slice(2)}`;
  if (digits.startsWith('810') && digits.length > 11) return `+${digits.slice(3)}`;
  // Old Ukrainian (and other ex-USSR) trunk prefix 8: '8 050 111 22 33' → '050 111 22 33'.
  if (country === 'UA' && /^80\d{9}$/.test(digits)) return digits.slice(1);
  // Russian/Kazakh national 8 + 10 digits: '89161234567' → '+79161234567'.
  if ((country === 'RU' || country === 'KZ') && /^8\d{10}$/.test(digits)) return `+7${digits.slice(1)}`;
  return digits;
}

export function normalizePhone(input: unknown, country: CountryCode): PhoneNumber {
  const raw = typeof input === 'string' ? input : input == null ? '' : String(input);
  const trimmed = raw.trim();
  if (WITHHELD.has(trimmed.toLowerCase())) return { kind: 'withheld', raw };
  if (trimmed.length > 40) return { kind: 'invalid', raw, reason: 'too long for a phone number' };
  if (!/^[+\d\s().\-/]+$/.test(trimmed)) return { kind: 'invalid', raw, reason: 'contains characters that are not part of a phone number' };
  const plus = trimmed.startsWith('+');
  const digits = trimmed.replace(/\D/g, '');
  if (digits.length === 0) return { kind: 'invalid', raw, reason: 'has no digits' };
  if (!plus && digits.length <= MAX_EXTENSION_DIGITS) return { kind: 'extension', extension: digits, raw };
  const candidate = plus ? `+${digits}` : preRules(digits, country);
  const parsed =
    parsePhoneNumberFromString(candidate, country) ?? (candidate.startsWith('+') ? undefined : parsePhoneNumberFromString(`+${candidate}`));
  if (parsed?.isValid()) return { kind: 'e164', e164: parsed.number, raw };
  // '380501112233' arrives without '+' from many trunks: try it as international.
  if (!plus && !candidate.startsWith('+')) {
    const intl = parsePhoneNumberFromString(`+${candidate}`);
    if (intl?.isValid()) return { kind: 'e164', e164: intl.number, raw };
  }
  return { kind: 'invalid', raw, reason: 'is not a valid phone number' };
}

/** The E.164 form, or null for anything else (withheld, extension, garbage). */
export function toE164(input: unknown, country: CountryCode): string | null {
  const n = normalizePhone(input, country);
  return n.kind === 'e164' ? n.e164 : null;
}

/**
 * A search term typed as a phone number: the number itself (exact, indexed) when the term is one,
 * and its digits as a fragment (substring) when it may be part of one. A term without `+` that is
 * no number of the default country is both: `4916124` reads as a German number, but someone
 * searching from Ukraine most likely typed part of a number. Null: not a phone term.
 */
export function phoneSearch(q: string, country: CountryCode): { e164: string | null; digits: string | null } | null {
  const n = normalizePhone(q, country);
  const digits = q.replace(/\D/g, '');
  const fragment = /^[\d\s()+\-.]+$/.test(q) && digits.length >= 3 ? digits : null;
  if (n.kind !== 'e164') return fragment ? { e164: null, digits: fragment } : null;
  const certain = q.trim().startsWith('+') || parsePhoneNumberFromString(preRules(digits, country), country)?.isValid() === true;
  return { e164: n.e164, digits: certain ? null : fragment };
}
