// What the palette, the trigger chooser and new steps are made of: `GET /api/v1/catalog` (apps,
// operations with schemas and examples, webhook events with example payloads) and the stored
// connections. Pure functions, tested in catalog.test.ts.

/** An app as the catalog lists it. */
export interface CatalogApp {
  id: string;
  title: string;
  auth?: string[];
}

/** An operation: an action a step calls, or a poll trigger. */
export interface CatalogOperation {
  id: string;
  app: string;
  title: string;
  description: string;
  kind: string;
  inputSchema?: unknown;
  outputSchema?: unknown;
  example?: unknown;
}

/** A webhook event that starts flows, with its example payload. */
export interface CatalogEvent {
  app: string;
  event: string;
  title: string;
  example?: unknown;
}

/** The catalog the editor reads. */
export interface Catalog {
  apps: CatalogApp[];
  operations: CatalogOperation[];
  events: CatalogEvent[];
}

/** A connection as the editor needs it. */
export interface ConnectionRef {
  name: string;
  app: string;
  health?: string;
}

/** What a palette item adds. */
export type PaletteItem =
  | { type: 'filter'; title: string; description: string }
  | { type: 'map'; title: string; description: string }
  | { type: 'lookup'; title: string; description: string }
  | { type: 'action'; title: string; description: string; operation: string; app: string }
  | { type: 'event'; title: string; description: string; app: string; event: string }
  | { type: 'poll'; title: string; description: string; operation: string; app: string };

/** The palette's item key (stable, for lists and drag data). */
export function itemKey(item: PaletteItem): string {
  switch (item.type) {
    case 'action':
    case 'poll':
      return `${item.type}:${item.operation}`;
    case 'event':
      return `event:${item.app}.${item.event}`;
    default:
      return item.type;
  }
}

/** The drag payload's MIME type for palette items: its data is the item's key. */
export const PALETTE_MIME = 'application/x-tether-palette';
/** The drag payload's MIME type for a step card being moved: its data is the step's index. */
export const STEP_MIME = 'application/x-tether-step';

/** The core steps, shown above the apps. */
export const CORE_ITEMS: PaletteItem[] = [
  { type: 'filter', title: 'Filter', description: 'Go on only when a condition holds' },
  { type: 'map', title: 'Map fields', description: 'Shape a record from the data before it' },
  { type: 'lookup', title: 'Lookup', description: 'Read a record from an app' },
];

/** One app's part of the palette. */
export interface PaletteGroup {
  app: string;
  title: string;
  triggers: PaletteItem[];
  actions: PaletteItem[];
}

/** Whether an operation only reads (a lookup's candidates): get, find, list, search. */
export function isRead(operation: CatalogOperation): boolean {
  return operation.kind === 'action' && /\.(get|find|find_by_\w+|list|search\w*|lookup)$/.test(operation.id);
}

/** The palette: the core steps, then each app with its triggers and actions, filtered by `query`
 * (every word must appear in the title, description, app or id). */
export function palette(catalog: Catalog, query = ''): { core: PaletteItem[]; groups: PaletteGroup[] } {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  const matches = (item: PaletteItem, appTitle: string) => {
    if (words.length === 0) return true;
    const text = `${item.title} ${item.description} ${appTitle} ${itemKey(item)}`.toLowerCase();
    return words.every((word) => text.includes(word));
  };
  const core = CORE_ITEMS.filter((item) => matches(item, 'core'));
  const groups: PaletteGroup[] = [];
  const appIds = [...catalog.apps.map((app) => app.id)];
  for (const op of catalog.operations) if (!appIds.includes(op.app)) appIds.push(op.app);
  for (const app of appIds) {
    const title = appTitle(catalog, app);
    const triggers: PaletteItem[] = [
      ...catalog.events
        .filter((event) => event.app === app)
        .map((event): PaletteItem => ({
          type: 'event',
          title: event.title,
          description: `Webhook: ${event.event}`,
          app,
          event: event.event,
        })),
      ...catalog.operations
        .filter((op) => op.app === app && op.kind === 'trigger')
        .map((op): PaletteItem => ({ type: 'poll', title: op.title, description: op.description, app, operation: op.id })),
    ].filter((item) => matches(item, title));
    const actions = catalog.operations
      .filter((op) => op.app === app && op.kind === 'action')
      .map((op): PaletteItem => ({ type: 'action', title: op.title, description: op.description, app, operation: op.id }))
      .filter((item) => matches(item, title));
    if (triggers.length + actions.length > 0) groups.push({ app, title, triggers, actions });
  }
  return { core, groups };
}

/** The app's title, or its id with spaces. */
export function appTitle(catalog: Catalog, app: string): string {
  return catalog.apps.find((a) => a.id === app)?.title ?? app.replace(/_/g, ' ');
}

/** The palette item with this key. */
export function findItem(catalog: Catalog, key: string): PaletteItem | undefined {
  const { core, groups } = palette(catalog);
  return [...core, ...groups.flatMap((g) => [...g.triggers, ...g.actions])].find((item) => itemKey(item) === key);
}

/** The operation with this id. */
export function operation(catalog: Catalog, id: unknown): CatalogOperation | undefined {
  return typeof id === 'string' ? catalog.operations.find((op) => op.id === id) : undefined;
}

/** A step id from words: lowercase letters, digits and `_`, starting with a letter. */
function slug(text: string): string {
  const s = text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  return /^[a-z]/.test(s) ? s : `step_${s}`;
}

