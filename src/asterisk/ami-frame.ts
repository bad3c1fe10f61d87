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
 * Deliberate difference from the client: the result has no prototype, so keys such as
 * `constructor` or `__proto__` are plain data (the client, using `key in item`, turns
 * `Constructor: x` into `[Function Object, 'x']`).
 */
export function parseAmiFrame(raw: string): AmiFrame {
  const text = typeof raw === 'string' ? raw : String(raw);
  const item: AmiFrame = Object.create(null) as AmiFrame;
  let pos = 0;
  const end = text.length;
  let first = true;
  let follows = 0;
  const followLines: string[] = [];
  let any = false;

  while (pos <= end) {
    let nl = text.indexOf('\n', pos);
    const atEnd = nl === -1;
    if (atEnd) nl = end;
    let lineEnd = nl;
    if (lineEnd > pos && text.charCodeAt(lineEnd - 1) === 13 /* \r */) lineEnd--;
    const line = text.slice(pos, lineEnd);
    pos = nl + 1;

    if (first && !any && follows === 0 && line.startsWith(GREETING)) {
      // The client ignores the greeting line.
      if (atEnd) break;
      continue;
    }
    first = false;

    if (follows === 0 && !any && line.slice(0, 9).toLowerCase() === 'response:' && line.toLowerCase().includes('follow')) {
      follows = 1;
      followLines.push(line);
      if (atEnd) break;
      continue;
    }
    if (follows > 0) {
      if (follows === 1 && (line === '--END COMMAND--' || line === '--END SMS EVENT--')) {
        follows = 2;
        followLines.push(line);
      } else if (follows > 1 && line.length === 0) {
        break;
      } else {
        followLines.push(line);
      }
      if (atEnd) break;
      continue;
    }

    if (line.length === 0) {
      if (any) break;
      if (atEnd) break;
      continue;
    }
    any = true;
    addLine(item, line);
    if (atEnd) break;
  }

  if (follows > 0) {
    const out: AmiFrame = Object.create(null) as AmiFrame;
    if (follows > 1) followLines.pop();
    const content = followLines.join('\n');
    out.response = 'follows';
    out.content = content;
    const m = /actionid: ([^\r\n]+)/i.exec(content);
    if (m?.[1] !== undefined) out.actionid = m[1];
    return out;
  }

  const ev = item.event;
  if (ev !== undefined) {
    // ManagerEvent: the event name is always one string.
    if (Array.isArray(ev)) item.event = String(ev[0]);
    else if (typeof ev !== 'string') item.event = String(ev);
  }
  return item;
}

function addLine(item: AmiFrame, line: string): void {
  const sep = line.indexOf(': ');
  const rawKey = sep === -1 ? line : line.slice(0, sep);
  const value = sep === -1 ? '' : line.slice(sep + 2);
  const key = rawKey.trim().toLowerCase();

  if (key === 'variable' || key === 'chanvariable') {
    let vars = item[key];
    if (typeof vars !== 'object' || vars === null || Array.isArray(vars)) {
      vars = Object.create(null) as AmiVariables;
      item[key] = vars;
    }
    const eq = value.indexOf('=');
    if (eq === -1) (vars as AmiVariables)[value] = '';
    else (vars as AmiVariables)[value.slice(0, eq)] = value.slice(eq + 1);
    return;
  }

  const prev = item[key];
  if (prev === undefined) item[key] = value;
  else if (Array.isArray(prev)) prev.push(value);
  else if (typeof prev === 'string') item[key] = [prev, value];
  else item[key] = value;
}
