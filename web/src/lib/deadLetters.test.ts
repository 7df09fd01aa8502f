import { describe, expect, it } from 'vitest';
import { groupLetters, randomUuid, replayAllPlan, type LetterRow } from './deadLetters';

const letter = (id: number, flowId: string, reason: string, ms = id * 1000, state = 'open'): LetterRow => ({
  id,
  flowId,
  reason,
  state,
  createdAt: new Date(ms).toISOString(),
});

describe('groupLetters', () => {
  it('groups by flow and exact reason, counts them, biggest group first, newest first inside', () => {
    const letters = [
      letter(1, 'f1', 'timeout'),
      letter(2, 'f2', 'timeout'),
      letter(3, 'f1', 'timeout'),
      letter(4, 'f1', 'Timeout'),
      letter(5, 'f1', 'timeout', 5000, 'replayed'),
    ];
    const groups = groupLetters(letters);
    expect(groups.map((g) => [g.flowId, g.reason, g.items.map((l) => l.id), g.open])).toEqual([
      ['f1', 'timeout', [5, 3, 1], 2],
      ['f1', 'Timeout', [4], 1],
      ['f2', 'timeout', [2], 1],
    ]);
    expect(new Set(groups.map((g) => g.key)).size).toBe(3);
    expect(letters.map((l) => l.id)).toEqual([1, 2, 3, 4, 5]);
  });

  it('keeps flows and reasons apart even when their text could run together', () => {
    const groups = groupLetters([letter(1, 'a', 'b c'), letter(2, 'a b', 'c')]);
    expect(groups).toHaveLength(2);
  });
});

describe('replayAllPlan', () => {
  it('uses the bulk filter, bounded to the group’s letters, when nothing else would match', () => {
    const letters = [letter(1, 'f1', 'HTTP 500'), letter(2, 'f1', 'HTTP 500'), letter(3, 'f2', 'HTTP 500'), letter(4, 'f1', 'gone')];
    const group = groupLetters(letters).find((g) => g.flowId === 'f1' && g.reason === 'HTTP 500')!;
    expect(replayAllPlan(group, letters)).toEqual({
      kind: 'bulk',
      filter: { flow: 'f1', reason: 'HTTP 500', state: 'open', since: '1970-01-01T00:00:01.000Z', until: '1970-01-01T00:00:02.001Z' },
    });
  });

  it('replays one by one when the reason filter would also take another open group of the flow', () => {
    const letters = [letter(1, 'f1', 'HTTP 500'), letter(2, 'f1', 'upsert: http 500 from server'), letter(3, 'f1', 'HTTP 500')];
    const group = groupLetters(letters).find((g) => g.reason === 'HTTP 500')!;
    expect(replayAllPlan(group, letters)).toEqual({
      kind: 'each',
      ids: [3, 1],
      why: "dead letter 2's reason contains this group's reason",
    });
    // A replayed letter, or one outside the group's time window, is no obstacle.
    const done = [letter(1, 'f1', 'HTTP 500'), letter(2, 'f1', 'HTTP 500!', 2000, 'replayed'), letter(9, 'f1', 'HTTP 500!')];
    const alone = groupLetters(done).find((g) => g.reason === 'HTTP 500')!;
    expect(replayAllPlan(alone, done).kind).toBe('bulk');
  });

  it('leaves replayed letters of the group out', () => {
    const letters = [letter(1, 'f1', 'x', 1000, 'replayed'), letter(2, 'f1', 'x')];
    const plan = replayAllPlan(groupLetters(letters)[0], letters);
    expect(plan).toMatchObject({ kind: 'bulk', filter: { since: '1970-01-01T00:00:02.000Z' } });
  });
});

describe('randomUuid', () => {
  it('makes distinct version 4 UUIDs', () => {
    const a = randomUuid();
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(randomUuid()).not.toBe(a);
  });
});
