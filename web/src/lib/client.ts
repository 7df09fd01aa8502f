// The API client, typed from the committed OpenAPI document (`npm run gen:api`).
import createClient from 'openapi-fetch';
import type { paths } from './api';
import { describeFailure, type Shown } from './problem';

/** The `/api/v1` client; cookies go along (same origin). */
export const api = createClient<paths>({ baseUrl: '', credentials: 'same-origin' });

/** What an openapi-fetch call answers. */
interface Answer<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The call's data, or a thrown [`ApiFailure`] that says what failed and why. */
export async function call<T>(what: string, request: Promise<Answer<T>>): Promise<T> {
  let answer: Answer<T>;
  try {
    answer = await request;
  } catch (error) {
    throw new ApiFailure(0, describeFailure(what, 0, error instanceof Error ? error.message : ''));
  }
  if (answer.response.ok) return answer.data as T;
  throw new ApiFailure(answer.response.status, describeFailure(what, answer.response.status, answer.error), answer.error);
}

/** A failed call, as shown to people; `body` is the server's answer (a problem), for forms that put each diagnostic on its field. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly shown: Shown,
    readonly body: unknown = undefined,
  ) {
    super(shown.message);
  }
}

/** Any thrown value as a message to show. */
export function shown(error: unknown): Shown {
  if (error instanceof ApiFailure) return error.shown;
  return { message: error instanceof Error ? error.message : String(error), diagnostics: [] };
}
