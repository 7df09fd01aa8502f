// A small history router: the app's pages are paths (`/runs/42`), so the server answers every
// one of them with index.html and the browser's back button works.

/** A page and what its path and query say. */
export interface Route {
  name: RouteName;
  params: Record<string, string>;
  query: URLSearchParams;
}

export type RouteName =
  | 'setup'
  | 'login'
  | 'flows'
  | 'flow'
  | 'runs'
  | 'run'
  | 'connections'
  | 'deadLetters'
  | 'settings'
  | 'apps'
  | 'app'
  | 'operation'
  | 'devMapping'
  | 'notFound';

const patterns: [RouteName, string][] = [
  ['setup', '/setup'],
  ['login', '/login'],
  ['flows', '/flows'],
  ['flow', '/flows/:id'],
  ['runs', '/runs'],
  ['run', '/runs/:id'],
  ['connections', '/connections'],
  ['deadLetters', '/dead-letters'],
  ['settings', '/settings'],
  ['apps', '/apps'],
  ['app', '/apps/:app'],
  ['operation', '/operations/:id'],
  ['devMapping', '/dev/mapping'],
];

/** Pages a signed-out person may see. */
export const PUBLIC_ROUTES: ReadonlySet<RouteName> = new Set(['setup', 'login']);

function split(path: string): string[] {
  return path.split('/').filter((part) => part !== '');
}

/** The route of `pathname` + `search`; `/` is the flows list. */
export function match(pathname: string, search = ''): Route {
  const query = new URLSearchParams(search);
  const parts = split(pathname);
  if (parts.length === 0) return { name: 'flows', params: {}, query };
  for (const [name, pattern] of patterns) {
    const want = split(pattern);
    if (want.length !== parts.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < want.length; i++) {
      if (want[i].startsWith(':')) {
        let value: string;
        try {
          value = decodeURIComponent(parts[i]);
        } catch {
          ok = false;
          break;
        }
        params[want[i].slice(1)] = value;
      } else if (want[i] !== parts[i]) {
        ok = false;
        break;
      }
    }
    if (ok) return { name, params, query };
  }
  return { name: 'notFound', params: {}, query };
}

/** The path of a page: `href('run', {id: '7'})` is `/runs/7`; empty query values are left out. */
export function href(
  name: Exclude<RouteName, 'notFound'>,
  params: Record<string, string> = {},
  query: Record<string, string | undefined> = {},
): string {
  const pattern = patterns.find(([n]) => n === name)?.[1] ?? '/';
  const path = pattern.replace(/:([a-z]+)/g, (_, key: string) => {
    const value = params[key];
    if (value === undefined) throw new Error(`href(${name}): the parameter ${key} is missing`);
    return encodeURIComponent(value);
  });
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== '') search.set(key, value);
  }
  const text = search.toString();
  return text ? `${path}?${text}` : path;
}

/**
 * Whether a click on a link should be handled by the router: a plain left click on a link to
 * one of the app's own pages (not the API, webhooks, OAuth or the login links the server
 * answers itself).
 */
export function isAppLink(
  url: URL,
  origin: string,
  click: { button: number; metaKey: boolean; ctrlKey: boolean; shiftKey: boolean; altKey: boolean },
  target: string | null,
): boolean {
  if (click.button !== 0 || click.metaKey || click.ctrlKey || click.shiftKey || click.altKey) return false;
  if (target && target !== '_self') return false;
  if (url.origin !== origin) return false;
  if (/^\/(api|hooks|oauth)(\/|$)/.test(url.pathname)) return false;
  if (url.pathname === '/login' && url.searchParams.has('token')) return false;
  return match(url.pathname).name !== 'notFound';
}
