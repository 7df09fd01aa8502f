import { describe, expect, it } from 'vitest';
import {
  autoMap,
  conditionExpression,
  draftOf,
  expressionFor,
  fieldCount,
  fieldsOf,
  filterExpression,
  fixedText,
  flatFields,
  formFields,
  guardsFor,
  insertReference,
  isExpression,
  isNothing,
  isSingleReference,
  labelFor,
  missingData,
  parseReference,
  mergeDraft,
  parseFilter,
  parseFixed,
  previewBody,
  referenceFor,
  referenceOf,
  sampleText,
  switchMode,
  valueOfDraft,
  type Condition,
  type Schema,
} from './mapping';
import { CONTACT_CREATE, CUSTOMER_CREATE_INPUT } from './examples';

const trigger = { root: 'trigger', label: 'Trigger: new GHL contact', value: CONTACT_CREATE };

describe('references', () => {
  function check(root: string, path: (string | number)[], want: string) {
    expect(referenceFor(root, path)).toBe(want);
  }
  it('uses dots for names and brackets for indexes and other keys', () => {
    check('trigger', ['email'], 'trigger.email');
    check('trigger', ['customFields', 0, 'value'], 'trigger.customFields[0].value');
    check('steps.customer.output', ['full_name'], 'steps.customer.output.full_name');
    check('trigger', ['first name'], 'trigger["first name"]');
    check('trigger', ['2fa'], 'trigger["2fa"]');
    check('trigger', ['a"b'], 'trigger["a\\"b"]');
    check('trigger', ['and'], 'trigger["and"]');
    check('trigger', ['none'], 'trigger["none"]');
    check('trigger', [], 'trigger');
  });

  it('makes an expression of a reference', () => {
    expect(expressionFor('trigger.email')).toBe('{{ trigger.email }}');
  });

  it('recognises one reference alone, with any spacing', () => {
    expect(isSingleReference('{{ trigger.email }}')).toBe(true);
    expect(isSingleReference('{{trigger.customFields[0].value}}')).toBe(true);
    expect(isSingleReference('  {{   trigger["first name"] }} ')).toBe(true);
    expect(referenceOf('{{ steps.customer.output.email }}')).toBe('steps.customer.output.email');
    expect(isSingleReference('{{ trigger.email | lower }}')).toBe(false);
    expect(isSingleReference('{{ trigger.firstName }} {{ trigger.lastName }}')).toBe(false);
    expect(isSingleReference('trigger.email')).toBe(false);
    expect(isSingleReference(42)).toBe(false);
  });

  it('tells expressions from literals', () => {
    expect(isExpression('{{ trigger.email }}')).toBe(true);
    expect(isExpression('Hello {{ trigger.name }}')).toBe(true);
    expect(isExpression('{% if x %}y{% endif %}')).toBe(true);
    expect(isExpression('plain text')).toBe(false);
    expect(isExpression(3)).toBe(false);
    expect(isExpression(undefined)).toBe(false);
  });
});

describe('insertReference', () => {
  it('makes an empty input the expression', () => {
    expect(insertReference('', 'trigger.email')).toBe('{{ trigger.email }}');
    expect(insertReference('   ', 'trigger.email')).toBe('{{ trigger.email }}');
  });
  it('appends to text with a space', () => {
    expect(insertReference('{{ trigger.firstName }}', 'trigger.lastName')).toBe('{{ trigger.firstName }} {{ trigger.lastName }}');
    expect(insertReference('Dear ', 'trigger.name')).toBe('Dear {{ trigger.name }}');
  });
  it('inserts at a position, spaced on both sides', () => {
    expect(insertReference('Hi !', 'trigger.name', 3)).toBe('Hi {{ trigger.name }} !');
    expect(insertReference('Hi', 'trigger.name', 0)).toBe('{{ trigger.name }} Hi');
  });
  it('puts the bare reference inside an open {{ }}', () => {
    const text = '{{ full_name(, trigger.lastName) }}';
    expect(insertReference(text, 'trigger.firstName', text.indexOf(','))).toBe('{{ full_name(trigger.firstName, trigger.lastName) }}');
    expect(insertReference('{{ x | default() }}', 'trigger.y', 15)).toBe('{{ x | default(trigger.y) }}');
    expect(insertReference('{{ }}', 'trigger.email', 2)).toBe('{{ trigger.email }}');
    expect(insertReference('{{  }}', 'trigger.email', 3)).toBe('{{ trigger.email }}');
  });
  it('clamps a position out of range', () => {
    expect(insertReference('a', 'trigger.x', 99)).toBe('a {{ trigger.x }}');
  });
});

