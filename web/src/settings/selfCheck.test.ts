import { describe, expect, it } from 'vitest';
import { healthUrl, selfCheck } from './selfCheck';

/** A fetch answering each URL from a table (a thrown error for a missing one). */
function fetcher(answers: Record<string, { status: number; body: unknown } | 'hang'>) {
  return async (url: string, init?: RequestInit) => {
    const answer = answers[url];
    if (answer === 'hang') {
      return new Promise<Response>((_, reject) => init?.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))));
    }
    if (!answer) throw new TypeError('Failed to fetch');
    return new Response(JSON.stringify(answer.body), { status: answer.status });
  };
}

const own = { status: 200, body: { status: 'ok', instance: 'aaaa', startedAt: '2026-05-01T10:00:00.000Z' } };

describe('healthUrl', () => {
  it('keeps the public URL path', () => {
    expect(healthUrl('https://t.example.com')).toBe('https://t.example.com/api/v1/health');
    expect(healthUrl('https://x.example/tether/')).toBe('https://x.example/tether/api/v1/health');
  });
});

describe('selfCheck', () => {
  it('knows this server by its instance', async () => {
    const check = await selfCheck('http://pub.example/', fetcher({ '/api/v1/health': own, 'http://pub.example/api/v1/health': own }));
    expect(check.outcome).toBe('this');
    expect(check.message).toContain('it is this server');
  });

  it('tells another server apart', async () => {
    const other = { status: 200, body: { status: 'ok', instance: 'bbbb' } };
    const check = await selfCheck('http://pub.example', fetcher({ '/api/v1/health': own, 'http://pub.example/api/v1/health': other }));
    expect(check.outcome).toBe('other');
    expect(check.message).toContain('instance bbbb');
  });

  it('says what failed', async () => {
    const unreachable = await selfCheck('http://pub.example', fetcher({ '/api/v1/health': own }));
    expect(unreachable).toMatchObject({ outcome: 'failed' });
    expect(unreachable.message).toContain('did not answer from this browser (TypeError: Failed to fetch)');
    const wrong = await selfCheck('http://pub.example', fetcher({ '/api/v1/health': own, 'http://pub.example/api/v1/health': { status: 404, body: 'nope' } }));
    expect(wrong.message).toContain('answered 404');
    const slow = await selfCheck('http://pub.example', fetcher({ '/api/v1/health': own, 'http://pub.example/api/v1/health': 'hang' }), 20);
    expect(slow.message).toContain('no answer in 0.02 s');
  });
});
