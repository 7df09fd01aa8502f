import { describe, expect, it } from 'vitest';
import { mergeRun, type RunRow } from './runs';

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