describe('labels and samples', () => {
  it('reads keys as words', () => {
    expect(labelFor('email')).toBe('Email');
    expect(labelFor('firstName')).toBe('First name');
    expect(labelFor('dateOfBirth')).toBe('Date of birth');
    expect(labelFor('full_name')).toBe('Full name');
    expect(labelFor('ghl_contact_id')).toBe('GHL contact ID');
    expect(labelFor('locationId')).toBe('Location ID');
    expect(labelFor('address1')).toBe('Address 1');
    expect(labelFor('customFields')).toBe('Custom fields');
    expect(labelFor('HTMLBody')).toBe('HTML body');
    expect(labelFor('dnd')).toBe('DND');
    expect(labelFor('x-request-id')).toBe('X request ID');
    expect(labelFor(0)).toBe('Item 1');
    expect(labelFor('')).toBe('');
  });
  it('shows values short', () => {
    expect(sampleText('JohnDeo@gmail.comm')).toBe('JohnDeo@gmail.comm');
    expect(sampleText('x'.repeat(100), 10)).toBe('xxxxxxxxxx…');
    expect(sampleText('')).toBe('(empty text)');
    expect(sampleText(['a', 'b', 'c'])).toBe('3 items');
    expect(sampleText(['a'])).toBe('1 item');
    expect(sampleText([])).toBe('empty list');
    expect(sampleText({ a: 1, b: 2 })).toBe('2 fields');
    expect(sampleText(null)).toBe('null');
    expect(sampleText(true)).toBe('true');
    expect(sampleText(3.5)).toBe('3.5');
  });
});

