import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * A small parser for Asterisk's configuration syntax, enough to check the files in
 * asterisk-config/: sections `[name]`, templates `[name](!)`, inheritance `[name](tpl,...)`,
 * additions `[name](+)`, `key = value` and `key => value` (also `exten =>` / `same =>`),
 * `;` comments (`\;` is a literal semicolon), `;-- block comments --;` and `#include` /
 * `#tryinclude` / `#exec` directives (recorded, not followed). Section names may repeat
 * (pjsip.conf has an endpoint, an aor and an identify all called `carrier`), so sections are
 * kept in file order.
 */

export interface ConfEntry {
  readonly key: string;
  readonly value: string;
  /** `=>` (object/extension syntax) rather than `=` */
  readonly arrow: boolean;
  readonly line: number;
}

export interface ConfSection {
  readonly name: string;
  /** `[name](!)`: a template, not an object of its own */
  readonly isTemplate: boolean;
  /** `[name](+)`: adds to an earlier section of the same name */
  readonly isAddition: boolean;
  /** templates named in `[name](a,b)`, in order */
  readonly templates: readonly string[];
  readonly entries: readonly ConfEntry[];
  readonly line: number;
}

export interface ConfDirective {
  readonly directive: 'include' | 'tryinclude' | 'exec';
  readonly argument: string;
  readonly line: number;
}

export interface ConfFile {
  readonly sections: readonly ConfSection[];
  readonly directives: readonly ConfDirective[];
  /** entries before the first section header (Asterisk ignores them with a warning) */
  readonly orphans: readonly ConfEntry[];
}

export class ConfSyntaxError extends Error {
  constructor(
    readonly lineNumber: number,
    problem: string,
  ) {
    super(`line ${lineNumber}: ${problem}`);
    this.name = 'ConfSyntaxError';
  }
}

/** Removes a `;` comment (not an escaped `\;`) and unescapes `\;`. */
function stripComment(line: string): string {
  let out = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === '\\' && line[i + 1] === ';') {
      out += ';';
      i++;
    } else if (c === ';') {
      break;
    } else {
      out += c;
    }
  }
  return out;
}

interface MutableSection {
  name: string;
  isTemplate: boolean;
  isAddition: boolean;
  templates: string[];
  entries: ConfEntry[];
  line: number;
}

export function parseAsteriskConf(text: string): ConfFile {
  const sections: MutableSection[] = [];
  const directives: ConfDirective[] = [];
  const orphans: ConfEntry[] = [];
  let current: MutableSection | undefined;
  let inBlockComment = false;

  const lines = text.split(/\r?\n/);
  lines.forEach((raw, index) => {
    const lineNumber = index + 1;
    let line = raw;

    if (inBlockComment) {
      const end = line.indexOf('--;');
      if (end === -1) return;
      line = line.slice(end + 3);
      inBlockComment = false;
    }
    const blockStart = line.indexOf(';--');
    if (blockStart !== -1 && (blockStart === 0 || line[blockStart - 1] !== '\\')) {
      const end = line.indexOf('--;', blockStart + 3);
      if (end === -1) {
        line = line.slice(0, blockStart);
        inBlockComment = true;
      } else {
        line = line.slice(0, blockStart) + line.slice(end + 3);
      }
    }

    const content = stripComment(line).trim();
    if (content === '') return;

    const directive = /^#(include|tryinclude|exec)\s+(.+)$/.exec(content);
    if (directive) {
      directives.push({
        directive: directive[1] as ConfDirective['directive'],
        argument: directive[2]!
          .trim()
          .replace(/^"(.*)"$/, '$1')
          .replace(/^<(.*)>$/, '$1'),
        line: lineNumber,
      });
      return;
    }

    if (content.startsWith('[')) {
      const header = /^\[([^\]]+)\](?:\(([^)]*)\))?$/.exec(content);
      if (!header) throw new ConfSyntaxError(lineNumber, `bad section header: ${content}`);
      const options = (header[2] ?? '')
        .split(',')
        .map((o) => o.trim())
        .filter((o) => o !== '');
      current = {
        name: header[1]!.trim(),
        isTemplate: options.includes('!'),
        isAddition: options.includes('+'),
        templates: options.filter((o) => o !== '!' && o !== '+'),
        entries: [],
        line: lineNumber,
      };
      sections.push(current);
      return;
    }

    const separator = /=>?/.exec(content);
    if (!separator || separator.index === 0) {
      throw new ConfSyntaxError(lineNumber, `expected "key = value" or "key => value": ${content}`);
    }
    const entry: ConfEntry = {
      key: content.slice(0, separator.index).trim(),
      value: content.slice(separator.index + separator[0].length).trim(),
      arrow: separator[0] === '=>',
      line: lineNumber,
    };
    if (current) current.entries.push(entry);
    else orphans.push(entry);
  });

  if (inBlockComment) throw new ConfSyntaxError(lines.length, 'unterminated ;-- block comment');
  return { sections, directives, orphans };
}

export function loadAsteriskConf(file: string): ConfFile {
  return parseAsteriskConf(readFileSync(file, 'utf8'));
}

/** The repository's asterisk-config/ directory. */
export const ASTERISK_CONFIG_DIR = path.resolve(__dirname, '../../asterisk-config');

export function loadShippedConf(name: string): ConfFile {
  return loadAsteriskConf(path.join(ASTERISK_CONFIG_DIR, name));
}

