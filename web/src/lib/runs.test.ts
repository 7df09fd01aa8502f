import { describe, expect, it } from 'vitest';
import { appendOlder, mergeRun, type RunRow } from './runs';

const run = (id: number, status = 'queued', flowId = 'f1'): RunRow => ({ id, status, flowId });

describe('mergeRun', () => {
  it('adds a new run newest first and replaces a changed one in place', () => {
    let list = [run(3), run(1)];
    list = mergeRun(list, run(2), {}, 10);
    expect(list.map((r) => r.id)).toEqual([3, 2, 1]);
    list = mergeRun(list, run(2, 'done'), {}, 10);
    expect(list.map((r) => [r.id, r.status])).toEqual([
      [3, 'queued'],
      [2, 'done'],
      [1, 'queued'],
    ]);
  });

  it('keeps the filters: other flows are not added, a run that leaves the status is removed', () => {
    const list = [run(5, 'running'), run(4, 'running')];
    expect(mergeRun(list, run(6, 'running', 'f2'), { flow: 'f1' }, 10)).toEqual(list);
    expect(mergeRun(list, run(5, 'done'), { status: 'running' }, 10).map((r) => r.id)).toEqual([4]);
    expect(mergeRun(list, run(7, 'running'), { flow: 'f1', status: 'running' }, 10).map((r) => r.id)).toEqual([7, 5, 4]);
  });

  it('keeps at most `limit` rows and leaves the input list alone', () => {
    const list = [run(2), run(1)];
    expect(mergeRun(list, run(3), {}, 2).map((r) => r.id)).toEqual([3, 2]);
    expect(list.map((r) => r.id)).toEqual([2, 1]);
  });
});

describe('the record filter', () => {
  const withRecord = (id: number, record: string): RunRow => ({ ...run(id), record });

  it('takes a new run only when it is known by the record asked for (e-mail in any case)', () => {
    const list = [withRecord(1, 'ada@example.com')];
    expect(mergeRun(list, withRecord(2, 'ada@example.com'), { record: 'Ada@Example.com' }, 10).map((r) => r.id)).toEqual([2, 1]);
    expect(mergeRun(list, withRecord(3, 'bob@example.com'), { record: 'ada@example.com' }, 10).map((r) => r.id)).toEqual([1]);
    expect(mergeRun(list, withRecord(4, 'C1'), { record: 'c1' }, 10).map((r) => r.id)).toEqual([1]);
  });

  it('keeps following a listed run whatever record it is known by', () => {
    const list = [withRecord(1, 'ada@example.com')];
    const changed = { ...withRecord(1, 'ada@example.com'), status: 'done' };
    expect(mergeRun(list, changed, { record: 'contact-1' }, 10)).toEqual([changed]);
  });
});

describe('appendOlder', () => {
  it('adds the next page below without the rows a live event already added', () => {
    expect(appendOlder([run(5), run(4)], [run(4), run(3)]).map((r) => r.id)).toEqual([5, 4, 3]);
  });
});

describe('formatting', () => {
  it('says durations and times the way people read them', async () => {
    const { formatDuration, formatAgo } = await import('./runs');
    expect(formatDuration(840)).toBe('840 ms');
    expect(formatDuration(3240)).toBe('3.2 s');
    expect(formatDuration(245_000)).toBe('4 min 5 s');
    expect(formatDuration(null)).toBe('');
    const now = Date.parse('2026-12-07T10:00:00Z');
    expect(formatAgo('2026-12-07T09:59:48Z', now)).toBe('12 s ago');
    expect(formatAgo('2026-12-07T07:00:00Z', now)).toBe('3 h ago');
    expect(formatAgo('2026-12-01T07:00:00Z', now)).toBe('2026-12-01 07:00');
  });
});
