// The OAuth popup: opened at the click (so the browser's popup blocker lets it through), sent to
// the consent page once the server answers, and watched until the callback page reports back
// (`/oauth/report.js`: `postMessage` to our origin) or, when no report can come (the popup was
// blocked and the person opened the link in a tab, or the consent page cut the opener), until
// polling the connection shows it stored.

/** What the callback page tells its opener. */
export interface OAuthMessage {
  type: 'tether:oauth';
  outcome: 'connected' | 'failed';
  app: string;
  connection: string | null;
  health: string | null;
  message: string | null;
}

/** How waiting for a consent ended. */
export type OAuthResult =
  | { kind: 'message'; message: OAuthMessage }
  | { kind: 'stored' }
  | { kind: 'closed' }
  | { kind: 'expired' }
  | { kind: 'cancelled' };

/**
 * The callback page's report, when `event` is one: from our own origin and from the popup we
 * opened (when we have it); anything else is ignored.
 */
export function readOAuthMessage(
  event: { origin: string; source: unknown; data: unknown },
  origin: string,
  popup: unknown,
): OAuthMessage | null {
  if (event.origin !== origin) return null;
  if (popup && event.source !== popup) return null;
  const data = event.data as Partial<OAuthMessage> | null;
  if (typeof data !== 'object' || data === null || data.type !== 'tether:oauth') return null;
  if (data.outcome !== 'connected' && data.outcome !== 'failed') return null;
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : null);
  return {
    type: 'tether:oauth',
    outcome: data.outcome,
    app: typeof data.app === 'string' ? data.app : '',
    connection: text(data.connection),
    health: text(data.health),
    message: text(data.message),
  };
}

/** Opens the (blank) consent popup; `null` when the browser blocked it. Call it in the click's handler. */
export function openPopup(): Window | null {
  const width = 600;
  const height = 720;
  const left = Math.max(0, Math.round(window.screenX + (window.outerWidth - width) / 2));
  const top = Math.max(0, Math.round(window.screenY + (window.outerHeight - height) / 3));
  const popup = window.open('about:blank', 'tether-oauth', `popup,width=${width},height=${height},left=${left},top=${top}`);
  if (!popup || popup.closed) return null;
  try {
    popup.document.title = 'Connecting…';
    popup.document.body.textContent = 'Asking Tether for the consent page…';
  } catch {
    // Not ours to write into (a reused window elsewhere): it is navigated next anyway.
  }
  return popup;
}

/**
 * Waits for the consent's outcome: the callback page's message, the connection appearing (or
 * changing) as `stored()` sees it, the popup closing without either, the authorization's
 * expiry, or `signal` aborting.
 */
export function waitForOAuth(options: {
  popup: Window | null;
  origin: string;
  stored: () => Promise<boolean>;
  expiresAt: number;
  signal: AbortSignal;
  pollMs?: number;
}): Promise<OAuthResult> {
  const { popup, origin, stored, expiresAt, signal } = options;
  const pollMs = options.pollMs ?? 1000;
  return new Promise((resolve) => {
    let done = false;
    let ticks = 0;
    let checking = false;
    const finish = (result: OAuthResult) => {
      if (done) return;
      done = true;
      removeEventListener('message', onMessage);
      clearInterval(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(result);
    };
    const onMessage = (event: MessageEvent) => {
      const message = readOAuthMessage(event, origin, popup);
      if (message) finish({ kind: 'message', message });
    };
    const onAbort = () => finish({ kind: 'cancelled' });
    const check = async (closed: boolean) => {
      if (checking) return;
      checking = true;
      try {
        if (await stored()) finish({ kind: 'stored' });
        else if (closed) finish({ kind: 'closed' });
      } catch {
        if (closed) finish({ kind: 'closed' });
      } finally {
        checking = false;
      }
    };
    const timer = setInterval(() => {
      ticks++;
      if (Date.now() > expiresAt) return finish({ kind: 'expired' });
      // A closed popup gets one last look (its report may still be on its way); else the
      // connection is looked at every third tick, for a consent finished in another tab.
      if (popup?.closed) void check(true);
      else if (ticks % 3 === 0) void check(false);
    }, pollMs);
    addEventListener('message', onMessage);
    signal.addEventListener('abort', onAbort);
  });
}
