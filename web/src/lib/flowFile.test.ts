import { describe, expect, it } from 'vitest';
import { FLOW_ID, blankFlow, copyId, freeId, readIdAndName, relativeTime, slugify, withIdAndName } from './flowFile';

const RECIPE = `# Seed recipe 1: a new GHL contact.
# Key fields: the e-mail.
id: ghl-contact-to-df-customer
name: GHL contact → Details Flowers customer
trigger:
  webhook:
    app: ghl
    events: [ContactCreate, ContactUpdate]   # both
    connection: ghl-main
steps:
  # Details Flowers finds customers by e-mail.
  - id: has_email
    filter:
      when: "{{ trigger.email is defined and trigger.email }}"
`;

describe('slugify', () => {
  it('makes a flow id of a name', () => {
    expect(slugify('GHL contact → Details Flowers customer')).toBe('ghl-contact-details-flowers-customer');
    expect(slugify('  Créer un client!  ')).toBe('creer-un-client');
    expect(slugify('→ ←')).toBe('flow');
    expect(slugify('x'.repeat(80))).toHaveLength(64);
    for (const name of ['A b', 'Über', '9 lives', '--x--']) expect(slugify(name)).toMatch(FLOW_ID);
  });
});

describe('free ids', () => {
  it('adds a number until the id is free', () => {
    const taken = new Set(['a', 'a-2', 'a-copy']);
    expect(freeId('b', taken)).toBe('b');
    expect(freeId('a', taken)).toBe('a-3');
    expect(copyId('b', taken)).toBe('b-copy');
    expect(copyId('a', taken)).toBe('a-copy-2');
  });
});

describe('withIdAndName', () => {
  it('replaces the id and the name and keeps every other byte', () => {
    const copy = withIdAndName(RECIPE, 'ghl-contact-to-df-customer-copy', 'GHL contact → Details Flowers customer (copy)');
    expect(copy).toBe(
      RECIPE.replace('id: ghl-contact-to-df-customer\n', 'id: ghl-contact-to-df-customer-copy\n').replace(
        'name: GHL contact → Details Flowers customer\n',
        'name: GHL contact → Details Flowers customer (copy)\n',
      ),
    );
    expect(readIdAndName(copy)).toEqual({ id: 'ghl-contact-to-df-customer-copy', name: 'GHL contact → Details Flowers customer (copy)' });
  });

  it('quotes what YAML would read otherwise', () => {
    const text = withIdAndName('id: a\nname: b\n', 'x-1', 'yes: really # not a comment');
    expect(text).toBe('id: x-1\nname: "yes: really # not a comment"\n');
    expect(readIdAndName(text).name).toBe('yes: really # not a comment');
    expect(withIdAndName('id: a\nname: b\n', 'a', 'true')).toBe('id: a\nname: "true"\n');
    expect(withIdAndName('id: a\nname: b\n', 'a', 'My first flow, again!')).toBe('id: a\nname: My first flow, again!\n');
    expect(withIdAndName('id: a\nname: b\n', 'a', '- 1')).toBe('id: a\nname: "- 1"\n');
    expect(withIdAndName('id: "a"\nname: \'b\'\n', 'c', 'D')).toBe('id: c\nname: D\n');
    expect(withIdAndName('id: a\nname:\nsteps: []\n', 'a', 'A')).toBe('id: a\nname: A\nsteps: []\n');
  });

  it('adds a missing name after the id, and a missing id after the opening comment', () => {
    expect(withIdAndName('id: a\nsteps: []\n', 'a', 'A')).toBe('id: a\nname: A\nsteps: []\n');
    expect(withIdAndName('# hello\nsteps: []\n', 'b', 'B')).toBe('# hello\nid: b\nname: B\nsteps: []\n');
  });

  it('refuses what is not a flow', () => {
    expect(() => withIdAndName('- a\n- b\n', 'a', 'A')).toThrow(/not a flow/);
    expect(() => withIdAndName('id: [a\n', 'a', 'A')).toThrow(/does not parse/);
  });
});

describe('blankFlow', () => {
  it('is YAML with the id and the name', () => {
    expect(blankFlow('my-flow', 'My flow')).toBe('id: my-flow\nname: My flow\n');
    expect(readIdAndName(blankFlow('f', 'Say: "hi"'))).toEqual({ id: 'f', name: 'Say: "hi"' });
  });
});

describe('relativeTime', () => {
  const now = Date.parse('2026-05-01T12:00:00Z');
  it('says how long ago', () => {
    expect(relativeTime('2026-05-01T11:59:40Z', now)).toBe('just now');
    expect(relativeTime('2026-05-01T11:57:00Z', now)).toBe('3 min. ago');
    expect(relativeTime('2026-05-01T09:00:00Z', now)).toBe('3 hr. ago');
    expect(relativeTime('2026-04-29T12:00:00Z', now)).toBe('2 days ago');
    expect(relativeTime('not a time', now)).toBe('not a time');
  });
});
