/**
 * The shape of one AMI message as the `asterisk-manager` client (lib/ami.js, `ManagerReader` and
 * `ManagerEvent`) hands it to its `managerevent` / `response` listeners, and a parser that
 * reproduces that parsing for one raw frame (tests, the journal replay, benchmarks).
 *
 * What the client does, line by line (`Key: value`, `\r\n` or `\n` line ends, blank line ends a
 * message):
 * - the key is the text before the first `': '`, trimmed and lowercased (`CallerIDNum` →
 *   `calleridnum`, `Cause-txt` → `cause-txt`); the value is everything after it (later `': '`
 *   kept). A line without `': '` becomes a key with the value `''`. Empty lines inside are skipped.
 * - a repeated key becomes a `string[]` in order of appearance;
 * - keys `variable` and `chanvariable` become a sub-object: the value is split at the first `=`,
 *   `{ NAME: rest }`, so `Variable: RECORDING_FILE` gives `{ RECORDING_FILE: '' }` (the value of a
 *   VarSet is in the separate `value` key);
 * - the greeting line `Asterisk Call Manager/x.y` is dropped;
 * - `Response: Follows` messages are collected raw up to `--END COMMAND--` into
 *   `{ response: 'follows', content, actionid }`;
 * - for an event, `event` is always a string (the first one if the key was repeated).
 */

export type AmiVariables = Record<string, string>;

/** One AMI message as the client emits it: lowercased keys, string values. */
export interface AmiFrame {
  [key: string]: string | string[] | AmiVariables | undefined;
  event?: string;
  response?: string | string[];
  actionid?: string | string[];
  variable?: AmiVariables;
  chanvariable?: AmiVariables;
}

const GREETING = 'Asterisk Call Manager';

/**
 * Parses one raw AMI message (as journalled: `Key: value\r\n…\r\n\r\n`) exactly as
 * asterisk-manager 0.2 would emit it. Text after the first complete message is ignored; a
 * message without its terminating blank line is parsed as if it had one (the client would wait for
 * more bytes). A greeting alone gives `{}`.
 *
 * Deliberate difference from the client: keys such as `constructor` or `__proto__` are plain
 * own data (the client, using `key in item`, turns `Constructor: x` into
 * `[Function Object, 'x']`, and drops `__proto__`).
 */
export function parseAmiFrame(raw: string): AmiFrame {
  const text = typeof raw === 'string' ? raw : String(raw);
  const end = text.length;
  let pos = 0;
  // The client drops the greeting line at the start of a message.
  if (text.startsWith(GREETING)) {
    const nl = text.indexOf('\n');
    if (nl === -1) return {};
    pos = nl + 1;
  }
  if (isFollowsStart(text, pos)) return parseFollows(text, pos);

  const item: AmiFrame = {};
  let any = false;
  while (pos < end) {
    let nl = text.indexOf('\n', pos);
    if (nl === -1) nl = end;
    let lineEnd = nl;
    if (lineEnd > pos && text.charCodeAt(lineEnd - 1) === 13 /* \r */) lineEnd--;
    if (lineEnd === pos) {
      // A blank line ends the message (blank lines before it are skipped, as the client does).
      if (any) break;
      pos = nl + 1;
      continue;
    }
    any = true;
    const sep = text.indexOf(': ', pos);
    let key: string;
    let value: string;
    if (sep === -1 || sep >= lineEnd) {
      key = normalizeKey(text.slice(pos, lineEnd));
      value = '';
    } else {
      key = normalizeKey(text.slice(pos, sep));
      value = text.slice(sep + 2, lineEnd);
    }
    addField(item, key, value);
    pos = nl + 1;
  }
  const ev = item.event;
  if (ev !== undefined && typeof ev !== 'string') {
    // ManagerEvent: the event name is always one string.
    item.event = Array.isArray(ev) ? String(ev[0]) : String(ev);
  }
  return item;
}

const keyCache = new Map<string, string>();

/** The client's key: trimmed, lowercased (cached: AMI uses a few hundred distinct keys). */
function normalizeKey(rawKey: string): string {
  let key = keyCache.get(rawKey);
  if (key === undefined) {
    key = rawKey.trim().toLowerCase();
    if (keyCache.size < 4096 && rawKey.length <= 64) keyCache.set(rawKey, key);
  }
  return key;
}

function isFollowsStart(text: string, pos: number): boolean {
  if (text.slice(pos, pos + 9).toLowerCase() !== 'response:') return false;
  let nl = text.indexOf('\n', pos);
  if (nl === -1) nl = text.length;
  return text.slice(pos, nl).toLowerCase().includes('follow');
}

/** `Response: Follows` … `--END COMMAND--`: kept raw, as the client does. */
function parseFollows(text: string, start: number): AmiFrame {
  const lines: string[] = [];
  let follows = 1;
  let pos = start;
  let terminated = false;
  while (pos <= text.length) {
    let nl = text.indexOf('\n', pos);
    const last = nl === -1;
    if (last) nl = text.length;
    let lineEnd = nl;
    if (lineEnd > pos && text.charCodeAt(lineEnd - 1) === 13) lineEnd--;
    const line = text.slice(pos, lineEnd);
    pos = nl + 1;
    if (line === '--END COMMAND--' || line === '--END SMS EVENT--') {
      follows = 2;
      lines.push(line);
    } else if (follows > 1 && line.length === 0) {
      terminated = true;
      break;
    } else if (!(last && line.length === 0)) {
      lines.push(line);
    }
    if (last) break;
  }
  if (terminated || follows > 1) lines.pop();
  const content = lines.join('\n');
  const out: AmiFrame = { response: 'follows', content };
  const m = /actionid: ([^\r\n]+)/i.exec(content);
  if (m?.[1] !== undefined) out.actionid = m[1];
  return out;
}

