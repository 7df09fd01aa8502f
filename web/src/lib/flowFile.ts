// What the flows list does to a flow's YAML text without an editor: a blank flow, a flow's id and
// name replaced for a copy, a template or an import (every other byte kept, comments included),
// ids made from names, and times said relative to now.
import { isMap, isScalar, parseDocument, stringify } from 'yaml';

/** A flow id as the server accepts it: lowercase letters, digits, `-` and `_`, from a letter or digit. */
export const FLOW_ID = /^[a-z0-9][a-z0-9_-]*$/;

/** The id a name suggests: `GHL contact → DF` is `ghl-contact-df`; `flow` when nothing is left. */
export function slugify(name: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 64)
    .replace(/-+$/, '');
  return slug || 'flow';
}

/** `base`, else `base-2`, `base-3`, … : the first one not in `taken`. */
export function freeId(base: string, taken: ReadonlySet<string>): string {
  if (!taken.has(base)) return base;
  for (let n = 2; ; n++) {
    const id = `${base}-${n}`;
    if (!taken.has(id)) return id;
  }
}

/** The id of a copy of `id`: `<id>-copy`, or `<id>-copy-2`, … when taken. */
export function copyId(id: string, taken: ReadonlySet<string>): string {
  return freeId(`${id}-copy`, taken);
}

/** `text` as a one-line YAML scalar: plain when YAML reads it back as the same string, else quoted. */
function scalar(text: string): string {
  const plain = stringify(text, { lineWidth: 0 }).trimEnd();
  return plain.includes('\n') ? JSON.stringify(text) : plain;
}

/** The smallest flow a person starts from: its id and name; the editor adds the trigger and steps. */
export function blankFlow(id: string, name: string): string {
  return `id: ${scalar(id)}\nname: ${scalar(name)}\n`;
}

/** The top-level `id` and `name` of a flow's YAML, when it has them (as strings). */
export function readIdAndName(yaml: string): { id?: string; name?: string } {
  const doc = parseDocument(yaml);
  if (!isMap(doc.contents)) return {};
  const text = (key: string) => {
    const value = doc.get(key);
    return typeof value === 'string' && value.trim() !== '' ? value : undefined;
  };
  return { id: text('id'), name: text('name') };
}

/**
 * `yaml` with its top-level `id` and `name` set to `id` and `name`: the two values are replaced
 * in the text where they stand and nothing else changes. A missing key is added on the line
 * after `id` (or at the top, after the opening comment). Throws when the text is no YAML mapping.
 */
export function withIdAndName(yaml: string, id: string, name: string): string {
  const doc = parseDocument(yaml);
  if (doc.errors.length > 0) throw new Error(`The YAML does not parse: ${doc.errors[0].message}`);
  if (!isMap(doc.contents)) throw new Error('The YAML is not a flow: its top level is not a mapping of keys.');
  const edits: { start: number; end: number; text: string }[] = [];
  const missing: string[] = [];
  for (const [key, value] of [
    ['id', id],
    ['name', name],
  ] as const) {
    const pair = doc.contents.items.find((item) => isScalar(item.key) && item.key.value === key);
    const node = pair?.value;
    if (pair && isScalar(node) && node.range) {
      // `name:` with nothing after it is an empty scalar right after the colon.
      const empty = node.range[0] === node.range[1];
      edits.push({ start: node.range[0], end: node.range[1], text: `${empty ? ' ' : ''}${scalar(value)}` });
    } else {
      missing.push(`${key}: ${scalar(value)}`);
    }
  }
  let text = yaml;
  for (const edit of edits.sort((a, b) => b.start - a.start)) {
    text = text.slice(0, edit.start) + edit.text + text.slice(edit.end);
  }
  if (missing.length > 0) {
    const lines = text.split('\n');
    const idLine = lines.findIndex((line) => /^id\s*:/.test(line));
    const at = idLine >= 0 ? idLine + 1 : lines.findIndex((line) => line.trim() !== '' && !line.startsWith('#'));
    lines.splice(at < 0 ? lines.length : at, 0, ...missing);
    text = lines.join('\n');
  }
  return text;
}

/** `3 min ago`, `in 2 h`, `just now`: `iso` said relative to `now`. */
export function relativeTime(iso: string, now: number = Date.now()): string {
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return iso;
  const seconds = Math.round((then - now) / 1000);
  if (Math.abs(seconds) < 45) return 'just now';
  const format = new Intl.RelativeTimeFormat('en', { numeric: 'auto', style: 'short' });
  const units: [Intl.RelativeTimeFormatUnit, number][] = [
    ['day', 86_400],
    ['hour', 3600],
    ['minute', 60],
  ];
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size || unit === 'minute') return format.format(Math.round(seconds / size), unit);
  }
  return format.format(seconds, 'second');
}
