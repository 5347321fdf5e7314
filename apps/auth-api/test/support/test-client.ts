import { expect } from 'vitest';

/**
 * A small HTTP client for the identity and groups tests: plain `fetch`, cookies handled by hand, and a
 * record of every response body so a test file can assert at the end that no secret ever left.
 */
export interface ApiResponse {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: test assertions read arbitrary JSON fields.
  body: any;
  text: string;
}

export interface RequestOptions {
  body?: unknown;
  /** Sent as is (for malformed-JSON tests), with `Content-Type: application/json`. */
  rawBody?: string;
  token?: string;
  cookie?: string;
  headers?: Record<string, string>;
}

export interface LoggedIn {
  token: string;
  cookie: string;
  user: { id: string; email: string; display_name: string; org_id: string; role: string };
}

export class TestClient {
  readonly baseUrl: string;
  readonly cookieName: string;
  /** Every response body seen, for "never in any response" assertions. */
  readonly seen: string[] = [];

  constructor(baseUrl: string, cookieName = 'sid') {
    this.baseUrl = baseUrl;
    this.cookieName = cookieName;
  }

  async request(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse> {
    const headers: Record<string, string> = { ...options.headers };
    let body: string | undefined;
    if (options.rawBody !== undefined) body = options.rawBody;
    else if (options.body !== undefined) body = JSON.stringify(options.body);
    if (body !== undefined) headers['content-type'] ??= 'application/json';
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.cookie) headers.cookie = `${this.cookieName}=${options.cookie}`;
    const response = await fetch(`${this.baseUrl}${path}`, { method, headers, body });
    const text = await response.text();
    this.seen.push(text);
    let parsed: unknown = null;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    return { status: response.status, headers: response.headers, body: parsed, text };
  }

  get(path: string, options?: RequestOptions) {
    return this.request('GET', path, options);
  }
  post(path: string, options?: RequestOptions) {
    return this.request('POST', path, options);
  }
  delete(path: string, options?: RequestOptions) {
    return this.request('DELETE', path, options);
  }

  async login(email: string, password: string): Promise<LoggedIn> {
    const response = await this.post('/api/auth/login', { body: { email, password } });
    expect(response.status, response.text).toBe(200);
    const cookie = sessionCookieOf(response, this.cookieName);
    expect(cookie).toBeTruthy();
    return { token: response.body.access_token, cookie: cookie!, user: response.body.user };
  }
}

/** The session cookie's raw Set-Cookie line, or undefined. */
export function setCookieLine(response: ApiResponse, name = 'sid'): string | undefined {
  return response.headers.getSetCookie().find((line) => line.startsWith(`${name}=`));
}

export function sessionCookieOf(response: ApiResponse, name = 'sid'): string | undefined {
  const line = setCookieLine(response, name);
  return line?.slice(name.length + 1).split(';')[0] || undefined;
}

/** A problem+json answer with this status (and code, when given). */
export function expectProblem(response: ApiResponse, status: number, code?: string): void {
  expect(response.status, response.text).toBe(status);
  expect(response.headers.get('content-type')).toContain('application/problem+json');
  expect(response.body).toMatchObject({ status, type: expect.any(String), title: expect.any(String) });
  expect(typeof response.body.detail).toBe('string');
  if (code) expect(response.body.code).toBe(code);
}

/** 401 without credentials: RFC 6750, the realm only. */
export function expectAuthenticationRequired(response: ApiResponse): void {
  expectProblem(response, 401);
  expect(response.headers.get('www-authenticate')).toBe('Bearer realm="auth-api"');
}

/** 401 for a token that was sent and is bad. */
export function expectInvalidToken(response: ApiResponse): void {
  expectProblem(response, 401, 'invalid_token');
  expect(response.headers.get('www-authenticate')).toMatch(/^Bearer realm="auth-api", error="invalid_token"/);
}

export function expectInsufficientScope(response: ApiResponse, scope: string): void {
  expectProblem(response, 403, 'insufficient_scope');
  expect(response.body.scope).toBe(scope);
  expect(response.headers.get('www-authenticate')).toContain(`error="insufficient_scope", scope="${scope}"`);
}

/** A token signed by nobody we know: well-formed, but its signature cannot verify. */
export const FORGED_TOKEN =
  'eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCIsImtpZCI6Im5vcGUifQ.' +
  'eyJzdWIiOiJ4IiwiZXhwIjo5OTk5OTk5OTk5fQ.' +
  'c2lnbmF0dXJl';

export const MALFORMED_IDS = [
  'not-a-uuid',
  '123',
  'urn:uuid:0190f3a0-0000-7000-8000-000000000000',
  "1' or '1'='1",
];
