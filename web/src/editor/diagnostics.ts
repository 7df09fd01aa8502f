// The server's diagnostics (`{line, column, path, message}`) placed where a person looks: on the
// card of the step a path is in, and on the inspector field it names.
import type { Diagnostic } from '../lib/problem';
import { parsePath, startsWith, stepIndexOf } from './paths';
import type { DocPath } from './types';

/** A diagnostic with its parsed path. */
export interface Placed extends Diagnostic {
  at: DocPath;
}

export function place(diagnostics: Diagnostic[]): Placed[] {
  return diagnostics.map((d) => ({ ...d, at: parsePath(d.path ?? '') }));
}

/** Where a diagnostic belongs: a step card (by index), the trigger card, or the flow itself. */
export type Owner = { step: number } | 'trigger' | 'flow';

export function ownerOf(d: Placed): Owner {
  const step = stepIndexOf(d.at);
  if (step !== undefined) return { step };
  if (d.at[0] === 'trigger') return 'trigger';
  return 'flow';
}

/** The diagnostics of step `index`. */
export function ofStep(diagnostics: Placed[], index: number): Placed[] {
  return diagnostics.filter((d) => startsWith(d.at, ['steps', index]));
}

/** The diagnostics of the trigger. */
export function ofTrigger(diagnostics: Placed[]): Placed[] {
  return diagnostics.filter((d) => d.at[0] === 'trigger');
}

/** The diagnostics under `prefix` as `{key, message}` by the key right after it: for
 * `['steps', 1, 'action', 'input']`, `steps[1].action.input.email…` → `email`. */
export function fieldDiagnostics(diagnostics: Placed[], prefix: DocPath): { key: string; message: string }[] {
  return diagnostics
    .filter((d) => d.at.length > prefix.length && startsWith(d.at, prefix))
    .map((d) => ({ key: String(d.at[prefix.length]), message: d.message }));
}

/** The diagnostics exactly at `path` or inside it that no field shows (e.g. `steps[1].action`). */
export function otherDiagnostics(diagnostics: Placed[], prefix: DocPath, shown: DocPath[]): Placed[] {
  return diagnostics.filter((d) => startsWith(d.at, prefix) && !shown.some((s) => startsWith(d.at, s)));
}

/** Step indices after a move of `from` to `to`: where each old index went. */
export function movedIndex(index: number, from: number, to: number): number {
  if (index === from) return to;
  if (from < to && index > from && index <= to) return index - 1;
  if (from > to && index >= to && index < from) return index + 1;
  return index;
}