describe('fieldsOf', () => {
  it('lists a record’s fields with labels, paths and samples', () => {
    const fields = fieldsOf(CONTACT_CREATE);
    const email = fields.find((f) => f.key === 'email')!;
    expect(email).toEqual({ key: 'email', path: ['email'], label: 'Email', kind: 'string', sample: 'JohnDeo@gmail.comm', size: 0 });
    const tags = fields.find((f) => f.key === 'tags')!;
    expect(tags).toMatchObject({ kind: 'array', sample: '2 items', size: 2 });
    expect(fields.map((f) => f.key)).toEqual(Object.keys(CONTACT_CREATE));
  });
  it('shows a list of records as its first record’s fields', () => {
    const fields = fieldsOf(CONTACT_CREATE.customFields, { base: ['customFields'] });
    expect(fields).toEqual([
      { key: 'id', path: ['customFields', 0, 'id'], label: 'ID', kind: 'string', sample: 'BcdmQEsNgz6AVpgLVUJ0', size: 0, firstItem: true },
      { key: 'value', path: ['customFields', 0, 'value'], label: 'Value', kind: 'string', sample: 'XYZ Corp', size: 0, firstItem: true },
    ]);
    expect(fieldCount(CONTACT_CREATE.customFields)).toBe(2);
  });
  it('lists a list of values as items', () => {
    const fields = fieldsOf(['a', 'b'], { base: ['tags'] });
    expect(fields.map((f) => [f.label, f.path, f.sample])).toEqual([
      ['Item 1', ['tags', 0], 'a'],
      ['Item 2', ['tags', 1], 'b'],
    ]);
  });
  it('has no fields in a scalar', () => {
    expect(fieldsOf('text')).toEqual([]);
    expect(fieldsOf(null)).toEqual([]);
    expect(fieldsOf(undefined)).toEqual([]);
  });
  it('pages through many fields', () => {
    const record = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, i]));
    const page = fieldsOf(record, { offset: 200, limit: 200 });
    expect(page.length).toBe(200);
    expect(page[0].key).toBe('k200');
    expect(page[199].key).toBe('k399');
    expect(fieldCount(record)).toBe(1000);
    const items = fieldsOf(Array.from({ length: 1000 }, (_, i) => i), { offset: 990, limit: 200 });
    expect(items.map((f) => f.key)).toEqual([990, 991, 992, 993, 994, 995, 996, 997, 998, 999]);
  });
  it('costs what is shown on a 5 MB sample', () => {
    // 5 MB: a record of 20,000 customers, each with a long note, and a huge text field.
    const customers = Array.from({ length: 20_000 }, (_, i) => ({ id: `c${i}`, email: `c${i}@example.com`, note: 'n'.repeat(200) }));
    const big = { customers, byId: Object.fromEntries(customers.map((c) => [c.id, c])), blob: 'x'.repeat(500_000) };
    expect(JSON.stringify(big).length).toBeGreaterThan(5_000_000);
    const started = performance.now();
    const top = fieldsOf(big, { limit: 200 });
    const ids = fieldsOf(big.byId, { base: ['byId'], limit: 200 });
    const first = fieldsOf(big.customers, { base: ['customers'], limit: 200 });
    const elapsed = performance.now() - started;
    expect(top.map((f) => f.sample)).toEqual(['20000 items', '20000 fields', `${'x'.repeat(60)}…`]);
    expect(ids.length).toBe(200);
    expect(first.map((f) => f.path)).toEqual([
      ['customers', 0, 'id'],
      ['customers', 0, 'email'],
      ['customers', 0, 'note'],
    ]);
    // Generous for a slow CI machine; the work is a few hundred fields, not the whole value.
    expect(elapsed).toBeLessThan(50);
  });
});

describe('flatFields', () => {
  it('lists nested fields breadth first with their full labels', () => {
    const fields = flatFields({ root: 'trigger', label: '', value: { a: 1, inner: { b: 2, deeper: { c: 3 } }, list: [{ d: 4 }] } });
    expect(fields.map((f) => [f.ref, f.label])).toEqual([
      ['trigger.a', 'A'],
      ['trigger.inner', 'Inner'],
      ['trigger.list', 'List'],
      ['trigger.inner.b', 'Inner › B'],
      ['trigger.inner.deeper', 'Inner › Deeper'],
      ['trigger.list[0].d', 'List › D'],
      ['trigger.inner.deeper.c', 'Inner › Deeper › C'],
    ]);
  });
  it('stops at the depth and count asked for', () => {
    const value = { a: { b: { c: { d: 1 } } } };
    expect(flatFields({ root: 't', label: '', value }, 2).map((f) => f.ref)).toEqual(['t.a', 't.a.b']);
    const wide = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, i]));
    expect(flatFields({ root: 't', label: '', value: wide }, 3, 10).length).toBe(10);
  });
});

