import { describe, expect, it } from 'vitest';
import { ApiFailure } from '../lib/client';
import { describeFailure } from '../lib/problem';
import { authLabel, blockingFlows, fieldErrors, freeName, isOAuth, originOf } from './connections';
import { readOAuthMessage } from './oauth';

function failure(status: number, body: unknown): ApiFailure {
  return new ApiFailure(status, describeFailure('Connecting', status, body), body);
}

describe('refusals', () => {
  it('puts each diagnostic on its field, the first one of a field winning', () => {
    const error = failure(422, {
      detail: 'HighLevel refused the credentials',
      diagnostics: [
        { path: 'token', message: 'HighLevel refused the token: 401' },
        { path: 'token', message: 'second' },
        { path: 'accountId', message: 'no access' },
        { path: '', message: 'nowhere' },
      ],
    });
    expect(fieldErrors(error)).toEqual({ token: 'HighLevel refused the token: 401', accountId: 'no access' });
  });

  it('lists the flows in the way of a delete, and not as fields', () => {
    const error = failure(409, {
      detail: 'connection "ghl-main" is used by flows "a", "b"',
      diagnostics: [
        { path: 'usedBy', message: 'a' },
        { path: 'usedBy', message: 'b' },
      ],
    });
    expect(blockingFlows(error)).toEqual(['a', 'b']);
    expect(fieldErrors(error)).toEqual({});
  });

  it('finds nothing in errors that are not API refusals', () => {
    expect(fieldErrors(new Error('offline'))).toEqual({});
    expect(blockingFlows(failure(500, 'internal error'))).toEqual([]);
    expect(fieldErrors(failure(400, { detail: 'x', diagnostics: 'not a list' }))).toEqual({});
  });
});

describe('names and labels', () => {
  it('suggests a free name', () => {
    expect(freeName('ghl-main', [])).toBe('ghl-main');
    expect(freeName('ghl-main', ['ghl-main', 'ghl-main-2'])).toBe('ghl-main-3');
  });

  it('says how a connection authenticates and how it reconnects', () => {
    expect(authLabel('private_token')).toBe('private integration token');
    expect(authLabel('something_new')).toBe('something_new');
    expect(isOAuth('oauth1') && isOAuth('oauth2')).toBe(true);
    expect(isOAuth('api_key')).toBe(false);
  });

  it('reads origins', () => {
    expect(originOf('http://127.0.0.1:8800/oauth/callback/ghl')).toBe('http://127.0.0.1:8800');
    expect(originOf('not a url')).toBeNull();
  });
});

describe('the callback page’s report', () => {
  const popup = { name: 'the popup' };
  const report = { type: 'tether:oauth', outcome: 'connected', app: 'ghl', connection: 'ghl-main', health: 'ok', message: '' };

  it('is read from our origin and our popup', () => {
    expect(readOAuthMessage({ origin: 'http://127.0.0.1:1', source: popup, data: report }, 'http://127.0.0.1:1', popup)).toEqual({
      type: 'tether:oauth',
      outcome: 'connected',
      app: 'ghl',
      connection: 'ghl-main',
      health: 'ok',
      message: null,
    });
  });

  it('is ignored from another origin, another window, or in another shape', () => {
    const origin = 'http://127.0.0.1:1';
    expect(readOAuthMessage({ origin: 'http://evil.test', source: popup, data: report }, origin, popup)).toBeNull();
    expect(readOAuthMessage({ origin, source: { other: true }, data: report }, origin, popup)).toBeNull();
    expect(readOAuthMessage({ origin, source: popup, data: { ...report, type: 'other' } }, origin, popup)).toBeNull();
    expect(readOAuthMessage({ origin, source: popup, data: { ...report, outcome: 'maybe' } }, origin, popup)).toBeNull();
    expect(readOAuthMessage({ origin, source: popup, data: 'tether:oauth' }, origin, popup)).toBeNull();
  });
});
