// The runs list kept live: runs from `GET /runs` merged with the `run` events of
// `GET /runs/events`, newest first, filtered as the page is.

/** The fields of a run the list needs (the API's `RunSummary`). */
export interface RunRow {
  id: number;
  flowId: string;
  status: string;
  [key: string]: unknown;
}

/** The list's filters; empty or absent means any. */
export interface RunFilter {
  flow?: string;
  status?: string;
}

/** Whether `run` belongs in a list filtered by `filter`. */
export function matchesFilter(run: RunRow, filter: RunFilter): boolean {
  if (filter.flow && run.flowId !== filter.flow) return false;
  if (filter.status && run.status !== filter.status) return false;
  return true;
}

/**
 * The list after `run` changed: an existing row is replaced (or dropped when it no longer
 * matches the filter), a new matching run is added; newest (highest id) first, at most
 * `limit` rows. The input list is not changed.
 */
export function mergeRun<T extends RunRow>(list: readonly T[], run: T, filter: RunFilter, limit: number): T[] {
  const rest = list.filter((row) => row.id !== run.id);
  if (!matchesFilter(run, filter)) return rest;
  const merged = [...rest, run].sort((a, b) => b.id - a.id);
  return merged.slice(0, limit);
}
