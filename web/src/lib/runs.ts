// The runs list kept live: runs from `GET /runs` merged with the `run` events of
// `GET /runs/events`, newest first, filtered as the page is.

/** The fields of a run the list needs (the API's `RunSummary`). */
export interface RunRow {
  id: number;
  flowId: string;
  status: string;
  record?: string | null;
  [key: string]: unknown;
}

/** The list's filters; empty or absent means any. */
export interface RunFilter {
  flow?: string;
  status?: string;
  /** A record id or e-mail address the runs touched (the server matches e-mail in any case). */
  record?: string;
}

/**
 * Whether `run` belongs in a list filtered by `filter`. A run's event names only the record it
 * is known by, so a new run is taken for a record filter when that record is the one asked
 * for (an e-mail address in any case); the server's answer is the truth on reload.
 */
export function matchesFilter(run: RunRow, filter: RunFilter): boolean {
  if (filter.flow && run.flowId !== filter.flow) return false;
  if (filter.status && run.status !== filter.status) return false;
  if (filter.record) {
    const wanted = filter.record.trim();
    const known = run.record ?? '';
    if (wanted.includes('@') ? known.toLowerCase() !== wanted.toLowerCase() : known !== wanted) return false;
  }
  return true;
}

/**
 * The list after `run` changed: an existing row is replaced (or dropped when it no longer
 * matches the flow or status filter), a new matching run is added; newest (highest id) first,
 * at most `limit` rows. The input list is not changed.
 */
export function mergeRun<T extends RunRow>(list: readonly T[], run: T, filter: RunFilter, limit: number): T[] {
  const known = list.some((row) => row.id === run.id);
  const rest = list.filter((row) => row.id !== run.id);
  // A row already listed was found by the server under this record filter: keep following it.
  const matches = known ? matchesFilter(run, { ...filter, record: undefined }) : matchesFilter(run, filter);
  if (!matches) return rest;
  const merged = [...rest, run].sort((a, b) => b.id - a.id);
  return merged.slice(0, limit);
}

/** Older runs (a next page) added below the list, without duplicates (a live event may have added one). */
export function appendOlder<T extends RunRow>(list: readonly T[], older: readonly T[]): T[] {
  const seen = new Set(list.map((row) => row.id));
  return [...list, ...older.filter((row) => !seen.has(row.id))];
}

/** A duration for people: `840 ms`, `3.2 s`, `4 min 5 s`, `2 h 3 min`. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms == null || !Number.isFinite(ms)) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds - minutes * 60)} s`;
  const hours = Math.floor(minutes / 60);
  return `${hours} h ${minutes - hours * 60} min`;
}

/** A time relative to `now` for people (`12 s ago`, `5 min ago`, `3 h ago`, else the date). */
export function formatAgo(at: string, now: number = Date.now()): string {
  const then = Date.parse(at);
  if (Number.isNaN(then)) return at;
  const seconds = Math.round((now - then) / 1000);
  if (seconds < 0) return 'just now';
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`;
  return new Date(then).toISOString().slice(0, 16).replace('T', ' ');
}
