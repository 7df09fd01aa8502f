// A flow's YAML as the editor edits it. The text is the truth (rule 15: saving from the visual
// editor never destroys comments or templates), so every visual edit is an operation on the
// `yaml` package's Document (which keeps comments, quoting and blank lines), and the new text is
// the old text with only the lines that edit changed replaced: text the edit did not touch stays
// byte for byte, even where the `yaml` package would print it differently.
import { diffLines } from 'diff';
import {
  Document,
  isCollection,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  Scalar,
  YAMLMap,
  YAMLSeq,
  type Node as YamlNode,
  type ToStringOptions,
} from 'yaml';
import type { DocPath } from './types';

/** How edited documents are printed: as the seed flows are written. */
const PRINT: ToStringOptions = {
  lineWidth: 0,
  minContentWidth: 0,
  flowCollectionPadding: false,
  indent: 2,
  indentSeq: true,
};

/** How to print `text` so that new lines fit it: its indentation, and whether a block sequence
 * under a key is indented (`steps:\n  - id`) or not (`steps:\n- id`). */
function printStyleOf(text: string): ToStringOptions {
  const indented = /^( +)\S/m.exec(text.replace(/^\s*#.*$/gm, ''));
  const indent = indented ? Math.min(Math.max(indented[1].length, 1), 8) : 2;
  const flush = /^( *)[^\s#-][^\n]*:[ \t]*(#[^\n]*)?\n(?:\s*#[^\n]*\n)*\1- /m.test(text);
  return { ...PRINT, indent, indentSeq: !flush };
}

/** The top-level keys of a flow in the order they are written. */
const TOP_ORDER = ['id', 'name', 'description', 'trigger', 'steps'];

/** A problem reading the text as YAML (not as a flow: the server checks that). */
export interface YamlProblem {
  line: number;
  column: number;
  message: string;
}

/** One step as the editor reads it (plain values, for showing). */
export interface StepView {
  id: string;
  description?: string;
  kind: 'filter' | 'map' | 'action' | 'lookup' | 'unknown';
  /** The kind's body: `{when}`, `{fields}`, `{operation, connection, input, …}`. */
  body: Record<string, unknown>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A string containing `{{` is written double-quoted, as every flow writes its expressions. */
function scalarFor(doc: Document, value: unknown): YamlNode {
  const node = doc.createNode(value) as YamlNode;
  quoteTemplates(node);
  return node;
}

function quoteTemplates(node: unknown) {
  if (isScalar(node)) {
    if (typeof node.value === 'string' && (node.value.includes('{{') || node.value.includes('{%'))) {
      node.type = Scalar.QUOTE_DOUBLE;
    }
  } else if (isCollection(node)) {
    for (const item of node.items) {
      if (isScalar(item) || isCollection(item)) quoteTemplates(item);
      else if (item && typeof item === 'object' && 'value' in item) quoteTemplates((item as { value: unknown }).value);
    }
  }
}

/** A text's lines, each with its line break. */
function lines(text: string): string[] {
  return text === '' ? [] : (text.match(/[^\n]*\n|[^\n]+$/g) ?? []);
}

/** Only blank lines and comments. */
function commentsOnly(text: string): boolean {
  return lines(text).every((line) => /^\s*(#.*)?\n?$/.test(line));
}

/**
 * The edit from `before` (a reprint of the unedited document) to `after` (a reprint of the edited
 * one) applied to `original`: every line the edit kept is the original's own text; only lines
 * the edit changed come from the reprint.
 */
export function mergeEdit(original: string, before: string, after: string): string {
  if (before === after) return original;
  if (before === original) return after;
  const beforeLines = lines(before);
  const n = beforeLines.length;
  // What the original has for each line of `before`: the same line, or (`block`) a run of
  // original lines the reprint wrote differently, shown only when the edit keeps all of it;
  // `prefix` is original text the reprint dropped, in front of a line.
  const same: boolean[] = new Array(n).fill(false);
  const blockOf: number[] = new Array(n).fill(-1);
  const blocks: { from: number; to: number; text: string }[] = [];
  const prefix: string[] = new Array(n + 1).fill('');
  const parts = diffLines(original, before);
  let at = 0;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    const count = lines(part.value).length;
    if (part.removed && parts[i + 1]?.added) {
      const replaced = lines(parts[i + 1].value).length;
      if (replaced === count) {
        // As many lines on both sides: the reprint rewrote them one by one.
        lines(part.value).forEach((text, k) => {
          blocks.push({ from: at + k, to: at + k + 1, text });
          blockOf[at + k] = blocks.length - 1;
        });
      } else {
        blocks.push({ from: at, to: at + replaced, text: part.value });
        for (let k = at; k < at + replaced; k++) blockOf[k] = blocks.length - 1;
      }
      at += replaced;
      i++;
    } else if (part.removed) {
      prefix[at] += part.value;
    } else if (part.added) {
      at += count; // the reprint's own lines: they stand for nothing of the original
    } else {
      for (let k = at; k < at + count; k++) same[k] = true;
      at += count;
    }
  }
  const kept: boolean[] = new Array(n).fill(false);
  const edit = diffLines(before, after);
  let b = 0;
  for (const part of edit) {
    if (part.added) continue;
    const count = lines(part.value).length;
    if (!part.removed) for (let k = b; k < b + count; k++) kept[k] = true;
    b += count;
  }
  let out = '';
  b = 0;
  for (const part of edit) {
    if (part.added) {
      out += part.value;
      continue;
    }
    for (let k = b; k < b + lines(part.value).length; k++) {
      if (part.removed) {
        // Comments the reprint dropped stay, even when the line after them goes.
        if (commentsOnly(prefix[k])) out += prefix[k];
        continue;
      }
      out += prefix[k];
      const block = blockOf[k];
      if (block >= 0) {
        const { from, to, text } = blocks[block];
        const whole = kept.slice(from, to).every(Boolean);
        if (!whole) out += beforeLines[k];
        else if (k === from) out += text;
      } else if (same[k]) {
        out += beforeLines[k];
      }
    }
    b += lines(part.value).length;
  }
  return out + prefix[n];
}

/** A flow document: read it, edit it, print it. */
export class FlowDoc {
  private text: string;
  private doc: Document;
  private lineCounter = new LineCounter();

  constructor(text: string) {
    this.text = text;
    this.doc = parseDocument(text, { keepSourceTokens: false, lineCounter: this.lineCounter });
  }

  /** The text: the original, unchanged, when nothing was edited. */
  toString(): string {
    return this.text;
  }

  /** Problems reading the text as YAML, with their positions (1-based). */
  problems(): YamlProblem[] {
    return this.doc.errors.map((error) => ({
      line: error.linePos?.[0]?.line ?? 1,
      column: error.linePos?.[0]?.col ?? 1,
      message: error.message.split('\n')[0],
    }));
  }

  /** Whether the text is YAML the visual editor can edit (a mapping at the top, no errors). */
  editable(): boolean {
    return this.doc.errors.length === 0 && (this.doc.contents === null || isMap(this.doc.contents));
  }

  /** The whole document as plain values. */
  value(): Record<string, unknown> {
    const value = this.doc.toJS({ maxAliasCount: 100 }) as unknown;
    return isRecord(value) ? value : {};
  }

  /** The plain value at `path`, or undefined. */
  getIn(path: DocPath): unknown {
    const node = this.doc.getIn(path, true) as unknown;
    if (node === undefined) return undefined;
    if (isScalar(node)) return node.value;
    if (isCollection(node)) return node.toJSON();
    return node;
  }

  /** The trigger (`{webhook: …}`, `{poll: …}`, `{schedule: …}`), or undefined in a blank flow. */
  trigger(): Record<string, unknown> | undefined {
    const trigger = this.value().trigger;
    return isRecord(trigger) ? trigger : undefined;
  }

  /** The steps, in order. */
  steps(): StepView[] {
    const steps = this.value().steps;
    if (!Array.isArray(steps)) return [];
    return steps.map((step, index) => {
      const record = isRecord(step) ? step : {};
      const kind = (['filter', 'map', 'action', 'lookup'] as const).find((k) => isRecord(record[k])) ?? 'unknown';
      return {
        id: typeof record.id === 'string' ? record.id : `#${index + 1}`,
        description: typeof record.description === 'string' ? record.description : undefined,
        kind,
        body: kind === 'unknown' ? {} : (record[kind] as Record<string, unknown>),
      };
    });
  }

  /** The 1-based line and column where the node at `path` starts, or undefined. */
  positionOf(path: DocPath): { line: number; column: number } | undefined {
    for (let length = path.length; length >= 0; length--) {
      const node = (length === 0 ? this.doc.contents : this.doc.getIn(path.slice(0, length), true)) as unknown;
      const range = (node as { range?: [number, number, number] } | null)?.range;
      if (range) {
        const pos = this.lineCounter.linePos(range[0]);
        return { line: pos.line, column: pos.col };
      }
    }
    return undefined;
  }

  /** Sets the value at `path`, creating the maps on the way. An existing scalar keeps its
   * quoting and comments; a new top-level key goes where flows write it (trigger before steps). */
  setIn(path: DocPath, value: unknown): void {
    this.edit((doc) => {
      if (path.length === 0) throw new Error('setIn needs a path');
      const existing = doc.getIn(path, true) as unknown;
      if (isScalar(existing) && (value === null || typeof value !== 'object')) {
        existing.value = value;
        if (typeof value === 'string' && (value.includes('{{') || value.includes('{%'))) {
          if (existing.type === Scalar.PLAIN || existing.type === undefined || existing.type === Scalar.BLOCK_FOLDED) {
            existing.type = Scalar.QUOTE_DOUBLE;
          }
        }
        return;
      }
      if (path.length === 1 && typeof path[0] === 'string') {
        setTopLevel(doc, path[0], scalarFor(doc, value));
        return;
      }
      ensureParents(doc, path);
      doc.setIn(path, scalarFor(doc, value));
    });
  }

  /** Deletes the value at `path`; a map left empty by it stays (an empty `input: {}`). */
  deleteIn(path: DocPath): void {
    if (this.doc.getIn(path, true) === undefined) return;
    this.edit((doc) => {
      doc.deleteIn(path);
    });
  }

  /** Inserts `step` (plain values) as step `index` (0 = first; the count or more = last). */
  insertStep(index: number, step: Record<string, unknown>): void {
    this.edit((doc) => {
      const steps = stepsSeq(doc);
      const at = Math.max(0, Math.min(index, steps.items.length));
      if (at === 0) commentToFirstItem(steps);
      steps.items.splice(at, 0, scalarFor(doc, step));
    });
  }

  /** Moves step `from` to position `to` (positions as after the move). */
  moveStep(from: number, to: number): void {
    const steps = this.doc.get('steps', true);
    if (!isSeq(steps) || from === to || from < 0 || from >= steps.items.length) return;
    this.edit((doc) => {
      const seq = doc.get('steps', true) as YAMLSeq;
      commentToFirstItem(seq);
      const [item] = seq.items.splice(from, 1);
      seq.items.splice(Math.max(0, Math.min(to, seq.items.length)), 0, item);
    });
  }

  /** Removes step `index`. */
  removeStep(index: number): void {
    const steps = this.doc.get('steps', true);
    if (!isSeq(steps) || index < 0 || index >= steps.items.length) return;
    this.edit((doc) => {
      const seq = doc.get('steps', true) as YAMLSeq;
      commentToFirstItem(seq);
      seq.items.splice(index, 1);
    });
  }

  /** Applies `change` to a fresh parse of the text and merges the reprint into the text. */
  private edit(change: (doc: Document) => void): void {
    if (!this.editable()) throw new Error('the YAML has errors; fix them in the YAML view first');
    const print = printStyleOf(this.text);
    const doc: Document = parseDocument(this.text);
    if (doc.contents === null) doc.contents = doc.createNode({});
    const before = parseDocument(this.text).toString(print);
    change(doc);
    const after = doc.toString(print);
    const merged = mergeEdit(this.text, before, after);
    // The merge keeps the original's lines; should that ever mean something else than the
    // edited document (lines written in a style the edit's new lines do not fit), the reprint
    // is the edit.
    const check = parseDocument(merged);
    const same = check.errors.length === 0 && JSON.stringify(check.toJS()) === JSON.stringify(doc.toJS());
    this.text = same ? merged : after;
    this.lineCounter = new LineCounter();
    this.doc = parseDocument(this.text, { lineCounter: this.lineCounter });
  }
}

function stepsSeq(doc: Document): YAMLSeq {
  const found = doc.get('steps', true);
  if (isSeq(found)) return found;
  const seq = new YAMLSeq();
  setTopLevel(doc, 'steps', seq);
  return seq;
}

/** A comment above the first step belongs to that step: it moves with it. */
function commentToFirstItem(seq: YAMLSeq) {
  const first = seq.items[0] as YamlNode | undefined;
  if (!seq.commentBefore || !first || !(isMap(first) || isSeq(first) || isScalar(first))) return;
  first.commentBefore = first.commentBefore ? `${seq.commentBefore}\n${first.commentBefore}` : seq.commentBefore;
  seq.commentBefore = undefined;
}

function ensureParents(doc: Document, path: DocPath) {
  for (let length = 1; length < path.length; length++) {
    const prefix = path.slice(0, length);
    const node = doc.getIn(prefix, true) as unknown;
    if (isCollection(node)) continue;
    const fresh = typeof path[length] === 'number' ? new YAMLSeq() : new YAMLMap();
    if (length === 1 && typeof prefix[0] === 'string') setTopLevel(doc, prefix[0], fresh);
    else doc.setIn(prefix, fresh);
  }
}

/** Sets a top-level key; a new one goes before the keys flows write after it. */
function setTopLevel(doc: Document, key: string, node: unknown) {
  const map = doc.contents as YAMLMap;
  if (map.has(key)) {
    map.set(key, node);
    return;
  }
  const rank = TOP_ORDER.indexOf(key);
  const pair = doc.createPair(key, node);
  if (rank >= 0) {
    const later = map.items.findIndex((item) => {
      const name = isScalar(item.key) ? item.key.value : item.key;
      const other = TOP_ORDER.indexOf(String(name));
      return other > rank;
    });
    if (later >= 0) {
      map.items.splice(later, 0, pair);
      return;
    }
  }
  map.items.push(pair);
}
