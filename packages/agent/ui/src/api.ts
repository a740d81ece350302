/**
 * Talks to the console's JSON API: keeps the CSRF token in memory, sends it on every change,
 * and reports a lost session (401) so that the page can go back to the login screen.
 */

export class ApiError extends Error {
  readonly status: number;
  readonly code: string | undefined;
  readonly body: Record<string, unknown>;

  constructor(status: number, body: Record<string, unknown>) {
    const words = typeof body.error === 'string' ? body.error : `HTTP ${status}`;
    super(words);
    this.status = status;
    this.code = typeof body.code === 'string' ? body.code : undefined;
    this.body = body;
  }
}

let csrfToken: string | undefined;
let onUnauthorized: (() => void) | undefined;

/** Remembers the session's CSRF token (undefined after logout). */
export function setCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

/** Called on any 401 answer except the login's own. */
export function setUnauthorizedHandler(handler: () => void): void {
  onUnauthorized = handler;
}

interface RequestOptions {
  /** A JSON body, or a string sent as text/plain. */
  body?: unknown;
  text?: string;
  /** Do not treat 401 as a lost session (the login form's own 401 is a wrong password). */
  quiet401?: boolean;
}

/** One API call. Resolves with the parsed JSON answer (undefined for 204). */
export async function api<T>(
  method: string,
  path: string,
  options: RequestOptions = {},
): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  let body: string | undefined;
  if (options.text !== undefined) {
    headers['Content-Type'] = 'text/plain';
    body = options.text;
  } else if (options.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  if (method !== 'GET' && method !== 'HEAD' && csrfToken !== undefined) {
    headers['X-CSRF-Token'] = csrfToken;
  }
  let response: Response;
  try {
    response = await fetch(path, { method, headers, body, credentials: 'same-origin' });
  } catch (error) {
    throw new ApiError(0, {
      error: `cannot reach the agent (${error instanceof Error ? error.message : String(error)})`,
      code: 'NETWORK',
    });
  }
  const text = await response.text();
  let parsed: unknown;
  if (text !== '') {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = { error: text.slice(0, 200) };
    }
  }
  if (!response.ok) {
    const errorBody =
      typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
    if (response.status === 401 && !options.quiet401) onUnauthorized?.();
    throw new ApiError(response.status, errorBody);
  }
  return parsed as T;
}
