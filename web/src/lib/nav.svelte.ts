// The current page, as reactive state, and navigation through the History API.
import { match, type Route } from './router';

export const nav = $state<{ route: Route }>({ route: match(location.pathname, location.search) });

/** Goes to `path` (an app page), adding a history entry unless `replace`. */
export function navigate(path: string, replace = false): void {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  nav.route = match(location.pathname, location.search);
  window.scrollTo(0, 0);
}

addEventListener('popstate', () => {
  nav.route = match(location.pathname, location.search);
});
