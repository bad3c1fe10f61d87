/**
 * The `Range` request header for one representation of `size` bytes (RFC 9110 §14). Pure.
 *
 * - No header, or a range unit other than `bytes`: the whole representation (200). RFC 9110 says
 *   to ignore a unit it does not understand.
 * - `bytes=` with a malformed range set (`bytes=abc`, `bytes=5-2`, `bytes=-`, an empty set):
 *   rejected, 416 (§14.2: a server "MAY ignore or reject" an invalid ranges-specifier; rejecting
 *   makes a broken client visible instead of silently sending it the whole file).
 * - A valid set none of whose ranges is satisfiable (every first-pos ≥ size, or a zero suffix;
 *   any range of an empty file): 416.
 * - One satisfiable range: that range (206). A last-pos beyond the end is cut to the end, a
 *   suffix longer than the file is the whole file.
 * - Several ranges (an `<audio>` element never asks for them): coalesced into the one range from
 *   the first requested byte to the last (206 with a single Content-Range, §15.3.7 allows
 *   coalescing), rather than a multipart/byteranges answer. More than MAX_RANGES: rejected, 416.
 */

export interface ByteRange {
  /** first byte, inclusive */
  start: number;
  /** last byte, inclusive */
  end: number;
}

export type RangeResult = { kind: 'full' } | { kind: 'partial'; range: ByteRange } | { kind: 'unsatisfiable' };

const MAX_RANGES = 100;
const SPEC = /^\s*(\d*)\s*-\s*(\d*)\s*$/;

export function parseRange(header: string | undefined, size: number): RangeResult {
  if (header === undefined) return { kind: 'full' };
  const eq = header.indexOf('=');
  if (eq < 0) return { kind: 'full' }; // not a ranges-specifier at all: ignored as an unknown form
  if (header.slice(0, eq).trim().toLowerCase() !== 'bytes') return { kind: 'full' };
  const specs = header
    .slice(eq + 1)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== ''); // RFC 9110 list syntax allows empty elements
  if (specs.length === 0 || specs.length > MAX_RANGES) return { kind: 'unsatisfiable' };
  const satisfiable: ByteRange[] = [];
  for (const spec of specs) {
    const m = SPEC.exec(spec);
    if (!m) return { kind: 'unsatisfiable' };
    const [, first = '', last = ''] = m;
    if (first === '' && last === '') return { kind: 'unsatisfiable' };
    if (first === '') {
      // suffix: the last N bytes
      const n = Number(last);
      if (!Number.isSafeInteger(n)) return { kind: 'unsatisfiable' };
      if (n > 0 && size > 0) satisfiable.push({ start: Math.max(0, size - n), end: size - 1 });
      continue;
    }
    const start = Number(first);
    const end = last === '' ? Infinity : Number(last);
    if (!Number.isSafeInteger(start) || (last !== '' && !Number.isSafeInteger(end)) || end < start) return { kind: 'unsatisfiable' };
    if (start < size) satisfiable.push({ start, end: Math.min(end, size - 1) });
  }
  if (satisfiable.length === 0) return { kind: 'unsatisfiable' };
  return {
    kind: 'partial',
    range: { start: Math.min(...satisfiable.map((r) => r.start)), end: Math.max(...satisfiable.map((r) => r.end)) },
  };
}
