/**
 * CSV as spreadsheets open it: RFC 4180 (fields with a comma, quote or line break are quoted, quotes
 * doubled, CRLF between records), UTF-8 with a byte-order mark so Excel reads Cyrillic right, numbers
 * with a '.' decimal point, null as an empty field. A text field that a spreadsheet would run as a
 * formula (starting with = + - @, a tab or a carriage return) gets a leading apostrophe (OWASP's
 * advice against CSV injection): a user's name is data, never a formula.
 */
export type CsvValue = string | number | null;

const FORMULA = /^[=+\-@\t\r]/;

export function csvField(value: CsvValue): string {
  if (value === null) return '';
  let s: string;
  if (typeof value === 'number') {
    s = Number.isFinite(value) ? String(value) : '';
  } else {
    s = FORMULA.test(value) ? `'${value}` : value;
  }
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export const CSV_BOM = '\uFEFF';

/** A whole CSV document: the BOM, then one CRLF-terminated record per row. */
export function toCsv(rows: readonly (readonly CsvValue[])[]): string {
  return CSV_BOM + rows.map((row) => `${row.map(csvField).join(',')}\r\n`).join('');
}
