// Turns a failed API call into a message that says what failed and why: the server's
// problem+json `detail` and each diagnostic with its line, column and field path.

/** One problem in something sent, as the API reports it. */
export interface Diagnostic {
  line?: number | null;
  column?: number | null;
  path: string;
  message: string;
}

/** A failure shown to people: a headline and the diagnostics under it. */
export interface Shown {
  message: string;
  diagnostics: string[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `3:7 steps[1].action.input.email: unknown field` (parts left out when absent). */
export function formatDiagnostic(d: Diagnostic): string {
  const where = [d.line != null ? (d.column != null ? `${d.line}:${d.column}` : `${d.line}`) : '', d.path]
    .filter((part) => part !== '')
    .join(' ');
  return where ? `${where}: ${d.message}` : d.message;
}

/**
 * `what` is the action that failed ("Loading runs"); `status` the HTTP status (0 when the
 * server could not be reached); `body` the parsed answer, if any.
 */
export function describeFailure(what: string, status: number, body: unknown): Shown {
  if (status === 0) {
    const reason = typeof body === 'string' && body ? ` (${body})` : '';
    return { message: `${what} failed: the server could not be reached${reason}.`, diagnostics: [] };
  }
  let reason = '';
  let diagnostics: string[] = [];
  if (isRecord(body)) {
    if (typeof body.detail === 'string') reason = body.detail;
    else if (typeof body.title === 'string') reason = body.title;
    if (Array.isArray(body.diagnostics)) {
      diagnostics = body.diagnostics
        .filter((d): d is Diagnostic => isRecord(d) && typeof d.message === 'string')
        .map((d) => formatDiagnostic({ ...d, path: typeof d.path === 'string' ? d.path : '' }));
    }
  } else if (typeof body === 'string' && body.trim()) {
    reason = body.trim().slice(0, 300);
  }
  const head = `${what} failed (HTTP ${status})`;
  return { message: reason ? `${head}: ${reason}` : `${head}.`, diagnostics };
}
