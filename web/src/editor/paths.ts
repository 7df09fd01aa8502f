import type { DocPath } from './types';

// The server names a place in a flow like `steps[1].action.input.email` (see
// tether-engine's check.rs); the editor needs the same place as a list of keys and indices.

const SEGMENT = /^(?:([^.[\]]+)|\[(\d+)\])/;

/** Parses `steps[1].action.input.email` into `['steps', 1, 'action', 'input', 'email']`. An empty
 * text is the document itself (`[]`). Keys the dotted form cannot hold appear as `["a.b"]`. */
export function parsePath(text: string): DocPath {
  const path: DocPath = [];
  let rest = text.trim();
  let first = true;
  while (rest.length > 0) {
    if (!first && rest.startsWith('.')) rest = rest.slice(1);
    const quoted = /^\["((?:[^"\\]|\\.)*)"\]/.exec(rest);
    if (quoted) {
      path.push(JSON.parse(`"${quoted[1]}"`) as string);
      rest = rest.slice(quoted[0].length);
    } else {
      const m = SEGMENT.exec(rest);
      if (!m) {
        // Not a path we understand: keep what we have and the rest as one key, so a
        // diagnostic still lands on the nearest place we know.
        path.push(rest);
        break;
      }
      path.push(m[2] !== undefined ? Number(m[2]) : m[1]);
      rest = rest.slice(m[0].length);
    }
    first = false;
  }
  return path;
}

/** Formats a DocPath the way the server writes it: `steps[1].action.input.email`. */
export function formatPath(path: DocPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[^.[\]"]+$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** True when `path` starts with `prefix` (a diagnostic at `prefix` or inside it). */
export function startsWith(path: DocPath, prefix: DocPath): boolean {
  return prefix.length <= path.length && prefix.every((seg, i) => path[i] === seg);
}

/** The step index a path is inside (`steps[2]…` → 2), or undefined for the trigger and others. */
export function stepIndexOf(path: DocPath): number | undefined {
  return path[0] === 'steps' && typeof path[1] === 'number' ? path[1] : undefined;
}
