import { describe, expect, it } from 'vitest';
import { href, isAppLink, match } from './router';

const click = { button: 0, metaKey: false, ctrlKey: false, shiftKey: false, altKey: false };

describe('match', () => {
  it('maps paths to pages with their parameters and query', () => {
    expect(match('/').name).toBe('flows');
    expect(match('/flows/').name).toBe('flows');
    const flow = match('/flows/ghl%20to%20df');
    expect(flow).toMatchObject({ name: 'flow', params: { id: 'ghl to df' } });
    const run = match('/runs/42', '?x=1');
    expect(run.name).toBe('run');
    expect(run.params.id).toBe('42');
    expect(run.query.get('x')).toBe('1');
    expect(match('/setup', '?token=abc').query.get('token')).toBe('abc');
  });

  it('maps the settings and apps pages', () => {
    expect(match('/settings').name).toBe('settings');
    expect(match('/apps').name).toBe('apps');
    expect(match('/apps/details_flowers')).toMatchObject({ name: 'app', params: { app: 'details_flowers' } });
    expect(match('/operations/ghl.contact.get')).toMatchObject({ name: 'operation', params: { id: 'ghl.contact.get' } });
    expect(href('operation', { id: 'ghl.contact.get' })).toBe('/operations/ghl.contact.get');
  });

  it('answers notFound for unknown or malformed paths', () => {
    expect(match('/runs/1/2').name).toBe('notFound');
    expect(match('/nope').name).toBe('notFound');
    expect(match('/flows/%E0%A4%A').name).toBe('notFound');
  });
});

describe('href', () => {
  it('encodes parameters and leaves out empty query values', () => {
    expect(href('flow', { id: 'a/b' })).toBe('/flows/a%2Fb');
    expect(href('runs', {}, { flow: 'f1', status: '' })).toBe('/runs?flow=f1');
    expect(href('runs')).toBe('/runs');
    expect(match(href('flow', { id: 'a/b' })).params.id).toBe('a/b');
  });

  it('refuses a missing parameter', () => {
    expect(() => href('run')).toThrow(/parameter id is missing/);
  });
});

describe('isAppLink', () => {
  const origin = 'http://127.0.0.1:8800';
  const at = (path: string) => new URL(path, origin);

  it('takes plain clicks on the app’s own pages', () => {
    expect(isAppLink(at('/runs?flow=x'), origin, click, null)).toBe(true);
  });

  it('leaves the API, hooks, OAuth, login links, other sites and modified clicks to the browser', () => {
    expect(isAppLink(at('/api/v1/openapi.json'), origin, click, null)).toBe(false);
    expect(isAppLink(at('/oauth/callback/ghl'), origin, click, null)).toBe(false);
    expect(isAppLink(at('/hooks/ghl'), origin, click, null)).toBe(false);
    expect(isAppLink(at('/login?token=t'), origin, click, null)).toBe(false);
    expect(isAppLink(new URL('https://example.com/runs'), origin, click, null)).toBe(false);
    expect(isAppLink(at('/runs'), origin, { ...click, ctrlKey: true }, null)).toBe(false);
    expect(isAppLink(at('/runs'), origin, click, '_blank')).toBe(false);
    expect(isAppLink(at('/login'), origin, click, null)).toBe(true);
  });
});
