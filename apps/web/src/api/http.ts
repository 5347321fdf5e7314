/**
 * Minimal JSON-over-fetch client. Every failure becomes an ApiError whose `detail` is fit to show a
 * person: the problem+json `detail` (RFC 9457) when the service sent one, else a plain fallback.
 */

export class ApiError extends Error {
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly type: string;

  constructor(status: number, title: string, detail: string, type = 'about:blank') {
    super(detail);
    this.name = 'ApiError';
    this.status = status;
    this.title = title;
    this.detail = detail;
    this.type = type;
  }

  /** A network failure, a timeout, an overloaded or failing server: trying again may work. */
  get retryable(): boolean {
    return this.status === 0 || this.status === 408 || this.status === 429 || this.status >= 500;
  }
}

export const NETWORK_ERROR_DETAIL = 'Could not reach the server. Check your connection and try again.';

const FALLBACK_DETAIL: Record<number, string> = {
  400: 'The request was not valid.',
  401: 'Please sign in again.',
  403: 'You are not allowed to do that.',
  404: 'Not found.',
  409: 'That conflicts with existing data.',
  429: 'Too many requests. Please wait a moment and try again.',
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function errorFromResponse(status: number, body: unknown): ApiError {
  const b = isRecord(body) ? body : {};
  const str = (key: string): string | undefined =>
    typeof b[key] === 'string' && (b[key] as string).trim() !== '' ? (b[key] as string) : undefined;
  const title = str('title') ?? str('error') ?? `HTTP ${status}`;
  const detail =
    str('detail') ??
    str('error_description') ??
    str('title') ??
    FALLBACK_DETAIL[status] ??
    (status >= 500
      ? `The server had a problem (HTTP ${status}). Please try again.`
      : `Request failed (HTTP ${status}).`);
  return new ApiError(status, title, detail, str('type') ?? 'about:blank');
}

/** Turns anything thrown into a sentence for the UI. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) return error.detail;
  if (error instanceof Error && error.message) return error.message;
  return 'Something went wrong.';
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  body?: unknown;
  token?: string | null;
  signal?: AbortSignal;
  query?: Record<string, string | number | undefined | null>;
}

export async function apiFetch<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json, application/problem+json' };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let url = path;
  if (options.query) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(options.query)) {
      if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
    }
    const qs = params.toString();
    if (qs) url += `?${qs}`;
  }
  let response: Response;
  try {
    response = await fetch(url, {
      method: options.method ?? 'GET',
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      credentials: 'same-origin',
      cache: 'no-store',
      signal: options.signal,
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new ApiError(0, 'Network error', NETWORK_ERROR_DETAIL);
  }
  let text = '';
  try {
    text = await response.text();
  } catch {
    throw new ApiError(0, 'Network error', NETWORK_ERROR_DETAIL);
  }
  let data: unknown;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = undefined;
    }
  }
  if (!response.ok) throw errorFromResponse(response.status, data);
  return data as T;
}

/** Where an authenticated client gets its bearer token. */
export interface TokenSource {
  /** A token valid for a little while yet (refreshing first if it is about to expire), or null. */
  getToken(): Promise<string | null>;
  /** Called after a 401: get a fresh token, or null when the session is over. */
  renewToken(): Promise<string | null>;
  /** Tells when a new token was obtained (e.g. the scheduled refresh); returns an unsubscribe. */
  onToken?(listener: (token: string) => void): () => void;
}

/** apiFetch with a bearer token, retried once with a renewed token after a 401. */
export async function authedFetch<T>(
  tokens: TokenSource,
  path: string,
  options: RequestOptions = {},
): Promise<T> {
  const token = await tokens.getToken();
  try {
    return await apiFetch<T>(path, { ...options, token });
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) throw error;
    const renewed = await tokens.renewToken();
    if (!renewed) throw error;
    return apiFetch<T>(path, { ...options, token: renewed });
  }
}

/** Lists may come bare or wrapped (`{groups: [...]}`, `{items: [...]}`): accept both. */
export function asList<T>(data: unknown, ...keys: string[]): T[] {
  if (Array.isArray(data)) return data as T[];
  if (isRecord(data)) {
    for (const key of [...keys, 'items', 'data', 'results']) {
      const value = data[key];
      if (Array.isArray(value)) return value as T[];
    }
  }
  return [];
}

export function asObject<T>(data: unknown, key: string): T {
  if (isRecord(data) && isRecord(data[key])) return data[key] as T;
  return data as T;
}
