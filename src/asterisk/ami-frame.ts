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

  // the fields go to `keys`/`values` first; the key sequence (the message's shape) picks how the
  // frame is built
  let n = 0;
  let shape: Shape | null = shapes;
  while (pos < end) {
    let nl = text.indexOf('\n', pos);
    if (nl === -1) nl = end;
    let lineEnd = nl;
    if (lineEnd > pos && text.charCodeAt(lineEnd - 1) === 13 /* \r */) lineEnd--;
    if (lineEnd === pos) {
      // A blank line ends the message (blank lines before it are skipped, as the client does).
      if (n) break;
      pos = nl + 1;
      continue;
    }
    const sep = text.indexOf(': ', pos);
    let key: string;
    let value: string;
    if (sep === -1 || sep >= lineEnd) {
      key = keyAt(text, pos, lineEnd);
      value = '';
    } else {
      key = keyAt(text, pos, sep);
      value = text.slice(sep + 2, lineEnd);
    }
    keys[n] = key;
    values[n++] = value;
    if (shape) shape = nextShape(shape, key);
    pos = nl + 1;
  }
  const template = shape && (shape.template === undefined ? templateFor(shape, n) : shape.template);
  const item: AmiFrame = template ? { ...template } : {};
  if (template) for (let i = 0; i < n; i++) item[keys[i]!] = values[i];
  else for (let i = 0; i < n; i++) addField(item, keys[i]!, values[i]!);
  if (n > 64) {
    // a long message's values must not stay referenced from the scratch arrays
    keys.length = 0;
    values.length = 0;
  }
  const ev = item.event;
  if (ev !== undefined && typeof ev !== 'string') {
    // ManagerEvent: the event name is always one string.
    item.event = Array.isArray(ev) ? String(ev[0]) : String(ev);
  }
  return item;
}

/**
 * Frames are built from one template object per shape (the sequence of keys: each event type has
 * its own, in Asterisk's order): a clone of it has every field in place, so the frame keeps V8's
 * fast properties with one hidden class per shape, where adding ~20 keys one by one made a
 * quarter of the frames (those past ~20 fields) dictionaries, larger and slower to read. Shapes
 * form a tree by key; a shape with a repeated key, a `variable`/`chanvariable` (folded into a
 * sub-object) or `__proto__` has no template and is built field by field. The tree is bounded:
 * past MAX_SHAPES, new shapes are built field by field too.
 */
interface Shape {
  next: Map<string, Shape>;
  /** undefined: not made yet; null: built field by field */
  template: AmiFrame | null | undefined;
}

const MAX_SHAPES = 20_000;
const shapes: Shape = { next: new Map(), template: null };
let shapeCount = 0;
const keys: string[] = [];
const values: string[] = [];

function nextShape(shape: Shape, key: string): Shape | null {
  let next = shape.next.get(key);
  if (next === undefined) {
    if (shapeCount >= MAX_SHAPES) return null;
    shapeCount++;
    next = { next: new Map(), template: undefined };
    shape.next.set(key, next);
  }
  return next;
}

/** The template of the shape the first `n` keys make (made on the shape's first message). */
function templateFor(shape: Shape, n: number): AmiFrame | null {
  const fields = keys.slice(0, n);
  const special = (k: string) => k === 'variable' || k === 'chanvariable' || k === '__proto__';
  if (fields.some(special) || new Set(fields).size !== n) {
    shape.template = null;
    return null;
  }
  // JSON.parse gives an object with fast properties; each field is then written once more so that
  // no clone's first write changes its hidden class
  const template = JSON.parse(JSON.stringify(Object.fromEntries(fields.map((k) => [k, ''])))) as AmiFrame;
  for (const k of fields) template[k] = ' ';
  shape.template = template;
  return template;
}

/**
 * A copy of a string from the wire that does not keep its message's text alive. A frame's values
 * are V8 slices of the text they were parsed from (the message, ~0.5 KB; with the library's own
 * reader, the whole chunk it read, up to 64 KiB): one id kept by the tracker would pin it, and ids
 * outlive their frame by the length of a call and beyond (remembered ended calls). Strings
 * shorter than 13 characters are never slices (V8 copies them).
 */
export function detach(s: string): string {
  return s.length < 13 ? s : (' ' + s).slice(1);
}

/**
 * The client's key for text[start, end): trimmed, lowercased. AMI uses a few hundred distinct keys:
 * they are cached by a hash of their characters, so a known key is found without cutting it out of
 * the text (a frame has ~20 of them; cutting each was a third of the parser's garbage). A key whose
 * hash is taken by another is just not cached.
 */
function keyAt(text: string, start: number, end: number): string {
  let h = end - start;
  for (let i = start; i < end; i++) h = (Math.imul(h, 31) + text.charCodeAt(i)) | 0;
  const known = keyCache.get(h);
  if (known !== undefined && known.raw.length === end - start && text.startsWith(known.raw, start)) return known.key;
  const raw = text.slice(start, end);
  const key = raw.trim().toLowerCase();
  // a copy: the slice would keep its whole message alive for as long as the cache lives
  if (known === undefined && keyCache.size < 4096 && raw.length <= 64) keyCache.set(h, { raw: detach(raw), key: detach(key) });
  return key;
}

