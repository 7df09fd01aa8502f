import { describe, expect, it } from 'vitest';
import { formatPath, parsePath, startsWith, stepIndexOf } from './paths';

describe('parsePath', () => {
  it('reads the server diagnostic paths', () => {
    expect(parsePath('steps[1].action.input.email')).toEqual(['steps', 1, 'action', 'input', 'email']);
    expect(parsePath('trigger.poll.operation')).toEqual(['trigger', 'poll', 'operation']);
    expect(parsePath('steps[0]')).toEqual(['steps', 0]);
    expect(parsePath('name')).toEqual(['name']);
    expect(parsePath('')).toEqual([]);
    expect(parsePath('trigger.webhook.events[0]')).toEqual(['trigger', 'webhook', 'events', 0]);
  });

  it('reads quoted keys and keeps an unreadable rest as one key', () => {
    expect(parsePath('steps[0].map.fields["a.b"]')).toEqual(['steps', 0, 'map', 'fields', 'a.b']);
    expect(parsePath('steps[x')).toEqual(['steps', '[x']);
  });
});

describe('formatPath', () => {
  it('is the inverse of parsePath', () => {
    for (const text of [
      'steps[1].action.input.email',
      'trigger.poll.operation',
      'steps[0]',
      'steps[0].map.fields["a.b"]',
      'trigger.webhook.events[0]',
    ]) {
      expect(formatPath(parsePath(text))).toBe(text);
    }
    expect(formatPath([])).toBe('');
  });
});

describe('helpers', () => {
  it('finds the step a path is in and its prefixes', () => {
    expect(stepIndexOf(['steps', 3, 'action'])).toBe(3);
    expect(stepIndexOf(['trigger', 'webhook'])).toBeUndefined();
    expect(startsWith(['steps', 1, 'action', 'input', 'email'], ['steps', 1, 'action'])).toBe(true);
    expect(startsWith(['steps', 1], ['steps', 1, 'action'])).toBe(false);
    expect(startsWith(['steps', 2, 'action'], ['steps', 1])).toBe(false);
  });
});
