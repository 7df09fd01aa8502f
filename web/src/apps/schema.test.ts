import { describe, expect, it } from 'vitest';
import { fieldRows, inputSkeleton, mayWrite, typeText } from './schema';

const customer = {
  type: 'object',
  required: ['email', 'full_name'],
  properties: {
    phone: { type: ['string', 'null'], description: 'With country code.' },
    email: { type: 'string', format: 'email', description: 'Unique.' },
    full_name: { type: 'string' },
    tags: { type: 'array', items: { type: 'string' } },
    address: { anyOf: [{ type: 'object', properties: { city: { type: 'string' } } }, { type: 'null' }] },
    items: { type: 'array', items: { type: 'object', required: ['sku'], properties: { sku: { type: 'string' }, n: { type: 'integer' } } } },
    kind: { type: 'string', enum: ['a', 'b'] },
  },
};

describe('fieldRows', () => {
  it('lists fields required first, nested ones by path', () => {
    const rows = fieldRows(customer);
    expect(rows.map((r) => r.path)).toEqual(['email', 'full_name', 'phone', 'tags', 'address', 'address.city', 'items', 'items[].sku', 'items[].n', 'kind']);
    expect(rows[0]).toEqual({ path: 'email', depth: 0, type: 'string (email)', required: true, description: 'Unique.' });
    expect(rows.find((r) => r.path === 'phone')?.type).toBe('string or null');
    expect(rows.find((r) => r.path === 'tags')?.type).toBe('list of string');
    expect(rows.find((r) => r.path === 'address')?.type).toBe('object or null');
    expect(rows.find((r) => r.path === 'items[].sku')).toMatchObject({ depth: 1, required: true });
    expect(rows.find((r) => r.path === 'kind')?.type).toBe('"a" | "b"');
  });

  it('copes with no schema', () => {
    expect(fieldRows({})).toEqual([]);
    expect(fieldRows(null)).toEqual([]);
    expect(typeText({})).toBe('any');
  });
});

describe('mayWrite', () => {
  it('follows the verb', () => {
    expect(mayWrite('details_flowers.customer.get', 'action')).toBe(false);
    expect(mayWrite('ghl.contact.find_duplicate', 'action')).toBe(false);
    expect(mayWrite('ghl.contact.create', 'action')).toBe(true);
    expect(mayWrite('ghl.tag.add', 'action')).toBe(true);
    expect(mayWrite('ghl.contact.new', 'trigger')).toBe(false);
  });
});

describe('inputSkeleton', () => {
  it('has the required fields, empty', () => {
    expect(inputSkeleton(customer)).toEqual({ email: '', full_name: '' });
    expect(inputSkeleton({ type: 'object', required: ['n', 'ok'], properties: { n: { type: 'integer' }, ok: { type: 'boolean' } } })).toEqual({ n: 0, ok: false });
  });
});