/** All non-template sections called `name`, additions included. */
export function sectionsNamed(conf: ConfFile, name: string): ConfSection[] {
  return conf.sections.filter((s) => s.name === name && !s.isTemplate);
}

/**
 * The entries a section really has: those of its templates (recursively, in order) followed by
 * its own, as Asterisk copies template variables into the section before its own lines.
 */
export function effectiveEntries(conf: ConfFile, section: ConfSection, seen: Set<ConfSection> = new Set()): ConfEntry[] {
  if (seen.has(section)) throw new Error(`template loop at [${section.name}]`);
  seen.add(section);
  const inherited = section.templates.flatMap((tplName) => {
    const tpl = conf.sections.find((s) => s.name === tplName && s.isTemplate);
    if (!tpl) throw new Error(`[${section.name}] uses unknown template (${tplName})`);
    return effectiveEntries(conf, tpl, seen);
  });
  return [...inherited, ...section.entries];
}

/** The one non-template section called `name` (plus its `(+)` additions); `type` picks among same-named sections (pjsip.conf). */
export function section(conf: ConfFile, name: string, type?: string): ConfEntry[] {
  // A (+) section adds to the most recent earlier section of the same name.
  const objects: ConfEntry[][] = [];
  for (const s of sectionsNamed(conf, name)) {
    const last = objects[objects.length - 1];
    if (s.isAddition && last) last.push(...effectiveEntries(conf, s));
    else objects.push(effectiveEntries(conf, s));
  }
  const matching = objects.filter((entries) => type === undefined || lastValue(entries, 'type') === type);
  const what = `[${name}]${type ? ` of type ${type}` : ''}`;
  if (matching.length === 0) throw new Error(`no section ${what}`);
  if (matching.length > 1) throw new Error(`several sections ${what}`);
  return matching[0]!;
}

/** Like ast_variable_retrieve: the last value of `key` (case-insensitive), or undefined. */
export function lastValue(entries: readonly ConfEntry[], key: string): string | undefined {
  const k = key.toLowerCase();
  let value: string | undefined;
  for (const e of entries) if (e.key.toLowerCase() === k) value = e.value;
  return value;
}

export function allValues(entries: readonly ConfEntry[], key: string): string[] {
  const k = key.toLowerCase();
  return entries.filter((e) => e.key.toLowerCase() === k).map((e) => e.value);
}

/** Asterisk's ast_true(): yes, true, y, t, 1, on. */
export function isTrue(value: string | undefined): boolean {
  return value !== undefined && /^(yes|true|y|t|1|on)$/i.test(value.trim());
}

/** A comma-separated list, trimmed, empty items dropped. */
export function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

// ---- dialplan ---------------------------------------------------------------------------

export interface DialplanStep {
  readonly context: string;
  readonly exten: string;
  /** a number, or "n" for the next priority */
  readonly priority: string;
  readonly label: string | undefined;
  readonly app: string;
  readonly args: string;
  readonly line: number;
}

/**
 * The steps of one context: `exten => pattern,priority[(label)],App(args)` and
 * `same => priority[(label)],App(args)` (which continues the previous exten).
 */
export function dialplanSteps(conf: ConfFile, context: string): DialplanStep[] {
  const entries = section(conf, context);
  const steps: DialplanStep[] = [];
  let exten: string | undefined;
  for (const e of entries) {
    const key = e.key.toLowerCase();
    if (key !== 'exten' && key !== 'same') continue;
    let rest = e.value;
    if (key === 'exten') {
      const comma = rest.indexOf(',');
      if (comma === -1) throw new ConfSyntaxError(e.line, `exten without priority: ${e.value}`);
      exten = rest.slice(0, comma).trim();
      rest = rest.slice(comma + 1);
    } else if (exten === undefined) {
      throw new ConfSyntaxError(e.line, 'same => before any exten =>');
    }
    const comma = rest.indexOf(',');
    const priorityPart = (comma === -1 ? rest : rest.slice(0, comma)).trim();
    const appPart = comma === -1 ? '' : rest.slice(comma + 1).trim();
    const priority = /^([^(]+)(?:\(([^)]+)\))?$/.exec(priorityPart);
    if (!priority) throw new ConfSyntaxError(e.line, `bad priority: ${priorityPart}`);
    const app = /^([A-Za-z][A-Za-z0-9_]*)(?:\((.*)\))?$/s.exec(appPart);
    if (!app) throw new ConfSyntaxError(e.line, `bad application: ${appPart}`);
    steps.push({
      context,
      exten,
      priority: priority[1]!.trim(),
      label: priority[2]?.trim(),
      app: app[1]!,
      args: app[2] ?? '',
      line: e.line,
    });
  }
  return steps;
}

/** The steps of one extension of a context, in order. */
export function extensionSteps(conf: ConfFile, context: string, exten: string): DialplanStep[] {
  return dialplanSteps(conf, context).filter((s) => s.exten === exten);
}

/**
 * Splits application arguments on top-level commas (not inside `${...}`, `$[...]` or
 * parentheses), as Asterisk does for `App(a,b,c)`.
 */
export function splitArgs(args: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let current = '';
  for (const c of args) {
    if (c === '{' || c === '[' || c === '(') depth++;
    if (c === '}' || c === ']' || c === ')') depth--;
    if (c === ',' && depth === 0) {
      out.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  out.push(current);
  return out.map((a) => a.trim());
}
