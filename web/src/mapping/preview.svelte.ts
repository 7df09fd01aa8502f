// Live previews of expressions on the sample: `POST /api/v1/preview`, debounced, the latest
// answer winning, and cached, so toggling back and forth or redrawing asks the server once.
import { api } from '../lib/client';
import { describeFailure } from '../lib/problem';
import { isNothing, type PreviewBody } from './mapping';

/** What a preview shows. */
export type PreviewAnswer = { ok: true; value: unknown } | { ok: false; error: string };

const cache = new Map<string, PreviewAnswer>();
const CACHE_SIZE = 200;

function remember(key: string, answer: PreviewAnswer): void {
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  cache.set(key, answer);
}

function detailOf(body: unknown): string | null {
  if (typeof body === 'object' && body !== null && typeof (body as { detail?: unknown }).detail === 'string') {
    return (body as { detail: string }).detail;
  }
  return null;
}

/** Evaluates a preview request on the server (or answers from the cache). */
export async function evaluate(body: PreviewBody): Promise<PreviewAnswer> {
  const key = JSON.stringify(body);
  const known = cache.get(key);
  if (known) return known;
  let answer: PreviewAnswer;
  try {
    const { data, error, response } = await api.POST('/api/v1/preview', { body });
    if (response.ok && data) answer = { ok: true, value: data.value };
    else if (response.status === 422) answer = { ok: false, error: detailOf(error) ?? 'the expression cannot be evaluated' };
    else return { ok: false, error: describeFailure('Previewing', response.status, error).message };
  } catch (error) {
    // Not cached: the server may answer next time.
    return { ok: false, error: describeFailure('Previewing', 0, error instanceof Error ? error.message : '').message };
  }
  remember(key, answer);
  return answer;
}

/** One expression's live preview: `update` it as the expression changes, read its state. */
export class LivePreview {
  /** `idle` when there is nothing to preview. */
  status = $state<'idle' | 'loading' | 'ok' | 'error'>('idle');
  value = $state.raw<unknown>(undefined);
  error = $state('');
  /** A newer request is on its way (the last answer stays shown meanwhile). */
  pending = $state(false);
  /** The value is nothing on the sample (null, missing, blank, `[]`): flagged (rule 14). */
  nothing = $derived(this.status === 'ok' && isNothing(this.value));

  #timer: ReturnType<typeof setTimeout> | undefined;
  #latest = 0;
  #key = '';

  /**
   * Previews `body` (from `previewBody`; null when there is nothing to preview) after `delay` ms;
   * the same request again does nothing.
   */
  update(body: PreviewBody | null, delay = 250): void {
    if (body === null) {
      this.#cancel();
      this.#key = '';
      this.status = 'idle';
      this.pending = false;
      return;
    }
    const key = JSON.stringify(body);
    if (key === this.#key) return;
    this.#key = key;
    this.#cancel();
    const known = cache.get(key);
    if (known) {
      this.#show(known);
      return;
    }
    // The last value stays on screen while the next is asked for: no flicker, no jump.
    if (this.status === 'idle') this.status = 'loading';
    this.pending = true;
    const ticket = ++this.#latest;
    this.#timer = setTimeout(async () => {
      const answer = await evaluate(body);
      if (ticket === this.#latest) this.#show(answer);
    }, delay);
  }

  #show(answer: PreviewAnswer): void {
    this.pending = false;
    if (answer.ok) {
      this.status = 'ok';
      this.value = answer.value;
      this.error = '';
    } else {
      this.status = 'error';
      this.value = undefined;
      this.error = answer.error;
    }
  }

  #cancel(): void {
    clearTimeout(this.#timer);
    this.#latest++;
  }

  /** Stops a pending request (the component is gone). */
  dispose(): void {
    this.#cancel();
  }
}
