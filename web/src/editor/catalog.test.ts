import { describe, expect, it } from 'vitest';
import {
  type Catalog,
  findItem,
  idBaseFor,
  itemKey,
  newStep,
  newTrigger,
  palette,
  triggerExample,
  triggerTitle,
  uniqueId,
} from './catalog';

const catalog: Catalog = {
  apps: [
    { id: 'ghl', title: 'HighLevel' },
    { id: 'details_flowers', title: 'Details Flowers' },
  ],
  operations: [
    { id: 'ghl.contact.create', app: 'ghl', title: 'Create contact', description: 'Creates a contact', kind: 'action' },
    { id: 'ghl.contact.updated', app: 'ghl', title: 'Contact updated', description: 'Polls changed contacts', kind: 'trigger', example: { records: [{ id: 'c1' }], cursor: null } },
    {
      id: 'details_flowers.customer.create',
      app: 'details_flowers',
      title: 'Create customer',
      description: 'Creates a customer',
      kind: 'action',
      inputSchema: { type: 'object', required: ['email', 'full_name'], properties: { email: {}, full_name: {}, phone: {} } },
    },
    { id: 'details_flowers.customer.find_by_email', app: 'details_flowers', title: 'Find customer by e-mail', description: '', kind: 'action' },
  ],
  events: [{ app: 'ghl', event: 'ContactCreate', title: 'Contact created', example: { id: 'x', email: 'a@b.c' } }],
};
const connections = [
  { name: 'df-down', app: 'details_flowers', health: 'unreachable' },
  { name: 'details-flowers-main', app: 'details_flowers', health: 'ok' },
  { name: 'ghl-main', app: 'ghl', health: 'untested' },
];

describe('palette', () => {
  it('has the core steps on top, then each app with its triggers and actions', () => {
    const { core, groups } = palette(catalog);
    expect(core.map((i) => i.title)).toEqual(['Filter', 'Map fields', 'Lookup']);
    expect(groups.map((g) => [g.title, g.triggers.length, g.actions.length])).toEqual([
      ['HighLevel', 2, 1],
      ['Details Flowers', 0, 2],
    ]);
    expect(groups[0].triggers.map(itemKey)).toEqual(['event:ghl.ContactCreate', 'poll:ghl.contact.updated']);
  });

  it('is searched by every word', () => {
    const { core, groups } = palette(catalog, 'flowers create');
    expect(core).toEqual([]);
    expect(groups.flatMap((g) => g.actions.map((a) => a.title))).toEqual(['Create customer']);
    expect(palette(catalog, 'contact created').groups[0].triggers.map((i) => i.title)).toEqual(['Contact created']);
  });
});

describe('new steps', () => {
  it('get a unique id from their operation, a description and defaults', () => {
    expect(idBaseFor('details_flowers.customer.create')).toBe('create_customer');
    expect(uniqueId('create_customer', ['create_customer', 'create_customer_2'])).toBe('create_customer_3');
    const item = findItem(catalog, 'action:details_flowers.customer.create')!;
    expect(newStep(item, catalog, connections, ['create_customer'])).toEqual({
      id: 'create_customer_2',
      description: 'Create customer',
      action: {
        operation: 'details_flowers.customer.create',
        connection: 'details-flowers-main',
        input: { email: '', full_name: '' },
      },
    });
    const find = findItem(catalog, 'action:details_flowers.customer.find_by_email')!;
    expect(Object.keys(newStep(find, catalog, connections, [])!)).toEqual(['id', 'description', 'lookup']);
    expect(newStep(findItem(catalog, 'filter')!, catalog, connections, ['filter'])!.id).toBe('filter_2');
  });

  it('and triggers the first connection of their app and an example record', () => {
    const trigger = newTrigger(findItem(catalog, 'event:ghl.ContactCreate')!, connections)!;
    expect(trigger).toEqual({ webhook: { app: 'ghl', events: ['ContactCreate'], connection: 'ghl-main' } });
    expect(triggerExample(catalog, trigger)).toEqual({ id: 'x', email: 'a@b.c' });
    expect(triggerTitle(catalog, trigger)).toBe('Contact created (HighLevel webhook)');
    const poll = newTrigger(findItem(catalog, 'poll:ghl.contact.updated')!, connections)!;
    expect(triggerExample(catalog, poll)).toEqual({ id: 'c1' });
    expect(triggerTitle(catalog, poll)).toBe('Contact updated (every 5m)');
    expect(newTrigger(findItem(catalog, 'map')!, connections)).toBeUndefined();
  });
});
