import { describe, expect, it } from 'vitest';
import { formatBytes, prettyPayload } from './payload';

describe('payloads', () => {
  it('prints a whole value pretty and marks a cut one as cut', () => {
    expect(prettyPayload({ value: { a: 1 }, truncated: false })).toBe('{\n  "a": 1\n}');
    expect(prettyPayload({ value: '{"notes":"nnn', truncated: true })).toBe('{"notes":"nnn…');
    expect(prettyPayload(null)).toBe('');
  });

  it('says sizes the way people read them', () => {
    expect(formatBytes(812)).toBe('812 B');
    expect(formatBytes(64 * 1024)).toBe('64 KiB');
    expect(formatBytes(5.2 * 1024 * 1024)).toBe('5.2 MiB');
  });
});
