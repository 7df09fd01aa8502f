// The catalog (`GET /api/v1/catalog`), loaded once per page load and shared by the Apps pages.
import type { components } from '../lib/api';
import { api, call } from '../lib/client';

export type Catalog = components['schemas']['CatalogView'];
export type Operation = components['schemas']['OperationView'];

let cached: Promise<Catalog> | null = null;

/** The catalog; a failed load is tried again next time. */
export function loadCatalog(): Promise<Catalog> {
  cached ??= call('Loading the catalog', api.GET('/api/v1/catalog')).catch((error) => {
    cached = null;
    throw error;
  });
  return cached;
}

/** Whether `text` matches every word of `query` (any case). */
export function matches(query: string, ...texts: string[]): boolean {
  const words = query.trim().toLowerCase().split(/\s+/).filter(Boolean);
  const haystack = texts.join(' ').toLowerCase();
  return words.every((word) => haystack.includes(word));
}