describe('autoMap', () => {
  const targets = [
    { key: 'email', required: true },
    { key: 'full_name', required: true },
    { key: 'phone' },
    { key: 'ghl_contact_id' },
    { key: 'notes_text' },
  ];
  it('maps names equal but for case, _ and -; a full name from first and last', () => {
    expect(autoMap(targets, [trigger])).toEqual({
      email: '{{ trigger.email }}',
      full_name: '{{ full_name(trigger.firstName | default(none), trigger.lastName | default(none)) }}',
      phone: '{{ trigger.phone }}',
    });
  });
  it('matches Email to email and fullName to full_name', () => {
    const source = { root: 'trigger', label: '', value: { Email: 'a@b.c', fullName: 'A B', 'date-of-birth': '2000' } };
    expect(autoMap([{ key: 'email' }, { key: 'full_name' }, { key: 'Date of birth' }], [source])).toEqual({
      email: '{{ trigger.Email }}',
      full_name: '{{ trigger.fullName }}',
      'Date of birth': '{{ trigger["date-of-birth"] }}',
    });
  });
  it('prefers the nearest step, then shallower fields', () => {
    const customer = { root: 'steps.customer.output', label: 'customer', value: { email: 'x@y.z' } };
    const nested = { root: 'trigger', label: '', value: { contact: { phone: '1' }, phone: '2' } };
    expect(autoMap([{ key: 'email' }], [trigger, customer])).toEqual({ email: '{{ steps.customer.output.email }}' });
    expect(autoMap([{ key: 'phone' }], [nested])).toEqual({ phone: '{{ trigger.phone }}' });
  });
  it('uses a target’s title too, and never a field of a list’s first item', () => {
    const source = { root: 'trigger', label: '', value: { mail: 'a', items: [{ sku: 'x' }] } };
    expect(autoMap([{ key: 'to', title: 'Mail' }, { key: 'sku' }], [source])).toEqual({ to: '{{ trigger.mail }}' });
  });
  it('maps nothing without samples', () => {
    expect(autoMap(targets, [{ root: 'trigger', label: '', value: undefined }])).toEqual({});
  });
});

