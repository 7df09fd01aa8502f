// Payloads as the API shows them (`Shown`): a value, or the first 64 KiB of its JSON text.

/** The most text a payload view renders at once (1 MiB); larger ones are downloaded. */
export const SHOW_LIMIT = 1024 * 1024;

/** A payload's text: a cut one as the server cut it, a whole one pretty-printed. */
export function prettyPayload(payload: { value: unknown; truncated: boolean } | null | undefined): string {
  if (!payload) return '';
  if (payload.truncated && typeof payload.value === 'string') return `${payload.value}…`;
  return JSON.stringify(payload.value, null, 2) ?? '';
}

/** A size for people: `812 B`, `64 KiB`, `5.2 MiB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}
