// What the Connections page knows about apps and auth types, and how it reads the server's
// refusals: each diagnostic on its field, the flows that stand in the way of a rename or delete.
import { ApiFailure } from '../lib/client';
import type { components } from '../lib/api';

export type Connection = components['schemas']['ConnectionView'];

/** How a new connection authenticates (the `auth` of a stored one). */
export type AuthKind = 'oauth2' | 'private_token' | 'oauth1' | 'api_key';

export interface AuthChoice {
  kind: AuthKind;
  label: string;
  hint: string;
}

export interface AppChoice {
  /** The app's id in the API (`details_flowers`). */
  app: string;
  title: string;
  /** A name to suggest for its first connection (`ghl-main`). */
  suggested: string;
  auths: AuthChoice[];
  /** The API base URL when none is given, shown as a placeholder; empty when one is needed. */
  defaultBase: string;
}

/** The apps a connection can be made to, with their auth types, first the recommended one. */
export const APPS: AppChoice[] = [
  {
    app: 'ghl',
    title: 'HighLevel',
    suggested: 'ghl-main',
    defaultBase: 'https://services.leadconnectorhq.com',
    auths: [
      { kind: 'oauth2', label: 'OAuth 2.0 (a Marketplace app)', hint: 'Approve access on HighLevel’s consent page, in a popup.' },
      {
        kind: 'private_token',
        label: 'Private integration token',
        hint: 'A token made in the location’s Settings → Private Integrations.',
      },
    ],
  },
  {
    app: 'flickr',
    title: 'Flickr',
    suggested: 'flickr-main',
    defaultBase: 'https://api.flickr.com',
    auths: [{ kind: 'oauth1', label: 'OAuth 1.0a', hint: 'Approve access on Flickr’s page, in a popup.' }],
  },
  {
    app: 'details_flowers',
    title: 'Details Flowers',
    suggested: 'details-flowers-main',
    defaultBase: '',
    auths: [{ kind: 'api_key', label: 'API key', hint: 'The key from the shop’s back office, and its API address.' }],
  },
];

const AUTH_LABELS: Record<string, string> = {
  oauth2: 'OAuth 2.0',
  private_token: 'private integration token',
  oauth1: 'OAuth 1.0a',
  api_key: 'API key',
};

/** `HighLevel`, or the id of an app this page does not know. */
export function appTitle(app: string): string {
  return APPS.find((a) => a.app === app)?.title ?? app;
}

/** `OAuth 2.0`, `API key`, … */
export function authLabel(auth: string): string {
  return AUTH_LABELS[auth] ?? auth;
}

/** Whether a connection reconnects through a consent page (else with a new token or key). */
export function isOAuth(auth: string): boolean {
  return auth === 'oauth2' || auth === 'oauth1';
}

/** The words of a health, as a badge says them. */
export function healthLabel(health: string): string {
  return health.replace('_', ' ');
}

/** A name not taken yet: `base`, else `base-2`, `base-3`, … */
export function freeName(base: string, taken: Iterable<string>): string {
  const names = new Set(taken);
  if (!names.has(base)) return base;
  for (let n = 2; ; n++) {
    if (!names.has(`${base}-${n}`)) return `${base}-${n}`;
  }
}

interface RawDiagnostic {
  path?: unknown;
  message?: unknown;
}

function diagnosticsOf(error: unknown): RawDiagnostic[] {
  if (!(error instanceof ApiFailure)) return [];
  const body = error.body as { diagnostics?: unknown } | null | undefined;
  return Array.isArray(body?.diagnostics) ? (body.diagnostics as RawDiagnostic[]) : [];
}

/**
 * Each field's problem from a refusal, by the request's field name (`token`, `accountId`), the
 * first one where there are several. `usedBy` entries are left out: they are flows, not fields.
 */
export function fieldErrors(error: unknown): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const d of diagnosticsOf(error)) {
    if (typeof d.path !== 'string' || typeof d.message !== 'string' || d.path === '' || d.path === 'usedBy') continue;
    fields[d.path] ??= d.message;
  }
  return fields;
}

/** The flows a 409 says stand in the way (the `usedBy` diagnostics), in the server's order. */
export function blockingFlows(error: unknown): string[] {
  return diagnosticsOf(error)
    .filter((d) => d.path === 'usedBy' && typeof d.message === 'string')
    .map((d) => d.message as string);
}

/** A time for people: `12 Jun 2026, 14:05:09`; empty for nothing. */
export function when(iso: string | null | undefined): string {
  if (!iso) return '';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

/** A URL's origin, or `null` when it is not a URL. */
export function originOf(url: string): string | null {
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}