describe('filters', () => {
  function roundTrip(conditions: Condition[], join: 'all' | 'any', when: string) {
    expect(filterExpression(conditions, join)).toBe(when);
    expect(parseFilter(when)).toEqual({ conditions, join: conditions.length > 1 ? join : 'all' });
  }
  it('writes "is set" as the seed recipe does', () => {
    roundTrip([{ ref: 'trigger.email', op: 'set' }], 'all', '{{ trigger.email is defined and trigger.email }}');
  });
  it('reads the seed flows’ filters, and keeps the one it cannot show as text', () => {
    expect(parseFilter('{{ steps.contact.output.email is defined and steps.contact.output.email }}')).toEqual({
      conditions: [{ ref: 'steps.contact.output.email', op: 'set' }],
      join: 'all',
    });
    expect(parseFilter("{{ steps.project.output.album_id != '' }}")).toBeNull();
  });
  it('writes every operator, guarded against a missing field', () => {
    roundTrip([{ ref: 'trigger.email', op: 'empty' }], 'all', '{{ trigger.email is not defined or not trigger.email }}');
    roundTrip([{ ref: 'trigger.country', op: 'equals', value: 'DE', type: 'string' }], 'all', '{{ trigger.country is defined and trigger.country == "DE" }}');
    roundTrip([{ ref: 'trigger.country', op: 'not_equals', value: 'DE', type: 'string' }], 'all', '{{ trigger.country is not defined or trigger.country != "DE" }}');
    roundTrip([{ ref: 'trigger.tags', op: 'contains', value: 'vip', type: 'string' }], 'all', '{{ trigger.tags is defined and "vip" in trigger.tags }}');
    roundTrip([{ ref: 'trigger.total', op: 'greater', value: '100', type: 'number' }], 'all', '{{ trigger.total is defined and trigger.total > 100 }}');
    roundTrip([{ ref: 'trigger.total', op: 'less', value: '2.5', type: 'number' }], 'all', '{{ trigger.total is defined and trigger.total < 2.5 }}');
    roundTrip([{ ref: 'trigger.dnd', op: 'equals', value: 'true', type: 'boolean' }], 'all', '{{ trigger.dnd is defined and trigger.dnd == true }}');
  });
  it('guards each level of a nested field', () => {
    expect(guardsFor('trigger.a.b')).toEqual(['trigger.a', 'trigger.a.b']);
    expect(guardsFor('steps.customer.output.email')).toEqual(['steps.customer.output.email']);
    expect(guardsFor('trigger.customFields[0].value')).toEqual(['trigger.customFields', 'trigger.customFields[0]', 'trigger.customFields[0].value']);
    expect(guardsFor('trigger')).toEqual(['trigger']);
    roundTrip([{ ref: 'trigger.a.b', op: 'set' }], 'all', '{{ trigger.a is defined and trigger.a.b is defined and trigger.a.b }}');
    roundTrip([{ ref: 'trigger.a["x y"]', op: 'empty' }], 'all', '{{ trigger.a is not defined or trigger.a["x y"] is not defined or not trigger.a["x y"] }}');
  });
  it('joins several by and / or', () => {
    const conditions: Condition[] = [
      { ref: 'trigger.email', op: 'set' },
      { ref: 'trigger.country', op: 'equals', value: 'a "quoted" (value) and more', type: 'string' },
    ];
    roundTrip(conditions, 'all', '{{ (trigger.email is defined and trigger.email) and (trigger.country is defined and trigger.country == "a \\"quoted\\" (value) and more") }}');
    roundTrip(conditions, 'any', '{{ (trigger.email is defined and trigger.email) or (trigger.country is defined and trigger.country == "a \\"quoted\\" (value) and more") }}');
  });
  it('types a value as text unless told, or a number for greater and less', () => {
    expect(conditionExpression({ ref: 'trigger.zip', op: 'equals', value: '452001' })).toBe('trigger.zip is defined and trigger.zip == "452001"');
    expect(conditionExpression({ ref: 'trigger.n', op: 'greater', value: '5' })).toBe('trigger.n is defined and trigger.n > 5');
    expect(conditionExpression({ ref: 'trigger.n', op: 'greater', value: 'five' })).toBe('trigger.n is defined and trigger.n > "five"');
    expect(conditionExpression({ ref: 'trigger.n', op: 'equals', value: 'x', type: 'number' })).toBe('trigger.n is defined and trigger.n == "x"');
  });
  it('leaves out incomplete conditions', () => {
    expect(filterExpression([], 'all')).toBe('');
    expect(filterExpression([{ ref: '', op: 'set' }], 'all')).toBe('');
    expect(filterExpression([{ ref: 'trigger.a', op: 'equals' }, { ref: 'trigger.b', op: 'set' }], 'all')).toBe('{{ trigger.b is defined and trigger.b }}');
  });
  it('reads spacing variations but nothing it did not write', () => {
    expect(parseFilter('{{trigger.email  is defined\n and trigger.email}}')).toEqual({ conditions: [{ ref: 'trigger.email', op: 'set' }], join: 'all' });
    expect(parseFilter('')).toEqual({ conditions: [], join: 'all' });
    for (const when of [
      '{{ trigger.email }}',
      '{{ trigger.email is defined and trigger.phone }}',
      '{{ trigger.a.b is defined and trigger.a.b }}',
      '{{ (trigger.a is defined and trigger.a) and (trigger.b is defined and trigger.b) or (trigger.c is defined and trigger.c) }}',
      '{{ (trigger.a is defined and trigger.a) and trigger.b }}',
      '{{ trigger.x | length > 3 }}',
      '{{ a }} {{ b }}',
      'trigger.email',
      '{% if trigger.email %}true{% endif %}',
      '{{ trigger.n is defined and trigger.n > 3 and trigger.m }}',
    ]) {
      expect(parseFilter(when), when).toBeNull();
    }
  });
});

