// Connecting (or reconnecting) through an app's consent page: start the authorization on the
// server, send the popup there, and wait for the outcome (see `oauth.ts`).
import type { components } from '../lib/api';
import { api, ApiFailure, call } from '../lib/client';
import { appTitle, type Connection } from './connections';
import { waitForOAuth } from './oauth';

export type StartOAuth = components['schemas']['StartOAuth'];
export type OAuthStarted = components['schemas']['OAuthStarted'];

/** How a consent ended, for the page to show. */
export type ConsentOutcome =
  | { kind: 'connected'; connection: Connection }
  | { kind: 'failed'; message: string }
  | { kind: 'cancelled' };

/** The connection named `name`, or `null` when there is none. */
export async function findConnection(name: string): Promise<Connection | null> {
  try {
    return await call(`Reading connection ${name}`, api.GET('/api/v1/connections/{id}', { params: { path: { id: name } } }));
  } catch (error) {
    if (error instanceof ApiFailure && error.status === 404) return null;
    throw error;
  }
}

/**
 * Runs one consent: `popup` is the window opened at the click (`null` when the browser blocked
 * it: `onStarted` then gets the consent URL to offer as a link). Throws when the server refuses
 * to start (an `ApiFailure` naming the fields).
 */
export async function consent(
  request: StartOAuth,
  popup: Window | null,
  signal: AbortSignal,
  onStarted: (started: OAuthStarted, blocked: boolean) => void,
): Promise<ConsentOutcome> {
  let before: Connection | null;
  let started: OAuthStarted;
  try {
    before = await findConnection(request.name);
    started = await call(`Connecting ${appTitle(request.app)} as ${request.name}`, api.POST('/api/v1/connections/oauth', { body: request }));
  } catch (error) {
    popup?.close();
    throw error;
  }
  if (popup && !popup.closed) popup.location.href = started.authorizeUrl;
  onStarted(started, popup === null || popup.closed);
  const result = await waitForOAuth({
    popup,
    origin: location.origin,
    expiresAt: Date.parse(started.expiresAt),
    signal,
    // Without a report (a tab opened from the link, a consent page that cut the opener), the
    // connection itself tells: it appeared, or its check time moved.
    stored: async () => {
      const now = await findConnection(request.name);
      return now !== null && (before === null || now.checkedAt !== before.checkedAt || now.id !== before.id);
    },
  });
  switch (result.kind) {
    case 'message':
      if (result.message.outcome === 'failed') {
        return { kind: 'failed', message: result.message.message ?? 'the app did not give access' };
      }
      break;
    case 'stored':
      break;
    case 'closed':
      return { kind: 'failed', message: 'the consent window closed before the connection was stored' };
    case 'expired':
      popup?.close();
      return { kind: 'failed', message: 'the authorization expired (it lasts 15 minutes); start again' };
    case 'cancelled':
      popup?.close();
      return { kind: 'cancelled' };
  }
  const connection = await findConnection(request.name);
  if (!connection) return { kind: 'failed', message: `the connection ${request.name} was not stored` };
  return { kind: 'connected', connection };
}
