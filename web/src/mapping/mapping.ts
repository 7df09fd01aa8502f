// What visual mapping does, as pure functions: a field of a sample becomes a reference
// (`trigger.email`) and an expression (`{{ trigger.email }}`); a sample becomes readable fields;
// target names are matched to source fields; filter conditions become a `when` and back; and the
// preview context is cut down to what an expression reads, so a large sample never travels.
import type { DataSource, PreviewContext } from '../editor/types';

/** A path inside a sample: keys of objects and indexes of arrays. */
export type FieldPath = (string | number)[];

/** What kind of value a field holds. */
export type Kind = 'string' | 'number' | 'boolean' | 'null' | 'object' | 'array';

/** One field of a sample, as the data panel shows it. */
export interface Field {
  /** The key in its parent (an index for array items). */
  key: string | number;
  /** The path from the source's root. */
  path: FieldPath;
  /** For people: `First name`, `Item 2`. */
  label: string;
  kind: Kind;
  /** The sample value as short text: the string itself (cut), `3 items`, `5 fields`. */
  sample: string;
  /** How many children an object or array has. */
  size: number;
  /** The field belongs to the first item of an array (its path holds a `0`). */
  firstItem?: boolean;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
// Words the template language reads as operators or constants; as keys they go in brackets.
const RESERVED = new Set(['and', 'or', 'not', 'in', 'is', 'if', 'else', 'true', 'false', 'none', 'True', 'False', 'None']);
const ACRONYMS = new Set(['id', 'url', 'uri', 'api', 'ghl', 'dnd', 'ip', 'sms', 'utc', 'iso', 'vat', 'sku', 'ssn']);

/** `trigger` + `['customFields', 0, 'value']` → `trigger.customFields[0].value`. */
export function referenceFor(root: string, path: FieldPath): string {
  let ref = root;
  for (const part of path) {
    if (typeof part === 'number') ref += `[${part}]`;
    else if (IDENTIFIER.test(part) && !RESERVED.has(part)) ref += `.${part}`;
    else ref += `[${JSON.stringify(part)}]`;
  }
  return ref;
}

/** `trigger.email` → `{{ trigger.email }}`. */
export function expressionFor(ref: string): string {
  return `{{ ${ref} }}`;
}

// A reference as `referenceFor` writes it (and as people usually do).
const REF_SOURCE = String.raw`[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\]|\["(?:[^"\\]|\\.)*"\])*`;
const SINGLE = new RegExp(String.raw`^\{\{\s*(${REF_SOURCE})\s*\}\}$`);

/** The reference when `expr` is exactly one (`{{ trigger.email }}`), else null. */
export function referenceOf(expr: unknown): string | null {
  if (typeof expr !== 'string') return null;
  return SINGLE.exec(expr.trim())?.[1] ?? null;
}

/** Whether `expr` is exactly one reference, such as a dropped field makes. */
export function isSingleReference(expr: unknown): boolean {
  return referenceOf(expr) !== null;
}

/** Whether a flow value is an expression or template (it holds `{{`, `{%` or `{#`), not a literal. */
export function isExpression(value: unknown): value is string {
  return typeof value === 'string' && /\{\{|\{%|\{#/.test(value);
}

/**
 * `existing` with `ref` dropped into it at `at` (default: the end). Empty text becomes
 * `{{ ref }}`; inside an open `{{ … }}` the bare reference goes in; elsewhere `{{ ref }}`,
 * separated from the text before it by a space.
 */
export function insertReference(existing: string, ref: string, at = existing.length): string {
  if (existing.trim() === '') return expressionFor(ref);
  const position = Math.max(0, Math.min(at, existing.length));
  const before = existing.slice(0, position);
  const after = existing.slice(position);
  const open = before.lastIndexOf('{{');
  const inside = open >= 0 && before.indexOf('}}', open) < 0 && after.includes('}}');
  if (inside) {
    // Spaced from words and braces, not from the brackets and commas around an argument.
    const left = /[\s([]$/.test(before) ? '' : ' ';
    const right = /^[\s),\]]/.test(after) ? '' : ' ';
    return `${before}${left}${ref}${right}${after}`;
  }
  const left = before.length > 0 && !/\s$/.test(before) ? ' ' : '';
  const right = after.length > 0 && !/^\s/.test(after) ? ' ' : '';
  return `${before}${left}${expressionFor(ref)}${right}${after}`;
}

/** `firstName` → `First name`, `ghl_contact_id` → `GHL contact ID`, `address1` → `Address 1`. */
export function labelFor(key: string | number): string {
  if (typeof key === 'number') return `Item ${key + 1}`;
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .replace(/([A-Za-z])(\d+)$/, '$1 $2')
    .split(/[\s_\-.]+/)
    .filter((word) => word !== '');
  if (words.length === 0) return key;
  return words
    .map((word, i) => {
      const lower = word.toLowerCase();
      if (ACRONYMS.has(lower)) return lower.toUpperCase();
      if (word.length > 1 && word === word.toUpperCase() && /[A-Z]/.test(word)) return word;
      return i === 0 ? lower.charAt(0).toUpperCase() + lower.slice(1) : lower;
    })
    .join(' ');
}

/** The kind of a JSON value. */
export function kindOf(value: unknown): Kind {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return 'array';
  switch (typeof value) {
    case 'string':
      return 'string';
    case 'number':
    case 'bigint':
      return 'number';
    case 'boolean':
      return 'boolean';
    default:
      return 'object';
  }
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** A value as short text: a string cut at `max` characters, `3 items`, `5 fields`, `null`. */
export function sampleText(value: unknown, max = 60): string {
  switch (kindOf(value)) {
    case 'string': {
      const text = value as string;
      if (text === '') return '(empty text)';
      return text.length > max ? `${text.slice(0, max)}…` : text;
    }
    case 'array': {
      const n = (value as unknown[]).length;
      return n === 0 ? 'empty list' : plural(n, 'item', 'items');
    }
    case 'object':
      return plural(Object.keys(value as object).length, 'field', 'fields');
    case 'null':
      return 'null';
    default:
      return String(value);
  }
}

/** How many children an object or array has (0 for anything else). */
export function sizeOf(value: unknown): number {
  if (Array.isArray(value)) return value.length;
  if (kindOf(value) === 'object') return Object.keys(value as object).length;
  return 0;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return kindOf(value) === 'object';
}

/** Whether a list's fields are best shown as its first item's (a list of records). */
export function showsFirstItem(value: unknown): boolean {
  return Array.isArray(value) && value.length > 0 && isRecord(value[0]);
}

export interface FieldsOptions {
  /** The path of `value` from its source's root (default: the root). */
  base?: FieldPath;
  /** The first child to list (for "show more"). */
  offset?: number;
  /** How many children to list at most. */
  limit?: number;
}

function fieldFor(key: string | number, path: FieldPath, value: unknown, firstItem: boolean): Field {
  const field: Field = { key, path, label: labelFor(key), kind: kindOf(value), sample: sampleText(value), size: sizeOf(value) };
  if (firstItem) field.firstItem = true;
  return field;
}

/**
 * The fields directly inside `value`: an object's keys, a list's items (`Item 1`…), or for a
 * list of records the first record's fields (their paths hold the `0`). Only `limit` children
 * from `offset` are looked at, so a huge value costs what is shown.
 */
export function fieldsOf(value: unknown, options: FieldsOptions = {}): Field[] {
  const base = options.base ?? [];
  const offset = Math.max(0, options.offset ?? 0);
  const limit = options.limit ?? Infinity;
  if (showsFirstItem(value)) {
    return fieldsOf((value as unknown[])[0], { base: [...base, 0], offset, limit }).map((field) => ({ ...field, firstItem: true }));
  }
  const fields: Field[] = [];
  if (Array.isArray(value)) {
    const end = Math.min(value.length, offset + limit);
    for (let i = offset; i < end; i++) fields.push(fieldFor(i, [...base, i], value[i], false));
    return fields;
  }
  if (!isRecord(value)) return fields;
  // `for…in` with a counter stops early; `Object.keys` of a huge record would list every key.
  let index = 0;
  for (const key in value) {
    if (!Object.prototype.hasOwnProperty.call(value, key)) continue;
    if (index >= offset) {
      if (fields.length >= limit) break;
      fields.push(fieldFor(key, [...base, key], value[key], false));
    }
    index++;
  }
  return fields;
}

/** How many fields `fieldsOf(value)` can list in all (for "show N more"). */
export function fieldCount(value: unknown): number {
  if (showsFirstItem(value)) return sizeOf((value as unknown[])[0]);
  return sizeOf(value);
}

/** A field anywhere in a source, for pickers and auto-mapping. */
export interface FlatField {
  /** The source's root (`trigger`, `steps.customer.output`). */
  root: string;
  /** The field's reference (`trigger.email`). */
  ref: string;
  path: FieldPath;
  /** The labels from the root down: `Custom fields › Value`. */
  label: string;
  kind: Kind;
  sample: string;
  /** The sample value itself. */
  value: unknown;
}

/**
 * The fields of a source down to `depth` levels (records inside records, and the first item of
 * a list of records), breadth first, at most `max` of them.
 */
export function flatFields(source: DataSource, depth = 3, max = 500): FlatField[] {
  const out: FlatField[] = [];
  const queue: { value: unknown; path: FieldPath; label: string; level: number }[] = [{ value: source.value, path: [], label: '', level: 0 }];
  while (queue.length > 0 && out.length < max) {
    const { value, path, label, level } = queue.shift()!;
    for (const field of fieldsOf(value, { base: path, limit: max - out.length })) {
      const child = valueAt(source.value, field.path);
      const full = label ? `${label} › ${field.label}` : field.label;
      out.push({ root: source.root, ref: referenceFor(source.root, field.path), path: field.path, label: full, kind: field.kind, sample: field.sample, value: child });
      if (out.length >= max) break;
      if ((field.kind === 'object' || showsFirstItem(child)) && level + 1 < depth) {
        queue.push({ value: child, path: field.path, label: full, level: level + 1 });
      }
    }
  }
  return out;
}

/** The value at `path` inside `value`, or undefined. */
export function valueAt(value: unknown, path: FieldPath): unknown {
  let current = value;
  for (const part of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string | number, unknown>)[part];
  }
  return current;
}

/** A name compared with case, `_`, `-`, `.` and spaces ignored: `full_name` ~ `fullName` ~ `Full name`. */
export function normalName(name: string): string {
  return name.toLowerCase().replace(/[\s_\-.]/g, '');
}

/** A target field of a mapping. */
export interface Target {
  key: string;
  title?: string;
  required?: boolean;
}

const FIRST_NAMES = ['firstname', 'first', 'givenname', 'forename'];
const LAST_NAMES = ['lastname', 'last', 'familyname', 'surname'];
const FULL_NAMES = ['fullname', 'name', 'contactname', 'customername'];

/**
 * Expressions for the targets whose names match a source field: the nearest source first (the
 * last in `sources`), then shallower fields first. A full name with no field of its own is made
 * from a first and a last name. Targets with no match are left out.
 */
export function autoMap(targets: Target[], sources: DataSource[]): Record<string, string> {
  const candidates: FlatField[] = [];
  for (const source of [...sources].reverse()) {
    if (source.value === undefined) continue;
    // Breadth first per source, so shallower fields come first.
    candidates.push(...flatFields(source, 3, 2000));
  }
  const byName = new Map<string, FlatField>();
  for (const field of candidates) {
    // A field of a list's first item stands for one record of many: never a guess.
    if (field.path.some((part) => typeof part === 'number')) continue;
    const last = field.path[field.path.length - 1];
    if (typeof last !== 'string') continue;
    const name = normalName(last);
    if (!byName.has(name)) byName.set(name, field);
  }
  const mapped: Record<string, string> = {};
  for (const target of targets) {
    const names = [normalName(target.key)];
    if (target.title) names.push(normalName(target.title));
    const found = names.map((name) => byName.get(name)).find((field) => field !== undefined);
    if (found) {
      mapped[target.key] = expressionFor(found.ref);
      continue;
    }
    if (names.some((name) => FULL_NAMES.includes(name))) {
      const first = FIRST_NAMES.map((name) => byName.get(name)).find((field) => field !== undefined);
      const last = LAST_NAMES.map((name) => byName.get(name)).find((field) => field !== undefined);
      if (first && last && first.root === last.root) {
        // `default(none)`: a record without one of them still gets the other.
        mapped[target.key] = `{{ full_name(${first.ref} | default(none), ${last.ref} | default(none)) }}`;
      }
    }
  }
  return mapped;
}

// ---------------------------------------------------------------------------------------------
// Filters

/** What a filter condition tests. */
export type Operator = 'set' | 'empty' | 'equals' | 'not_equals' | 'contains' | 'greater' | 'less';

/** Operators with their words for people, in the order a menu shows them. */
export const OPERATORS: { op: Operator; label: string; needsValue: boolean }[] = [
  { op: 'set', label: 'is set', needsValue: false },
  { op: 'empty', label: 'is empty', needsValue: false },
  { op: 'equals', label: 'equals', needsValue: true },
  { op: 'not_equals', label: 'does not equal', needsValue: true },
  { op: 'contains', label: 'contains', needsValue: true },
  { op: 'greater', label: 'is greater than', needsValue: true },
  { op: 'less', label: 'is less than', needsValue: true },
];

/** How a condition's value is written: text in quotes, a number or a boolean. */
export type ValueType = 'string' | 'number' | 'boolean';

/** One condition of a filter. */
export interface Condition {
  /** The field tested (`trigger.email`); an empty one is left out of the expression. */
  ref: string;
  op: Operator;
  /** The value compared with, as typed. */
  value?: string;
  /** How `value` is written (default: text, or a number for greater / less when it is one). */
  type?: ValueType;
}

/** All conditions must hold, or any one. */
export type Join = 'all' | 'any';

function needsValue(op: Operator): boolean {
  return OPERATORS.find((entry) => entry.op === op)?.needsValue ?? false;
}

const NUMBER = /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/** A condition's value as a template literal. */
export function literalFor(value: string, type: ValueType | undefined, op: Operator): string {
  const text = value.trim();
  const effective = type ?? ((op === 'greater' || op === 'less') && NUMBER.test(text) ? 'number' : 'string');
  if (effective === 'number' && NUMBER.test(text)) return text;
  if (effective === 'boolean' && (text === 'true' || text === 'false')) return text;
  return JSON.stringify(value);
}

// A reference split into its accessors: `trigger`, `.a`, `[0]`, `["b c"]`.
const ACCESSOR = /^(?:\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\]|\["(?:[^"\\]|\\.)*"\])/;

/**
 * What must be defined before `ref` can be read: each prefix below its source's root
 * (`trigger`, `steps.<id>.output`), the reference itself last. `trigger.a.b` needs `trigger.a`
 * first, since reading a field of something missing is an error, not "undefined".
 */
export function guardsFor(ref: string): string[] {
  const head = /^[A-Za-z_][A-Za-z0-9_]*/.exec(ref);
  if (!head) return [ref];
  const parts: string[] = [];
  let rest = ref.slice(head[0].length);
  while (rest.length > 0) {
    const m = ACCESSOR.exec(rest);
    if (!m) return [ref];
    parts.push(m[0]);
    rest = rest.slice(m[0].length);
  }
  const rootParts = head[0] === 'steps' ? 2 : 0;
  const guards: string[] = [];
  let prefix = head[0] + parts.slice(0, rootParts).join('');
  for (const part of parts.slice(rootParts)) {
    prefix += part;
    guards.push(prefix);
  }
  return guards.length > 0 ? guards : [ref];
}

/** One condition as a test, guarded by `is defined`, since a missing field is an error. */
export function conditionExpression(condition: Condition): string {
  const r = condition.ref;
  const v = literalFor(condition.value ?? '', condition.type, condition.op);
  const defined = guardsFor(r)
    .map((guard) => `${guard} is defined`)
    .join(' and ');
  const missing = guardsFor(r)
    .map((guard) => `${guard} is not defined`)
    .join(' or ');
  switch (condition.op) {
    case 'set':
      return `${defined} and ${r}`;
    case 'empty':
      return `${missing} or not ${r}`;
    case 'equals':
      return `${defined} and ${r} == ${v}`;
    case 'not_equals':
      return `${missing} or ${r} != ${v}`;
    case 'contains':
      return `${defined} and ${v} in ${r}`;
    case 'greater':
      return `${defined} and ${r} > ${v}`;
    case 'less':
      return `${defined} and ${r} < ${v}`;
  }
}

/** Whether a condition is complete enough to be part of the expression. */
export function isComplete(condition: Condition): boolean {
  return condition.ref.trim() !== '' && (!needsValue(condition.op) || condition.value !== undefined);
}

/**
 * The filter's `when`: `{{ trigger.email is defined and trigger.email }}`; several conditions
 * are parenthesised and joined by `and` (all) or `or` (any). No complete condition gives ''.
 */
export function filterExpression(conditions: Condition[], join: Join): string {
  const parts = conditions.filter(isComplete).map(conditionExpression);
  if (parts.length === 0) return '';
  if (parts.length === 1) return `{{ ${parts[0]} }}`;
  return `{{ ${parts.map((part) => `(${part})`).join(join === 'all' ? ' and ' : ' or ')} }}`;
}

/** Splits `(a) and (b) and (c)` at its top-level parentheses; null when it is not that shape. */
function splitGroups(body: string): { groups: string[]; join: Join } | null {
  const groups: string[] = [];
  let join: Join | null = null;
  let i = 0;
  while (i < body.length) {
    if (body[i] !== '(') return null;
    let depth = 0;
    let j = i;
    let quote: string | null = null;
    for (; j < body.length; j++) {
      const c = body[j];
      if (quote) {
        if (c === '\\') j++;
        else if (c === quote) quote = null;
      } else if (c === '"' || c === "'") quote = c;
      else if (c === '(') depth++;
      else if (c === ')') {
        depth--;
        if (depth === 0) break;
      }
    }
    if (j >= body.length) return null;
    groups.push(body.slice(i + 1, j).trim());
    const rest = body.slice(j + 1);
    if (rest.trim() === '') break;
    const joiner = /^\s+(and|or)\s+/.exec(rest);
    if (!joiner) return null;
    const word: Join = joiner[1] === 'and' ? 'all' : 'any';
    if (join && join !== word) return null;
    join = word;
    i = j + 1 + joiner[0].length;
  }
  return { groups, join: join ?? 'all' };
}

const LITERAL = String.raw`"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false`;
// How each operator's test ends; the whole is then checked by writing it again.
const CONDITION_TAILS: { op: Operator; pattern: RegExp; ref: number; literal?: number }[] = [
  { op: 'equals', pattern: new RegExp(String.raw` and (${REF_SOURCE}) == (${LITERAL})$`), ref: 1, literal: 2 },
  { op: 'not_equals', pattern: new RegExp(String.raw` or (${REF_SOURCE}) != (${LITERAL})$`), ref: 1, literal: 2 },
  { op: 'contains', pattern: new RegExp(String.raw` and (${LITERAL}) in (${REF_SOURCE})$`), ref: 2, literal: 1 },
  { op: 'greater', pattern: new RegExp(String.raw` and (${REF_SOURCE}) > (${LITERAL})$`), ref: 1, literal: 2 },
  { op: 'less', pattern: new RegExp(String.raw` and (${REF_SOURCE}) < (${LITERAL})$`), ref: 1, literal: 2 },
  { op: 'empty', pattern: new RegExp(String.raw` or not (${REF_SOURCE})$`), ref: 1 },
  { op: 'set', pattern: new RegExp(String.raw` and (${REF_SOURCE})$`), ref: 1 },
];

function parseLiteral(text: string): { value: string; type: ValueType } {
  if (text.startsWith('"')) return { value: JSON.parse(text) as string, type: 'string' };
  if (text === 'true' || text === 'false') return { value: text, type: 'boolean' };
  return { value: text, type: 'number' };
}

/** Whitespace runs outside string literals made one space. */
function squeeze(text: string): string {
  let out = '';
  let quote = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      out += c;
      if (c === '\\' && i + 1 < text.length) out += text[++i];
      else if (c === '"') quote = false;
    } else if (/\s/.test(c)) {
      if (!out.endsWith(' ')) out += ' ';
    } else {
      if (c === '"') quote = true;
      out += c;
    }
  }
  return out.trim();
}

function parseCondition(text: string): Condition | null {
  const normal = squeeze(text);
  for (const { op, pattern, ref, literal } of CONDITION_TAILS) {
    const m = pattern.exec(normal);
    if (!m) continue;
    const condition: Condition = literal === undefined ? { ref: m[ref], op } : { ref: m[ref], op, ...parseLiteral(m[literal]) };
    if (conditionExpression(condition) === normal) return condition;
  }
  return null;
}

/**
 * The conditions of a `when` that `filterExpression` could have written (spacing aside); null
 * for anything else, which the filter builder then keeps as text. '' is no condition.
 */
export function parseFilter(when: string): { conditions: Condition[]; join: Join } | null {
  const text = when.trim();
  if (text === '') return { conditions: [], join: 'all' };
  const m = /^\{\{([\s\S]*)\}\}$/.exec(text);
  if (!m || m[1].includes('{{') || m[1].includes('}}')) return null;
  const body = m[1].trim();
  const split = body.startsWith('(') ? splitGroups(body) : { groups: [body], join: 'all' as Join };
  if (!split) return null;
  const conditions: Condition[] = [];
  for (const group of split.groups) {
    const condition = parseCondition(group);
    if (!condition) return null;
    conditions.push(condition);
  }
  return { conditions, join: split.join };
}

// ---------------------------------------------------------------------------------------------
// Fixed ↔ expression (rule 13: switching never loses either value)

/** Whether an input holds a fixed value or an expression. */
export type Mode = 'fixed' | 'expression';

/** An input's two values; only the one of its mode is in the flow. */
export interface FieldDraft {
  mode: Mode;
  fixed: unknown;
  expression: string;
}

/** The draft of a value read from the flow. */
export function draftOf(value: unknown): FieldDraft {
  if (isExpression(value)) return { mode: 'expression', fixed: undefined, expression: value };
  return { mode: 'fixed', fixed: value, expression: '' };
}

/** The draft in `mode`, both values kept. */
export function switchMode(draft: FieldDraft, mode: Mode): FieldDraft {
  return { ...draft, mode };
}

/** What the flow gets for the draft: the value of its mode, or undefined (no key) when empty. */
export function valueOfDraft(draft: FieldDraft): unknown {
  if (draft.mode === 'expression') return draft.expression.trim() === '' ? undefined : draft.expression;
  if (draft.fixed === undefined || draft.fixed === '') return undefined;
  return draft.fixed;
}

/**
 * The draft after the flow's value changed to `value` from elsewhere (a drop, the YAML): the
 * value goes to the mode it belongs to and the other value stays; undefined empties the mode
 * shown.
 */
export function mergeDraft(draft: FieldDraft, value: unknown): FieldDraft {
  if (isExpression(value)) return { ...draft, mode: 'expression', expression: value };
  // Gone from the flow: the shown value goes, the other mode's stays.
  if (value === undefined) return draft.mode === 'expression' ? { ...draft, expression: '' } : { ...draft, fixed: undefined };
  return { ...draft, mode: 'fixed', fixed: value };
}

// ---------------------------------------------------------------------------------------------
// JSON Schema

/** A JSON Schema (only what forms read). */
export interface Schema {
  type?: string | string[];
  title?: string;
  description?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  enum?: unknown[];
  const?: unknown;
  format?: string;
  default?: unknown;
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  minimum?: number;
  maximum?: number;
}

/** The control a fixed value is edited with. */
export type Control = 'text' | 'number' | 'integer' | 'boolean' | 'enum' | 'json';

/** One input of a schema form. */
export interface FormField {
  key: string;
  label: string;
  description?: string;
  required: boolean;
  control: Control;
  /** The choices of an enum. */
  options?: unknown[];
  /** A text format (`email`, `date-time`) shown as a hint. */
  format?: string;
  /** The JSON type name, for people: `text`, `number`, `list`. */
  typeName: string;
  nullable: boolean;
}

/** The schema without its `null` alternative (`Option<T>`), and whether there was one. */
export function withoutNull(schema: Schema): { schema: Schema; nullable: boolean } {
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) {
    const rest = alternatives.filter((s) => !(s.type === 'null' || (Array.isArray(s.type) && s.type.length === 1 && s.type[0] === 'null')));
    if (rest.length === 1 && rest.length < alternatives.length) {
      const inner = withoutNull(rest[0]);
      return { schema: { ...inner.schema, title: schema.title ?? inner.schema.title, description: schema.description ?? inner.schema.description }, nullable: true };
    }
  }
  if (Array.isArray(schema.type)) {
    const types = schema.type.filter((t) => t !== 'null');
    const nullable = types.length < schema.type.length;
    return { schema: { ...schema, type: types.length === 1 ? types[0] : types }, nullable };
  }
  return { schema, nullable: false };
}

const TYPE_NAMES: Record<string, string> = { string: 'text', number: 'number', integer: 'whole number', boolean: 'yes / no', object: 'record', array: 'list' };

/** The inputs of an object schema: required ones first, each in the schema's order. */
export function formFields(schema: Schema): FormField[] {
  const required = new Set(schema.required ?? []);
  const fields: FormField[] = Object.entries(schema.properties ?? {}).map(([key, raw]) => {
    const { schema: property, nullable } = withoutNull(raw);
    const type = Array.isArray(property.type) ? undefined : property.type;
    let control: Control = 'json';
    let options: unknown[] | undefined;
    if (property.enum && property.enum.length > 0) {
      control = 'enum';
      options = property.enum.filter((option) => option !== null);
    } else if (type === 'string') control = 'text';
    else if (type === 'integer') control = 'integer';
    else if (type === 'number') control = 'number';
    else if (type === 'boolean') control = 'boolean';
    else if (type === undefined && property.properties === undefined && property.items === undefined) control = 'text';
    const field: FormField = {
      key,
      label: property.title ?? labelFor(key),
      required: required.has(key),
      control,
      typeName: (type && TYPE_NAMES[type]) ?? 'value',
      nullable,
    };
    if (property.description) field.description = property.description;
    if (options) field.options = options;
    if (property.format) field.format = property.format;
    return field;
  });
  return [...fields.filter((f) => f.required), ...fields.filter((f) => !f.required)];
}

/** A fixed control's text parsed into the value the flow gets; `error` when it is not one. */
export function parseFixed(control: Control, text: string): { value?: unknown; error?: string } {
  if (text.trim() === '' && control !== 'text') return { value: undefined };
  switch (control) {
    case 'text':
      return { value: text === '' ? undefined : text };
    case 'integer':
    case 'number': {
      const n = Number(text);
      if (!Number.isFinite(n)) return { error: 'not a number' };
      if (control === 'integer' && !Number.isInteger(n)) return { error: 'not a whole number' };
      return { value: n };
    }
    case 'json':
      try {
        return { value: JSON.parse(text) };
      } catch (error) {
        return { error: `not JSON: ${error instanceof Error ? error.message : String(error)}` };
      }
    default:
      return { value: text };
  }
}

/** A fixed value as its control's text. */
export function fixedText(control: Control, value: unknown): string {
  if (value === undefined || value === null) return '';
  if (control === 'json') return JSON.stringify(value);
  return String(value);
}

// ---------------------------------------------------------------------------------------------
// Previews

/** Whether a preview's value is "nothing" on the sample (rule 14): null, missing, blank or `[]`. */
export function isNothing(value: unknown): boolean {
  if (value === null || value === undefined) return true;
  if (typeof value === 'string') return value.trim() === '';
  if (Array.isArray(value)) return value.length === 0;
  return false;
}

/** A previewed value as one line of text. */
export function previewText(value: unknown, max = 200): string {
  if (value === undefined) return '';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** The body of `POST /api/v1/preview`. */
export interface PreviewBody {
  expression: string;
  sample: unknown;
  steps: Record<string, unknown>;
}

const KEY_AFTER = String.raw`(?:\.([A-Za-z_][A-Za-z0-9_]*)|\[\s*"((?:[^"\\]|\\.)*)"\s*\]|\[\s*'((?:[^'\\]|\\.)*)'\s*\])`;

/** The keys read from `value` where `pattern` names it, or null when it is read whole. */
function keysRead(expression: string, name: string): Set<string> | null {
  const keys = new Set<string>();
  const whole = new RegExp(String.raw`(?<![\w.])${name}(?![\w])`, 'g');
  const keyed = new RegExp(String.raw`^${KEY_AFTER}`);
  for (const m of expression.matchAll(whole)) {
    const after = expression.slice(m.index + m[0].length).replace(/^\s+/, '');
    const k = keyed.exec(after);
    if (!k) return null;
    const key = k[1] ?? (k[2] !== undefined ? (JSON.parse(`"${k[2]}"`) as string) : k[3]);
    keys.add(key);
  }
  return keys;
}

function pick(value: unknown, keys: Set<string> | null): unknown {
  if (keys === null || !isRecord(value)) return value;
  const out: Record<string, unknown> = {};
  for (const key of keys) if (Object.prototype.hasOwnProperty.call(value, key)) out[key] = value[key];
  return out;
}

/**
 * The preview request for `expression`: the trigger record and the step outputs cut down to
 * the top-level fields the expression names (`trigger.email` sends `{email}` only), so a
 * preview on a 5 MB sample sends bytes, not megabytes. A root read whole (`trigger | tojson`,
 * `trigger[name]`) is sent whole.
 */
export function previewBody(expression: string, context: PreviewContext | undefined): PreviewBody {
  const sample = context?.sample ?? {};
  const steps: Record<string, unknown> = {};
  const triggerKeys = keysRead(expression, 'trigger');
  const stepsRead = keysRead(expression, 'steps');
  for (const [id, step] of Object.entries(context?.steps ?? {})) {
    if (stepsRead === null) {
      steps[id] = step.output;
      continue;
    }
    if (!stepsRead.has(id)) continue;
    const name = id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const outputKeys = keysRead(expression, String.raw`steps\s*(?:\.${name}|\[\s*["']${name}["']\s*\])\s*(?:\.output|\[\s*["']output["']\s*\])`);
    steps[id] = pick(step.output, outputKeys);
  }
  return { expression, sample: pick(sample, triggerKeys), steps };
}

/** A reference's parts: `trigger.customFields[0]["a b"]` → `['trigger', 'customFields', 0, 'a b']`; null if it is not one. */
export function parseReference(ref: string): FieldPath | null {
  const head = /^[A-Za-z_][A-Za-z0-9_]*/.exec(ref);
  if (!head) return null;
  const parts: FieldPath = [head[0]];
  let rest = ref.slice(head[0].length);
  while (rest.length > 0) {
    const m = ACCESSOR.exec(rest);
    if (!m) return null;
    const token = m[0];
    if (token.startsWith('.')) parts.push(token.slice(1));
    else if (token.startsWith('["')) parts.push(JSON.parse(token.slice(1, -1)) as string);
    else parts.push(Number(token.slice(1, -1)));
    rest = rest.slice(token.length);
  }
  return parts;
}

/** Data a preview needs that its context does not have. */
export interface MissingData {
  /** A step with no sample output yet, or a field the sample lacks. */
  kind: 'step' | 'field';
  /** The step id, or the reference up to the first missing part (`trigger.emial`). */
  name: string;
}

/**
 * What `expression` reads that `context` lacks, when the server would only answer "undefined
 * variable": a step with no sample output yet, or, for a single reference (what a drop makes),
 * the first of its parts the sample does not have. Null when the server should evaluate it.
 * Answering these here spares a round trip and a failed request per input on load.
 */
export function missingData(expression: string, context: PreviewContext | undefined): MissingData | null {
  const steps = context?.steps ?? {};
  const stepsRead = keysRead(expression, 'steps');
  for (const id of stepsRead ?? []) {
    if (!Object.prototype.hasOwnProperty.call(steps, id)) return { kind: 'step', name: id };
  }
  const ref = referenceOf(expression);
  const parts = ref === null ? null : parseReference(ref);
  if (!parts) return null;
  let value: unknown;
  let start: number;
  if (parts[0] === 'trigger') {
    value = context?.sample;
    start = 1;
  } else if (parts[0] === 'steps' && typeof parts[1] === 'string' && parts[2] === 'output') {
    value = steps[parts[1]]?.output;
    start = 3;
  } else {
    return null;
  }
  for (let i = start; i < parts.length; i++) {
    const part = parts[i];
    const has =
      value !== null &&
      typeof value === 'object' &&
      (Array.isArray(value) ? typeof part === 'number' && part < value.length : Object.prototype.hasOwnProperty.call(value, part));
    if (!has) return { kind: 'field', name: referenceFor(String(parts[0]), parts.slice(1, i + 1)) };
    value = (value as Record<string | number, unknown>)[part];
  }
  return null;
}
