// The dead letters page's logic: letters grouped by flow and reason, and which dead letters a
// group's "Replay all" reaches.

/** The fields of a dead letter the grouping needs (the API's `DeadLetterView`). */
export interface LetterRow {
  id: number;
  flowId: string;
  reason: string;
  state: string;
  createdAt: string;
  [key: string]: unknown;
}

/** Dead letters of one flow that failed for the same reason. */
export interface LetterGroup<T extends LetterRow> {
  /** `flowId` and `reason`, as one string, unique among the groups. */
  key: string;
  flowId: string;
  reason: string;
  /** Newest (highest id) first. */
  items: T[];
  /** How many of `items` are still open. */
  open: number;
}

/**
 * `letters` grouped by flow and exact reason: the groups with the most letters first, ties
 * by the newest letter, then by flow and reason; inside a group newest first. The input is not
 * changed.
 */
export function groupLetters<T extends LetterRow>(letters: readonly T[]): LetterGroup<T>[] {
  const groups = new Map<string, LetterGroup<T>>();
  for (const letter of letters) {
    const key = JSON.stringify([letter.flowId, letter.reason]);
    let group = groups.get(key);
    if (!group) {
      group = { key, flowId: letter.flowId, reason: letter.reason, items: [], open: 0 };
      groups.set(key, group);
    }
    group.items.push(letter);
    if (letter.state === 'open') group.open += 1;
  }
  const list = [...groups.values()];
  for (const group of list) group.items.sort((a, b) => b.id - a.id);
  return list.sort(
    (a, b) =>
      b.items.length - a.items.length ||
      b.items[0].id - a.items[0].id ||
      a.flowId.localeCompare(b.flowId) ||
      a.reason.localeCompare(b.reason),
  );
}

/** The bulk replay's filter (`POST /dead-letters/replay`), as the API takes it. */
export interface BulkFilter {
  flow: string;
  reason: string;
  state: 'open';
  since: string;
  until: string;
}

/** How "Replay all" replays a group. */
export type ReplayAllPlan =
  | { kind: 'bulk'; filter: BulkFilter }
  | { kind: 'each'; ids: number[]; why: string };

/**
 * How to replay exactly the open letters of `group`. The API's bulk filter matches reasons
 * that *contain* its text (any case) and letters of any time in its window, so the bulk call
 * is used only when no other shown open letter of the flow would match it; otherwise each
 * letter is replayed on its own. The window ends just after the group's newest letter, so
 * letters dead-lettered after the page loaded are left for the next look.
 */
export function replayAllPlan<T extends LetterRow>(group: LetterGroup<T>, all: readonly T[]): ReplayAllPlan {
  const open = group.items.filter((l) => l.state === 'open');
  const ids = open.map((l) => l.id);
  if (open.length === 0) return { kind: 'each', ids, why: 'no open dead letter is left in this group' };
  const times = open.map((l) => Date.parse(l.createdAt));
  if (times.some((t) => Number.isNaN(t))) return { kind: 'each', ids, why: 'a dead letter has no readable time' };
  const since = new Date(Math.min(...times)).toISOString();
  const until = new Date(Math.max(...times) + 1).toISOString();
  const needle = group.reason.toLowerCase();
  const mine = new Set(ids);
  const stray = all.find(
    (l) =>
      !mine.has(l.id) &&
      l.state === 'open' &&
      l.flowId === group.flowId &&
      l.reason.toLowerCase().includes(needle) &&
      Date.parse(l.createdAt) >= Date.parse(since) &&
      Date.parse(l.createdAt) < Date.parse(until),
  );
  if (stray) return { kind: 'each', ids, why: `dead letter ${stray.id}'s reason contains this group's reason` };
  return { kind: 'bulk', filter: { flow: group.flowId, reason: group.reason, state: 'open', since, until } };
}

/**
 * A random version 4 UUID. `crypto.randomUUID` exists only in secure contexts (HTTPS or
 * loopback), and Tether may be served over plain HTTP on a private network, so it is built
 * from `crypto.getRandomValues`, which exists everywhere.
 */
export function randomUuid(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