function addField(item: AmiFrame, key: string, value: string): void {
  if (key === 'variable' || key === 'chanvariable') {
    let vars = Object.hasOwn(item, key) ? item[key] : undefined;
    if (typeof vars !== 'object' || vars === null || Array.isArray(vars)) {
      vars = {};
      setOwn(item, key, vars);
    }
    const eq = value.indexOf('=');
    if (eq === -1) setOwn(vars as AmiVariables, value, '');
    else setOwn(vars as AmiVariables, value.slice(0, eq), value.slice(eq + 1));
    return;
  }
  const prev = Object.hasOwn(item, key) ? item[key] : undefined;
  if (prev === undefined) setOwn(item, key, value);
  else if (Array.isArray(prev)) prev.push(value);
  else if (typeof prev === 'string') item[key] = [prev, value];
  else setOwn(item, key, value);
}

/** An own data property even for `__proto__` / `constructor` (no prototype games). */
function setOwn(o: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
  else o[key] = value;
}

/**
 * A stream of AMI text (socket chunks cut anywhere) → one `onMessage` per complete message, each
 * exactly as parseAmiFrame (and so the asterisk-manager client) parses it. This replaces the
 * client's own reader on the socket (ami.client.ts): that one re-splits and re-joins its whole
 * backlog on every chunk (quadratic in a large chunk) and costs ~20 µs per event; this one finds
 * message ends with indexOf and parses each message once (~4 µs). Blank lines between messages
 * (the client would emit an empty `{}`) are skipped. Each message comes with its raw text, up to and
 * including the blank line that ends it (parseAmiFrame(raw) gives the same frame again).
 */
export function createAmiStreamParser(onMessage: (frame: AmiFrame, raw: string) => void): (chunk: string) => void {
  let pending = '';
  return (chunk) => {
    const text = pending.length ? pending + chunk : chunk;
    let pos = 0;
    for (;;) {
      // blank lines before a message, and the greeting line, belong to no message
      while (pos < text.length && (text.charCodeAt(pos) === 10 || (text.charCodeAt(pos) === 13 && text.charCodeAt(pos + 1) === 10)))
        pos += text.charCodeAt(pos) === 13 ? 2 : 1;
      if (text.startsWith(GREETING, pos)) {
        const nl = text.indexOf('\n', pos);
        if (nl === -1) break;
        pos = nl + 1;
        continue;
      }
      const end = isFollowsStart(text, pos) ? followsEnd(text, pos) : messageEnd(text, pos);
      if (end === -1) break;
      const raw = detached(text.slice(pos, end));
      onMessage(parseAmiFrame(raw), raw);
      pos = end;
    }
    pending = pos === 0 ? text : text.slice(pos);
  };
}

/**
 * A copy of `s` that shares no memory with the string it was cut from. V8 makes a substring of 13
 * characters or more a view into its parent: a header value the tracker keeps for a call in
 * progress (a channel name, a linkedid) would keep the whole socket chunk it came in (up to 64 KiB)
 * alive, and promote it. Measured at 10k events/s: socket chunks were 22 % of what the young
 * generation promoted. Concatenation makes a cons string; slicing it flattens it into a fresh
 * string of the message alone, which the values then point into.
 */
function detached(s: string): string {
  return (' ' + s).slice(1);
}

/** The index just past the blank line ending the message that starts at `pos`; -1: not complete yet. */
function messageEnd(text: string, pos: number): number {
  let from = pos;
  for (;;) {
    const nl = text.indexOf('\n', from);
    if (nl === -1) return -1;
    const next = text.charCodeAt(nl + 1);
    if (next === 10) return nl + 2;
    if (next === 13 && text.charCodeAt(nl + 2) === 10) return nl + 3;
    if (Number.isNaN(next) || (next === 13 && nl + 2 >= text.length)) return -1;
    from = nl + 1;
  }
}

/** `Response: Follows`: past the blank line after `--END COMMAND--` (or `--END SMS EVENT--`). */
function followsEnd(text: string, pos: number): number {
  let from = pos;
  for (;;) {
    const a = text.indexOf('\n--END COMMAND--', from);
    const b = text.indexOf('\n--END SMS EVENT--', from);
    const marker = a === -1 ? b : b === -1 ? a : Math.min(a, b);
    if (marker === -1) return -1;
    const nl = text.indexOf('\n', marker + 1);
    if (nl === -1) return -1;
    // the marker must be a whole line (an optional \r before the newline)
    const line = text.slice(marker + 1, text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl);
    if (line !== '--END COMMAND--' && line !== '--END SMS EVENT--') {
      from = marker + 1;
      continue;
    }
    return messageEnd(text, marker + 1);
  }
}
