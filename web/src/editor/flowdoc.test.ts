import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { FlowDoc, mergeEdit } from './flowdoc';

const flowsDir = join(__dirname, '../../../flows');
const seed = (name: string) => readFileSync(join(flowsDir, name), 'utf8');
const recipe = seed('ghl-contact-to-df-customer.yaml');

/** The lines of `after` that are not lines of `before` (a multiset difference). */
function changedLines(before: string, after: string): string[] {
  const pool = new Map<string, number>();
  for (const line of before.split('\n')) pool.set(line, (pool.get(line) ?? 0) + 1);
  const out: string[] = [];
  for (const line of after.split('\n')) {
    const left = pool.get(line) ?? 0;
    if (left > 0) pool.set(line, left - 1);
    else out.push(line);
  }
  return out;
}

describe('FlowDoc', () => {
  it('gives back every seed flow byte for byte when nothing is edited', () => {
    for (const name of readdirSync(flowsDir)) {
      const text = seed(name);
      const doc = new FlowDoc(text);
      expect(doc.editable()).toBe(true);
      expect(doc.toString()).toBe(text);
    }
  });

  it('reads the trigger and the steps', () => {
    const doc = new FlowDoc(recipe);
    expect(doc.trigger()).toEqual({
      webhook: { app: 'ghl', events: ['ContactCreate', 'ContactUpdate'], connection: 'ghl-main' },
    });
    expect(doc.steps().map((s) => [s.id, s.kind])).toEqual([
      ['has_email', 'filter'],
      ['customer', 'map'],
      ['upsert', 'action'],
    ]);
    expect(doc.getIn(['steps', 2, 'action', 'operation'])).toBe('details_flowers.customer.create');
    expect(doc.positionOf(['steps', 2, 'action', 'operation'])).toEqual({ line: 29, column: 18 });
  });

  it('setIn changes one line and keeps comments and templates', () => {
    const doc = new FlowDoc(recipe);
    doc.setIn(['steps', 2, 'action', 'connection'], 'df-other');
    const text = doc.toString();
    expect(changedLines(recipe, text)).toEqual(['      connection: df-other']);
    expect(text.split('\n').length).toBe(recipe.split('\n').length);
    expect(text).toContain('# Details Flowers finds customers by e-mail');
    expect(text).toContain('        email: "{{ trigger.email | trim | lower }}"\n');
    expect(parse(text).steps[2].action.connection).toBe('df-other');
  });

  it('setIn writes a new expression double-quoted and keeps an existing quoting', () => {
    const doc = new FlowDoc(recipe);
    doc.setIn(['steps', 2, 'action', 'input', 'note'], '{{ trigger.source }}');
    doc.setIn(['steps', 1, 'map', 'fields', 'email'], '{{ trigger.email | lower }}');
    const text = doc.toString();
    expect(changedLines(recipe, text).sort()).toEqual(
      ['        email: "{{ trigger.email | lower }}"', '        note: "{{ trigger.source }}"'].sort(),
    );
    expect(parse(text).steps[2].action.input.note).toBe('{{ trigger.source }}');
  });

  it('setIn creates maps on the way and deleteIn removes a key', () => {
    const doc = new FlowDoc(recipe);
    doc.setIn(['steps', 2, 'action', 'write', 'phone'], 'if_empty');
    expect(parse(doc.toString()).steps[2].action.write).toEqual({ phone: 'if_empty' });
    doc.deleteIn(['steps', 2, 'action', 'input', 'phone']);
    const text = doc.toString();
    expect(parse(text).steps[2].action.input.phone).toBeUndefined();
    expect(changedLines(recipe, text)).toEqual(['      write:', '        phone: if_empty']);
    expect(text).toContain('# Key fields: the GHL contact id');
  });

  it('insertStep adds a step and leaves the other lines as they were', () => {
    const doc = new FlowDoc(recipe);
    doc.insertStep(1, { id: 'tag', description: 'Tag it', filter: { when: '{{ trigger.tags }}' } });
    const text = doc.toString();
    expect(changedLines(recipe, text)).toEqual([
      '  - id: tag',
      '    description: Tag it',
      '    filter:',
      '      when: "{{ trigger.tags }}"',
    ]);
    expect(changedLines(text, recipe)).toEqual([]);
    expect(parse(text).steps.map((s: { id: string }) => s.id)).toEqual(['has_email', 'tag', 'customer', 'upsert']);
  });

  it('insertStep at the top keeps the first step its comment', () => {
    const doc = new FlowDoc(recipe);
    doc.insertStep(0, { id: 'first', map: { fields: { a: '{{ trigger.id }}' } } });
    const text = doc.toString();
    const lines = text.split('\n');
    const comment = lines.findIndex((l) => l.includes('# Details Flowers finds customers'));
    expect(lines[comment + 1]).toBe('  - id: has_email');
    expect(lines.indexOf('  - id: first')).toBeLessThan(comment);
  });

  it('moveStep carries a step with its comment; moving it back gives the text back', () => {
    const doc = new FlowDoc(recipe);
    doc.moveStep(0, 2);
    const text = doc.toString();
    expect(parse(text).steps.map((s: { id: string }) => s.id)).toEqual(['customer', 'upsert', 'has_email']);
    const lines = text.split('\n');
    const comment = lines.findIndex((l) => l.includes('# Details Flowers finds customers'));
    expect(lines[comment + 1]).toBe('  - id: has_email');
    expect(text).toContain('"{{ trigger.email | trim | lower }}"');
    doc.moveStep(2, 0);
    expect(doc.toString()).toBe(recipe);
  });

  it('removeStep removes only that step', () => {
    const doc = new FlowDoc(recipe);
    doc.removeStep(1);
    const text = doc.toString();
    expect(parse(text).steps.map((s: { id: string }) => s.id)).toEqual(['has_email', 'upsert']);
    expect(changedLines(text, recipe).filter((l) => l.trim() !== '')).toHaveLength(7);
    expect(changedLines(recipe, text)).toEqual([]);
  });

  it('keeps text the yaml package would print differently when the edit is elsewhere', () => {
    const text = seed('ghl-notes-to-flickr-photoset.yaml');
    const escaped = text.split('\n').find((l) => l.includes("'\\n'"));
    expect(escaped).toBeDefined();
    const doc = new FlowDoc(text);
    doc.setIn(['name'], 'Renamed');
    const out = doc.toString();
    expect(out.split('\n')).toContain(escaped);
    expect(changedLines(text, out)).toEqual(['name: Renamed']);
  });

  it('keeps odd spacing and flow styles of lines it did not touch', () => {
    const text = 'id: odd\nname:   spaced   # a comment\ntrigger: { webhook: { app: ghl, events: [ ContactCreate ], connection: c } }\nsteps:\n- id: a\n  filter: {when: "{{ true }}"}\n';
    const doc = new FlowDoc(text);
    doc.insertStep(1, { id: 'b', map: { fields: { x: '{{ trigger.id }}' } } });
    const out = doc.toString();
    expect(out.startsWith('id: odd\nname:   spaced   # a comment\ntrigger: { webhook: { app: ghl, events: [ ContactCreate ], connection: c } }\n')).toBe(true);
    expect(out).toContain('  filter: {when: "{{ true }}"}\n');
    expect(parse(out).steps.map((s: { id: string }) => s.id)).toEqual(['a', 'b']);
  });

  it('writes new lines in the indentation of the text', () => {
    const text = 'id: wide\nname: Wide\ntrigger:\n    schedule:\n        cron: "@daily"\nsteps:\n    - id: a\n      filter:\n          when: "{{ true }}"\n';
    const doc = new FlowDoc(text);
    doc.setIn(['steps', 0, 'description'], 'First');
    doc.insertStep(1, { id: 'b', filter: { when: '{{ false }}' } });
    const out = doc.toString();
    expect(out.startsWith('id: wide\nname: Wide\ntrigger:\n    schedule:\n        cron: "@daily"\n')).toBe(true);
    expect(parse(out).steps).toEqual([
      { id: 'a', filter: { when: '{{ true }}' }, description: 'First' },
      { id: 'b', filter: { when: '{{ false }}' } },
    ]);
    expect(out).toContain('\n    - id: a\n      filter:\n          when: "{{ true }}"\n      description: First\n    - id: b\n');
    // Lines the new ones cannot fit beside are reprinted rather than left to mean something else.
    const odd = new FlowDoc('id: odd\nsteps:\n    -   id: a\n        filter: {when: "{{ true }}"}\n');
    odd.setIn(['steps', 0, 'description'], 'First');
    expect(parse(odd.toString()).steps).toEqual([{ id: 'a', filter: { when: '{{ true }}' }, description: 'First' }]);
  });

  it('builds a blank flow up: trigger before steps, steps in order', () => {
    const doc = new FlowDoc('id: blank\nname: Blank\n');
    doc.insertStep(0, { id: 'customer', map: { fields: {} } });
    doc.setIn(['trigger'], { webhook: { app: 'ghl', events: ['ContactCreate'], connection: 'ghl-main' } });
    const text = doc.toString();
    expect(Object.keys(parse(text))).toEqual(['id', 'name', 'trigger', 'steps']);
    expect(text.startsWith('id: blank\nname: Blank\ntrigger:\n')).toBe(true);
    expect(doc.steps()[0].id).toBe('customer');
  });

  it('refuses visual edits of text that is no YAML, and says where', () => {
    const doc = new FlowDoc('id: x\nsteps: [a\n');
    expect(doc.editable()).toBe(false);
    expect(doc.problems()[0].line).toBeGreaterThan(0);
    expect(() => doc.setIn(['name'], 'y')).toThrow(/YAML view/);
  });
});

describe('mergeEdit', () => {
  it('is the reprint when the original is the reprint, and the original when nothing changed', () => {
    expect(mergeEdit('a\nb\n', 'a\nb\n', 'a\nc\n')).toBe('a\nc\n');
    expect(mergeEdit('a:  1\n', 'a: 1\n', 'a: 1\n')).toBe('a:  1\n');
  });

  it('takes a changed line from the reprint only where the edit changed it', () => {
    expect(mergeEdit('a:  1\nb:  2\n', 'a: 1\nb: 2\n', 'a: 1\nb: 3\n')).toBe('a:  1\nb: 3\n');
    // A comment the reprint dropped stays.
    expect(mergeEdit('# keep\na: 1\n', 'a: 1\n', 'a: 2\n')).toBe('# keep\na: 2\n');
  });
});
