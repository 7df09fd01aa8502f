// Who is signed in, as the API last said.
import type { components } from './api';
import { api } from './client';

export type User = components['schemas']['UserInfo'];

export const session = $state<{ user: User | null; checked: boolean }>({ user: null, checked: false });

/** Asks the server who is signed in (a session cookie is HttpOnly, so only it can tell). */
export async function refreshSession(): Promise<void> {
  try {
    const { data, response } = await api.GET('/api/v1/auth/me');
    session.user = response.ok && data ? data : null;
  } catch {
    session.user = null;
  }
  session.checked = true;
}
