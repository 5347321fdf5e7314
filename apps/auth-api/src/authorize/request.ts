import type { ClientRecord } from '../clients/repository.ts';

/** The parameters an authorization request carries through the sign-in and consent forms. */
export const AUTHORIZATION_PARAMETERS = [
  'response_type',
  'client_id',
  'redirect_uri',
  'scope',
  'state',
  'code_challenge',
  'code_challenge_method',
  'nonce',
  'prompt',
  'max_age',
  'response_mode',
] as const;

export interface AuthorizationRequest {
  client: ClientRecord;
  redirectUri: string;
  scopes: string[];
  state: string | null;
  codeChallenge: string;
  nonce: string | null;
  prompt: ReadonlySet<string>;
  maxAge: number | null;
  /** The parameters as received, to carry through the forms. */
  parameters: Record<string, string>;
}

/**
 * The client or the redirect URI cannot be trusted: RFC 6749 §4.1.2.1 forbids redirecting. The user
 * gets an error page instead.
 */
export class AuthorizationPageError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = 'AuthorizationPageError';
    this.status = status;
  }
}

/** Every other error: sent back to the (verified) redirect URI with `error`, `state` and `iss`. */
export class AuthorizationRedirectError extends Error {
  readonly error: string;
  readonly redirectUri: string;
  readonly state: string | null;
  constructor(error: string, description: string, redirectUri: string, state: string | null) {
    super(description);
    this.name = 'AuthorizationRedirectError';
    this.error = error;
    this.redirectUri = redirectUri;
    this.state = state;
  }
}

const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
/** BASE64URL(SHA-256(verifier)): exactly 43 characters (RFC 7636 §4.2). */
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;
const PROMPTS = new Set(['none', 'login', 'consent', 'select_account']);
const MAX_STATE = 1024;
const MAX_NONCE = 512;

/**
 * Validates an authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3, OIDC Core §3.1.2.1) in the
 * order §4.1.2.1 requires: first client_id and redirect_uri, whose failures are shown, never
 * redirected; then everything else, whose failures go back to the redirect URI.
 */
export async function parseAuthorizationRequest(
  raw: Record<string, unknown>,
  findClient: (clientId: string) => Promise<ClientRecord | undefined>,
): Promise<AuthorizationRequest> {
  const clientId = raw.client_id;
  if (Array.isArray(clientId)) throw new AuthorizationPageError(400, 'client_id is given more than once.');
  if (typeof clientId !== 'string' || clientId === '')
    throw new AuthorizationPageError(400, 'The request names no application (client_id is missing).');
  const client = clientId.length <= 128 ? await findClient(clientId) : undefined;
  if (!client) throw new AuthorizationPageError(400, 'The application that sent you here is not registered.');
  const redirectUri = raw.redirect_uri;
  if (Array.isArray(redirectUri))
    throw new AuthorizationPageError(400, 'redirect_uri is given more than once.');
  if (typeof redirectUri !== 'string' || redirectUri === '')
    throw new AuthorizationPageError(400, 'The request has no redirect_uri.');
  // Exact, byte-for-byte match with a registered URI (RFC 9700 §4.1.3).
  if (!client.redirectUris.includes(redirectUri))
    throw new AuthorizationPageError(400, 'The redirect_uri is not registered for this application.');

  const rawState = raw.state;
  const state = typeof rawState === 'string' && rawState.length <= MAX_STATE ? rawState : null;
  const fail = (error: string, description: string) =>
    new AuthorizationRedirectError(error, description, redirectUri, state);
  const parameters: Record<string, string> = {};
  for (const name of AUTHORIZATION_PARAMETERS) {
    const value = raw[name];
    if (Array.isArray(value)) throw fail('invalid_request', `parameter "${name}" is included more than once`);
    if (typeof value === 'string') parameters[name] = value;
  }
  if (typeof rawState === 'string' && rawState.length > MAX_STATE)
    throw fail('invalid_request', `state is longer than ${MAX_STATE} characters`);
  if (!client.grantTypes.includes('authorization_code'))
    throw fail('unauthorized_client', 'this client is not registered for the authorization_code grant');
  if (raw.request !== undefined) throw fail('request_not_supported', 'request objects are not supported');
  if (raw.request_uri !== undefined) throw fail('request_uri_not_supported', 'request_uri is not supported');

  const responseType = parameters.response_type;
  if (responseType === undefined || responseType === '')
    throw fail('invalid_request', 'missing required parameter "response_type"');
  if (responseType !== 'code')
    throw fail('unsupported_response_type', 'only response_type=code is supported');
  if (parameters.response_mode !== undefined && parameters.response_mode !== 'query')
    throw fail('invalid_request', 'only response_mode=query is supported');

  const challenge = parameters.code_challenge;
  if (challenge === undefined || challenge === '')
    throw fail('invalid_request', 'code_challenge is required (PKCE, RFC 7636) for every client');
  const method = parameters.code_challenge_method;
  if (method !== 'S256')
    throw fail(
      'invalid_request',
      method === undefined
        ? 'code_challenge_method=S256 is required (the default, plain, is not accepted)'
        : 'code_challenge_method must be S256; plain is not accepted',
    );
  if (!S256_CHALLENGE.test(challenge))
    throw fail('invalid_request', 'code_challenge must be 43 base64url characters (S256)');

  const scopeTokens = (parameters.scope ?? '').split(' ').filter(Boolean);
  if (scopeTokens.length === 0) throw fail('invalid_scope', 'the scope parameter is required');
  if (scopeTokens.some((token) => !SCOPE_TOKEN.test(token)))
    throw fail('invalid_scope', 'the scope parameter is malformed');
  const refused = scopeTokens.filter((token) => !client.allowedScopes.includes(token));
  if (refused.length > 0)
    throw fail('invalid_scope', `scope not allowed for this client: ${[...new Set(refused)].join(' ')}`);

  const nonce = parameters.nonce ?? null;
  if (nonce !== null && (nonce.length === 0 || nonce.length > MAX_NONCE))
    throw fail('invalid_request', `nonce must be 1 to ${MAX_NONCE} characters`);

  const prompt = new Set((parameters.prompt ?? '').split(' ').filter(Boolean));
  for (const value of prompt)
    if (!PROMPTS.has(value)) throw fail('invalid_request', `unsupported prompt "${value.slice(0, 40)}"`);
  if (prompt.has('none') && prompt.size > 1)
    throw fail('invalid_request', 'prompt=none cannot be combined with other values');

  let maxAge: number | null = null;
  if (parameters.max_age !== undefined) {
    if (!/^\d{1,9}$/.test(parameters.max_age))
      throw fail('invalid_request', 'max_age must be a number of seconds');
    maxAge = Number(parameters.max_age);
  }
  return {
    client,
    redirectUri,
    scopes: [...new Set(scopeTokens)],
    state,
    codeChallenge: challenge,
    nonce,
    prompt,
    maxAge,
    parameters,
  };
}

/** The redirect URI with response parameters added to its query (its own query is kept, §3.1.2). */
export function redirectWith(redirectUri: string, params: Record<string, string | null>): string {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(params))
    if (value !== null) url.searchParams.append(name, value);
  return url.href;
}