/** A step id not in `taken`: `base`, else `base_2`, `base_3`, … */
export function uniqueId(base: string, taken: Iterable<string>): string {
  const used = new Set(taken);
  const start = slug(base);
  if (!used.has(start)) return start;
  for (let n = 2; ; n++) if (!used.has(`${start}_${n}`)) return `${start}_${n}`;
}

/** The base of a step id for an operation: `details_flowers.customer.create` → `create_customer`. */
export function idBaseFor(operationId: string): string {
  const parts = operationId.split('.');
  if (parts.length < 3) return slug(operationId);
  const resource = parts[parts.length - 2];
  const verb = parts[parts.length - 1];
  return slug(`${verb}_${resource}`);
}

/** The first connection of `app` (healthy ones first), or undefined. */
export function defaultConnection(connections: ConnectionRef[], app: string): string | undefined {
  const of = connections.filter((c) => c.app === app);
  return (of.find((c) => c.health === 'ok') ?? of.find((c) => c.health !== 'revoked') ?? of[0])?.name;
}

/** The required top-level inputs of a JSON Schema. */
export function requiredInputs(schema: unknown): string[] {
  if (typeof schema !== 'object' || schema === null) return [];
  const required = (schema as { required?: unknown }).required;
  return Array.isArray(required) ? required.filter((key): key is string => typeof key === 'string') : [];
}

/** A new step for a palette item, with a unique id, a description and defaults: the first
 * connection of its app, its required inputs present and empty. Undefined for triggers. */
export function newStep(
  item: PaletteItem,
  catalog: Catalog,
  connections: ConnectionRef[],
  taken: Iterable<string>,
): Record<string, unknown> | undefined {
  switch (item.type) {
    case 'filter':
      return { id: uniqueId('filter', taken), description: 'Go on only when…', filter: { when: '' } };
    case 'map':
      return { id: uniqueId('fields', taken), description: 'Map fields', map: { fields: {} } };
    case 'lookup':
      return { id: uniqueId('lookup', taken), description: 'Look up a record', lookup: { operation: '', connection: '', input: {} } };
    case 'action': {
      const op = operation(catalog, item.operation);
      const input: Record<string, unknown> = {};
      for (const key of requiredInputs(op?.inputSchema)) input[key] = '';
      const body: Record<string, unknown> = { operation: item.operation, connection: defaultConnection(connections, item.app) ?? '', input };
      const kind = op && isRead(op) ? 'lookup' : 'action';
      return { id: uniqueId(idBaseFor(item.operation), taken), description: op?.title ?? item.title, [kind]: body };
    }
    default:
      return undefined;
  }
}

/** The trigger a trigger item sets. */
export function newTrigger(item: PaletteItem, connections: ConnectionRef[]): Record<string, unknown> | undefined {
  if (item.type === 'event') {
    return { webhook: { app: item.app, events: [item.event], connection: defaultConnection(connections, item.app) ?? '' } };
  }
  if (item.type === 'poll') {
    return { poll: { operation: item.operation, connection: defaultConnection(connections, item.app) ?? '', every: '5m' } };
  }
  return undefined;
}

/** The example record of a trigger: its first event's example payload, or its poll operation's
 * example. */
export function triggerExample(catalog: Catalog, trigger: Record<string, unknown> | undefined): unknown {
  if (!trigger) return undefined;
  const webhook = trigger.webhook as { app?: unknown; events?: unknown } | undefined;
  if (webhook && typeof webhook === 'object') {
    const events = Array.isArray(webhook.events) ? webhook.events : [];
    for (const name of events) {
      const found = catalog.events.find((event) => event.app === webhook.app && event.event === name);
      if (found?.example !== undefined) return found.example;
    }
    return undefined;
  }
  const poll = trigger.poll as { operation?: unknown; resource?: unknown } | undefined;
  if (poll && typeof poll === 'object') {
    const id = typeof poll.operation === 'string' ? poll.operation : typeof poll.resource === 'string' ? `${poll.resource}.updated` : '';
    const example = operation(catalog, id)?.example;
    // A poll operation answers `{records: […], cursor}`: the trigger is one record.
    const records = (example as { records?: unknown } | undefined)?.records;
    return Array.isArray(records) && records.length > 0 ? records[0] : example;
  }
  if (trigger.schedule) return { scheduled_at: new Date(0).toISOString() };
  return undefined;
}

/** The trigger in a few words, for its card: `When a contact is created (HighLevel webhook)`. */
export function triggerTitle(catalog: Catalog, trigger: Record<string, unknown> | undefined): string {
  if (!trigger) return 'Choose a trigger';
  const webhook = trigger.webhook as { app?: string; events?: unknown } | undefined;
  if (webhook) {
    const events = Array.isArray(webhook.events) ? webhook.events.map(String) : [];
    const titles = events.map((name) => catalog.events.find((e) => e.app === webhook.app && e.event === name)?.title ?? name);
    return `${titles.join(' or ') || 'No event chosen'} (${appTitle(catalog, webhook.app ?? '')} webhook)`;
  }
  const poll = trigger.poll as { operation?: string; every?: string } | undefined;
  if (poll) {
    const op = operation(catalog, poll.operation);
    return `${op?.title ?? poll.operation ?? 'Poll'} (every ${poll.every ?? '?'})`;
  }
  const schedule = trigger.schedule as { cron?: string } | undefined;
  if (schedule) return `On a schedule (${schedule.cron ?? '?'})`;
  return 'Unknown trigger';
}