describe('fixed and expression values', () => {
  it('keeps both values across switches (rule 13)', () => {
    let draft = draftOf('Jane');
    expect(draft).toEqual({ mode: 'fixed', fixed: 'Jane', expression: '' });
    draft = switchMode(draft, 'expression');
    expect(valueOfDraft(draft)).toBeUndefined();
    draft = { ...draft, expression: '{{ trigger.name }}' };
    expect(valueOfDraft(draft)).toBe('{{ trigger.name }}');
    draft = switchMode(draft, 'fixed');
    expect(valueOfDraft(draft)).toBe('Jane');
    draft = switchMode(draft, 'expression');
    expect(valueOfDraft(draft)).toBe('{{ trigger.name }}');
  });
  it('reads an expression from the flow into expression mode', () => {
    expect(draftOf('{{ trigger.email }}')).toEqual({ mode: 'expression', fixed: undefined, expression: '{{ trigger.email }}' });
    expect(draftOf(5)).toEqual({ mode: 'fixed', fixed: 5, expression: '' });
    expect(draftOf(undefined)).toEqual({ mode: 'fixed', fixed: undefined, expression: '' });
  });
  it('takes a value set elsewhere into its mode and keeps the other', () => {
    const draft = mergeDraft(draftOf('Jane'), '{{ trigger.name }}');
    expect(draft).toEqual({ mode: 'expression', fixed: 'Jane', expression: '{{ trigger.name }}' });
    expect(mergeDraft(draft, 'Joe')).toEqual({ mode: 'fixed', fixed: 'Joe', expression: '{{ trigger.name }}' });
    expect(mergeDraft(draft, undefined)).toEqual({ mode: 'expression', fixed: 'Jane', expression: '' });
    expect(mergeDraft(draftOf('Jane'), undefined)).toEqual({ mode: 'fixed', fixed: undefined, expression: '' });
  });
  it('keeps false and 0 as fixed values', () => {
    expect(valueOfDraft(draftOf(false))).toBe(false);
    expect(valueOfDraft(draftOf(0))).toBe(0);
    expect(valueOfDraft(draftOf(''))).toBeUndefined();
  });
  it('parses fixed text by control', () => {
    expect(parseFixed('number', '2.5')).toEqual({ value: 2.5 });
    expect(parseFixed('integer', '2.5')).toEqual({ error: 'not a whole number' });
    expect(parseFixed('number', 'x').error).toBe('not a number');
    expect(parseFixed('number', '')).toEqual({ value: undefined });
    expect(parseFixed('json', '[1,2]')).toEqual({ value: [1, 2] });
    expect(parseFixed('json', '[1,').error).toMatch(/^not JSON/);
    expect(parseFixed('text', '')).toEqual({ value: undefined });
    expect(parseFixed('text', ' a ')).toEqual({ value: ' a ' });
    expect(fixedText('json', [1])).toBe('[1]');
    expect(fixedText('number', 3)).toBe('3');
    expect(fixedText('text', undefined)).toBe('');
  });
});

describe('formFields', () => {
  it('reads the Details Flowers customer input: required first, nullable types, descriptions', () => {
    const fields = formFields(CUSTOMER_CREATE_INPUT as Schema);
    expect(fields.map((f) => [f.key, f.label, f.required, f.control, f.nullable])).toEqual([
      ['email', 'Email', true, 'text', false],
      ['full_name', 'Full name', true, 'text', false],
      ['ghl_contact_id', 'GHL contact ID', false, 'text', true],
      ['notes_text', 'Notes text', false, 'text', true],
      ['phone', 'Phone', false, 'text', true],
    ]);
    expect(fields[0].format).toBe('email');
    expect(fields[2].description).toBe('The linked HighLevel contact.');
  });
  it('picks a control per type', () => {
    const fields = formFields({
      type: 'object',
      properties: {
        count: { type: 'integer', title: 'How many' },
        price: { type: ['number', 'null'] },
        ok: { type: 'boolean' },
        status: { type: 'string', enum: ['new', 'done', null] },
        items: { type: 'array', items: { type: 'object' } },
        anything: {},
      },
    });
    expect(fields.map((f) => [f.key, f.label, f.control, f.nullable])).toEqual([
      ['count', 'How many', 'integer', false],
      ['price', 'Price', 'number', true],
      ['ok', 'Ok', 'boolean', false],
      ['status', 'Status', 'enum', false],
      ['items', 'Items', 'json', false],
      ['anything', 'Anything', 'text', false],
    ]);
    expect(fields[3].options).toEqual(['new', 'done']);
  });
});

