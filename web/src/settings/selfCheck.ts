// The public URL's self-check, done by the browser: does `{public_url}/api/v1/health` answer from
// here, and is it this very server (the same `instance` as this page's own server)?

/** What the check found. */
export interface SelfCheck {
  /** `this`: the public URL reaches this server; `other`: another server answered; `failed`: no usable answer. */
  outcome: 'this' | 'other' | 'failed';
  /** What to tell the person. */
  message: string;
}

type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

interface Health {
  status?: string;
  instance?: string;
  startedAt?: string;
  version?: string;
}

/** `{public_url}/api/v1/health`, whatever path the public URL has. */
export function healthUrl(publicUrl: string): string {
  const base = publicUrl.endsWith('/') ? publicUrl : `${publicUrl}/`;
  return new URL('api/v1/health', base).toString();
}

async function health(fetcher: Fetch, url: string, timeoutMs: number): Promise<{ status: number; body: Health }> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  try {
    const response = await fetcher(url, { credentials: 'omit', cache: 'no-store', signal: abort.signal });
    let body: Health = {};
    try {
      body = (await response.json()) as Health;
    } catch {
      body = {};
    }
    return { status: response.status, body };
  } finally {
    clearTimeout(timer);
  }
}

/** Checks `publicUrl` from this browser against the page's own server. */
export async function selfCheck(publicUrl: string, fetcher: Fetch = fetch, timeoutMs = 5000): Promise<SelfCheck> {
  const target = healthUrl(publicUrl);
  let own: Health;
  try {
    own = (await health(fetcher, '/api/v1/health', timeoutMs)).body;
  } catch (error) {
    return { outcome: 'failed', message: `This page's own server did not answer /api/v1/health: ${String(error)}` };
  }
  let there: { status: number; body: Health };
  try {
    there = await health(fetcher, target, timeoutMs);
  } catch (error) {
    const why = error instanceof DOMException && error.name === 'AbortError' ? `no answer in ${timeoutMs / 1000} s` : String(error);
    return {
      outcome: 'failed',
      message: `${target} did not answer from this browser (${why}). Apps and people who use the public URL cannot reach Tether there: check the address, DNS and the proxy in front of Tether.`,
    };
  }
  if (there.status !== 200 || !there.body.instance) {
    return { outcome: 'failed', message: `${target} answered ${there.status}, not Tether's health answer: something else serves that address.` };
  }
  if (there.body.instance === own.instance) {
    return { outcome: 'this', message: `${target} answered: it is this server (instance ${own.instance}, started ${own.startedAt ?? '?'}).` };
  }
  return {
    outcome: 'other',
    message: `${target} answered, but from another Tether server (instance ${there.body.instance}, started ${there.body.startedAt ?? '?'}), not this one (instance ${own.instance}). Webhooks and OAuth callbacks would go there.`,
  };
}
