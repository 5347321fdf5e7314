import { DEMO, startTestAuthApi, type TestAuthApi } from '@groupchat/testkit/auth-api';
import { clientServiceFor } from '../../src/clients/index.ts';
import type { Actor } from '../../src/clients/service.ts';
import { USER_TOKEN_SCOPES } from '../../src/identity/service.ts';

export type { TestAuthApi };
export { DEMO };

export const OPERATOR: Actor = { type: 'operator', name: 'test' };
export const FORM = 'application/x-www-form-urlencoded';

/** A real auth-api on loopback (see testing.ts), with rate limits high enough not to get in the way. */
export function startApi(env: Record<string, string> = {}): Promise<TestAuthApi> {
  return startTestAuthApi({
    env: {
      RATE_LIMIT_TOKEN_PER_CLIENT: '100000',
      RATE_LIMIT_TOKEN_PER_IP: '100000',
      RATE_LIMIT_CLIENT_AUTH_PER_IP: '100000',
      ...env,
    },
  });
}

/** application/x-www-form-urlencoded encoding of one value (RFC 6749 Appendix B). */
export function formEncode(value: string): string {
  return encodeURIComponent(value)
    .replace(/[!'()*~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

/** client_secret_basic: each part form-encoded, then base64 (RFC 6749 §2.3.1). */
export function basic(clientId: string, secret: string): string {
  return `Basic ${Buffer.from(`${formEncode(clientId)}:${formEncode(secret)}`).toString('base64')}`;
}

export type FormParams = Record<string, string | string[]>;

export function formBody(params: FormParams): string {
  return Object.entries(params)
    .flatMap(([name, value]) =>
      (Array.isArray(value) ? value : [value]).map((v) => `${formEncode(name)}=${formEncode(v)}`),
    )
    .join('&');
}

export interface JsonResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export async function postForm<T = Record<string, unknown>>(
  url: string,
  params: FormParams,
  headers: Record<string, string> = {},
): Promise<JsonResponse<T>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': FORM, ...headers },
    body: formBody(params),
  });
  return read<T>(response);
}

export async function request<T = Record<string, unknown>>(
  url: string,
  init: { method?: string; token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<JsonResponse<T>> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(url, {
    method: init.method ?? 'GET',
    headers,
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  return read<T>(response);
}

async function read<T>(response: Response): Promise<JsonResponse<T>> {
  const text = await response.text();
  let body: unknown = {};
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    body = {};
  }
  return { status: response.status, headers: response.headers, body: body as T, text };
}

export interface TokenBody {
  access_token: string;
  token_type: string;
  expires_in: number;
  scope: string;
  error?: string;
  error_description?: string;
}

/** A client_credentials token (client_secret_basic); throws unless 200. */
export async function tokenFor(
  api: TestAuthApi,
  clientId: string,
  secret: string,
  params: FormParams = {},
): Promise<string> {
  const response = await postForm<TokenBody>(
    `${api.url}/oauth/token`,
    { grant_type: 'client_credentials', ...params },
    { authorization: basic(clientId, secret) },
  );
  if (response.status !== 200) throw new Error(`token request failed: ${response.status} ${response.text}`);
  return response.body.access_token;
}

export function serviceToken(api: TestAuthApi, params: FormParams = {}): Promise<string> {
  return tokenFor(api, DEMO.serviceClientId, DEMO.serviceClientSecret, params);
}

/** Registers a client directly through the service (as the CLI does). */
export async function createClient(
  api: TestAuthApi,
  options: { scopes: string[]; grants?: string[]; id?: string; secret?: string },
): Promise<{ clientId: string; secret: string }> {
  const created = await clientServiceFor(api.running.core).create(OPERATOR, {
    clientId: options.id,
    clientName: `test client ${options.id ?? ''}`.trim(),
    clientSecret: options.secret,
    clientType: 'confidential',
    allowedScopes: options.scopes,
    grantTypes: options.grants ?? ['client_credentials'],
  });
  return { clientId: created.clientId, secret: created.clientSecret! };
}

/** A client token with scope admin:clients (a platform-admin principal). */
export async function adminToken(api: TestAuthApi): Promise<string> {
  const admin = await createClient(api, { scopes: ['admin:clients'] });
  return tokenFor(api, admin.clientId, admin.secret);
}

/** A user access token minted directly (no dependency on the login route). */
export async function userToken(api: TestAuthApi, email: string): Promise<string> {
  const core = api.running.core;
  const user = await core.db
    .selectFrom('users')
    .select(['id', 'org_id'])
    .where('email', '=', email)
    .executeTakeFirstOrThrow();
  // The scopes a login's token carries: a user's Bearer token must hold the route's scope (i15).
  return core.tokenIssuer.issueUserToken({ id: user.id, orgId: user.org_id }, crypto.randomUUID(), [
    ...USER_TOKEN_SCOPES,
  ]).access_token;
}

/** The demo data's ids: Acme's group "general", Bob and Carol (members), Mallory (Globex). */
export async function demoIds(api: TestAuthApi) {
  const db = api.running.core.db;
  const users = await db.selectFrom('users').select(['id', 'email', 'org_id']).execute();
  const byEmail = (email: string) => users.find((user) => user.email === email)!;
  const group = await db
    .selectFrom('groups')
    .select(['id', 'org_id'])
    .where('name', '=', 'general')
    .executeTakeFirstOrThrow();
  return {
    groupId: group.id,
    acmeOrgId: group.org_id,
    bob: byEmail(DEMO.users.bob).id,
    carol: byEmail(DEMO.users.carol).id,
    mallory: byEmail(DEMO.users.mallory).id,
    globexOrgId: byEmail(DEMO.users.mallory).org_id,
  };
}

/** Decodes a JWT's header and payload without verifying (tests only). */
export function decodeJwt(token: string): {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
} {
  const [header, payload] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(header!, 'base64url').toString('utf8')),
    payload: JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8')),
  };
}

export async function eventually<T>(
  probe: () => Promise<T | undefined | false>,
  timeoutMs: number,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