describe('previews', () => {
  it('flags nothing', () => {
    for (const value of [null, undefined, '', '  ', []]) expect(isNothing(value)).toBe(true);
    for (const value of [0, false, 'x', [1], {}]) expect(isNothing(value)).toBe(false);
  });
  it('sends only the fields an expression reads', () => {
    const context = { sample: { email: 'a', phone: 'p', big: 'x'.repeat(1000) }, steps: { customer: { output: { full_name: 'A', other: 1 } }, unused: { output: { z: 1 } } } };
    expect(previewBody('{{ trigger.email }}', context)).toEqual({ expression: '{{ trigger.email }}', sample: { email: 'a' }, steps: {} });
    expect(previewBody('{{ trigger["phone"] | e164 }} {{ steps.customer.output.full_name }}', context)).toEqual({
      expression: '{{ trigger["phone"] | e164 }} {{ steps.customer.output.full_name }}',
      sample: { phone: 'p' },
      steps: { customer: { full_name: 'A' } },
    });
    expect(previewBody('{{ trigger.missing }}', context).sample).toEqual({});
  });
  it('sends a root whole when the expression reads it whole', () => {
    const context = { sample: { email: 'a' }, steps: { customer: { output: { x: 1 } } } };
    expect(previewBody('{{ trigger | tojson }}', context).sample).toEqual({ email: 'a' });
    expect(previewBody('{{ trigger[key] }}', context).sample).toEqual({ email: 'a' });
    expect(previewBody('{{ steps.customer.output }}', context).steps).toEqual({ customer: { x: 1 } });
    expect(previewBody('{{ steps | length }}', context).steps).toEqual({ customer: { x: 1 } });
    expect(previewBody('{{ 1 }}', undefined)).toEqual({ expression: '{{ 1 }}', sample: {}, steps: {} });
  });
});

describe('missingData', () => {
  const context = { sample: { email: 'a', tags: ['x'], o: { k: null } }, steps: { customer: { output: { full_name: 'A' } } } };
  function check(expression: string, want: ReturnType<typeof missingData>) {
    expect(missingData(expression, context), expression).toEqual(want);
  }
  it('names a step with no sample output', () => {
    check('{{ steps.upsert.output.id }}', { kind: 'step', name: 'upsert' });
    check('{{ steps.upsert.output.id is defined and steps.upsert.output.id }}', { kind: 'step', name: 'upsert' });
    check('{{ steps["upsert"].output }}', { kind: 'step', name: 'upsert' });
  });
  it('names the first part of a single reference the sample lacks', () => {
    check('{{ trigger.emial }}', { kind: 'field', name: 'trigger.emial' });
    check('{{ trigger.o.k.deeper }}', { kind: 'field', name: 'trigger.o.k.deeper' });
    check('{{ trigger.tags[1] }}', { kind: 'field', name: 'trigger.tags[1]' });
    check('{{ steps.customer.output.phone }}', { kind: 'field', name: 'steps.customer.output.phone' });
    check('{{ trigger.o.missing.x }}', { kind: 'field', name: 'trigger.o.missing' });
  });
  it('leaves everything else to the server', () => {
    check('{{ trigger.email }}', null);
    check('{{ trigger.tags[0] }}', null);
    check('{{ trigger.o.k }}', null);
    check('{{ steps.customer.output.full_name }}', null);
    // Guarded or computed expressions may read what is missing on purpose.
    check('{{ trigger.emial is defined and trigger.emial }}', null);
    check('{{ trigger.emial | default("x") }}', null);
    check('{{ now }}', null);
  });
  it('parses references', () => {
    expect(parseReference('trigger.customFields[0]["a b"]')).toEqual(['trigger', 'customFields', 0, 'a b']);
    expect(parseReference('trigger.x | lower')).toBeNull();
  });
});