const keyCache = new Map<number, { raw: string; key: string }>();

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
 * A stream of AMI bytes (socket chunks cut anywhere, even inside a UTF-8 character) → one
 * `onMessage` per complete message, each exactly as parseAmiFrame (and so the asterisk-manager
 * client) parses it. This replaces the client's own reader on the socket (ami.client.ts): that one
 * re-splits and re-joins its whole backlog on every chunk (quadratic in a large chunk) and costs
 * ~20 µs per event; this one finds message ends in the bytes and parses each message once.
 * Blank lines between messages (the client would emit an empty `{}`) are skipped. Each message
 * comes with its raw text, up to and including the blank line that ends it (parseAmiFrame(raw)
 * gives the same frame again).
 *
 * Each message is decoded on its own, from the bytes: its text shares no memory with the socket
 * chunk. (A chunk decoded whole, as the client does, is a string of up to 64 KiB, and V8 makes
 * every substring of 13 characters or more a view into it: one header value the tracker keeps for
 * a call in progress, a channel name or a linkedid, kept the whole chunk alive. At 10k events/s
 * those chunks were 22 % of what the young generation promoted.) The delimiters are ASCII, and no
 * byte of a multi-byte UTF-8 character is ASCII, so a message's bytes always hold whole
 * characters. A string chunk (tests) is encoded first.
 */
export function createAmiStreamParser(onMessage: (frame: AmiFrame, raw: string) => void): (chunk: Buffer | string) => void {
  // The unfinished message waits in `held` (its first `heldLength` bytes), a buffer of our own that
  // is reused: the next chunk is copied after it there, so no chunk-sized Buffer is allocated for
  // the join (garbage outside the V8 heap goes only with a full GC).
  let held = Buffer.allocUnsafeSlow(HELD_BYTES);
  let heldLength = 0;
  return (chunk) => {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    let buf = bytes;
    if (heldLength) {
      const need = heldLength + bytes.length;
      if (need > held.length) {
        const bigger = Buffer.allocUnsafeSlow(need * 2);
        held.copy(bigger, 0, 0, heldLength);
        held = bigger;
      }
      bytes.copy(held, heldLength);
      buf = held.subarray(0, need);
    }
    let pos = 0;
    for (;;) {
      // blank lines before a message, and the greeting line, belong to no message
      while (pos < buf.length && (buf[pos] === LF || (buf[pos] === CR && buf[pos + 1] === LF))) pos += buf[pos] === CR ? 2 : 1;
      if (buf[pos] === GREETING_FIRST && buf.toString('latin1', pos, Math.min(buf.length, pos + GREETING.length)) === GREETING) {
        const nl = buf.indexOf(LF, pos);
        if (nl === -1) break;
        pos = nl + 1;
        continue;
      }
      const end = followsAt(buf, pos) ? followsEnd(buf, pos) : messageEnd(buf, pos);
      if (end === -1) break;
      const raw = buf.toString('utf8', pos, end);
      onMessage(parseAmiFrame(raw), raw);
      pos = end;
    }
    // keep the unfinished message for the next chunk
    heldLength = buf.length - pos;
    if (heldLength === 0) return;
    if (buf !== bytes && !(held.length > MAX_IDLE_HELD_BYTES && heldLength <= HELD_BYTES)) {
      held.copyWithin(0, pos, buf.length);
      return;
    }
    // from the chunk itself, or out of a held buffer grown for one long message
    if (heldLength > held.length || held.length > MAX_IDLE_HELD_BYTES) held = Buffer.allocUnsafeSlow(Math.max(HELD_BYTES, heldLength * 2));
    buf.copy(held, 0, pos);
  };
}

/** The held buffer's usual size; past MAX_IDLE_HELD_BYTES (a long message went through) it shrinks back. */
const HELD_BYTES = 128 * 1024;
const MAX_IDLE_HELD_BYTES = 1024 * 1024;

const LF = 10;
const CR = 13;
const GREETING_FIRST = GREETING.charCodeAt(0);

/** The index just past the blank line ending the message that starts at `pos`; -1: not complete yet. */
function messageEnd(buf: Buffer, pos: number): number {
  let from = pos;
  for (;;) {
    const nl = buf.indexOf(LF, from);
    if (nl === -1) return -1;
    const next = buf[nl + 1];
    if (next === LF) return nl + 2;
    if (next === CR && buf[nl + 2] === LF) return nl + 3;
    if (next === undefined || (next === CR && nl + 2 >= buf.length)) return -1;
    from = nl + 1;
  }
}

/** Does a `Response: …Follows…` message start at `pos`? (read on its first line) */
function followsAt(buf: Buffer, pos: number): boolean {
  // 'R' or 'r' first: anything else is no response
  if (((buf[pos] ?? 0) | 0x20) !== 0x72) return false;
  let nl = buf.indexOf(LF, pos);
  if (nl === -1) nl = buf.length;
  return isFollowsStart(buf.toString('latin1', pos, nl), 0);
}

/** `Response: Follows`: past the blank line after `--END COMMAND--` (or `--END SMS EVENT--`). */
function followsEnd(buf: Buffer, pos: number): number {
  let from = pos;
  for (;;) {
    const a = buf.indexOf('\n--END COMMAND--', from, 'latin1');
    const b = buf.indexOf('\n--END SMS EVENT--', from, 'latin1');
    const marker = a === -1 ? b : b === -1 ? a : Math.min(a, b);
    if (marker === -1) return -1;
    const nl = buf.indexOf(LF, marker + 1);
    if (nl === -1) return -1;
    // the marker must be a whole line (an optional \r before the newline)
    const line = buf.toString('latin1', marker + 1, buf[nl - 1] === CR ? nl - 1 : nl);
    if (line !== '--END COMMAND--' && line !== '--END SMS EVENT--') {
      from = marker + 1;
      continue;
    }
    return messageEnd(buf, marker + 1);
  }
}
