import { describe, expect, it } from 'vitest';
import { describeFailure, formatDiagnostic } from './problem';

describe('describeFailure', () => {
  it('shows the problem’s detail and every diagnostic with its place', () => {
    const shown = describeFailure('Saving flow f1', 400, {
      type: 'about:blank',
      title: 'Bad Request',
      status: 400,
      code: 'invalid',
      detail: 'the flow has 2 problems',
      diagnostics: [
        { line: 3, column: 7, path: 'steps[0].filter.when', message: 'unknown filter `lowr`' },
        { line: null, column: null, path: '', message: 'no trigger' },
      ],
    });
    expect(shown.message).toBe('Saving flow f1 failed (HTTP 400): the flow has 2 problems');
    expect(shown.diagnostics).toEqual(['3:7 steps[0].filter.when: unknown filter `lowr`', 'no trigger']);
  });

  it('falls back to the title, a text body, or the status alone', () => {
    expect(describeFailure('X', 502, { title: 'Bad Gateway' }).message).toBe('X failed (HTTP 502): Bad Gateway');
    expect(describeFailure('X', 500, 'boom\n').message).toBe('X failed (HTTP 500): boom');
    expect(describeFailure('X', 404, undefined).message).toBe('X failed (HTTP 404).');
  });

  it('says when the server could not be reached', () => {
    expect(describeFailure('Loading runs', 0, 'Failed to fetch').message).toBe(
      'Loading runs failed: the server could not be reached (Failed to fetch).',
    );
  });

  it('ignores diagnostics that are not objects with a message', () => {
    expect(describeFailure('X', 400, { detail: 'd', diagnostics: [1, { path: 'a' }] }).diagnostics).toEqual([]);
  });
});

describe('formatDiagnostic', () => {
  it('puts line, column and path before the message', () => {
    expect(formatDiagnostic({ line: 2, path: 'name', message: 'm' })).toBe('2 name: m');
    expect(formatDiagnostic({ path: 'body.email', message: 'm' })).toBe('body.email: m');
  });
});
