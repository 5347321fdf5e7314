import {
  GRANT_TYPES,
  KNOWN_SCOPES,
  MAX_REDIRECT_URI_LENGTH,
  MAX_REDIRECT_URIS,
  TOKEN_ENDPOINT_AUTH_METHODS,
} from '@groupchat/contract';
import { problems } from '@groupchat/service-kit';
import type { ClientFields, ClientType, TokenEndpointAuthMethod } from './repository.ts';

/** Grant types a client may be registered for (the token endpoint serves all of them). */
const KNOWN_GRANT_TYPES = GRANT_TYPES;

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

/** What a registration asks for, before validation (admin API, CLI and configuration alike). */
export interface RegistrationInput {
  clientName: string;
  clientType: ClientType;
  allowedScopes: readonly string[];
  grantTypes: readonly string[];
  redirectUris?: readonly string[] | undefined;
  tokenEndpointAuthMethod?: TokenEndpointAuthMethod | undefined;
  firstParty?: boolean | undefined;
}

/**
 * Validates a registration and fills in its defaults, the one set of rules for every way a client is
 * made. Redirect URIs (RFC 6749 §3.1.2, RFC 9700 §2.1/§4.1): absolute, no fragment, https except on a
 * loopback host (RFC 8252 §7.3), compared later byte for byte, so stored exactly as given. A public
 * client authenticates with `none` and has no secret; a confidential one uses a secret method.
 */
export function checkRegistration(input: RegistrationInput): ClientFields {
  const clientName = input.clientName.trim();
  if (clientName.length === 0) throw problems.badRequest('client_name must not be empty', 'invalid_name');
  const allowedScopes = checkScopes(input.allowedScopes);
  const grantTypes = checkGrants(input.grantTypes);
  const redirectUris = [...new Set(input.redirectUris ?? [])];
  for (const uri of redirectUris) checkRedirectUri(uri);
  if (redirectUris.length > MAX_REDIRECT_URIS)
    throw problems.badRequest(`at most ${MAX_REDIRECT_URIS} redirect_uris`, 'invalid_redirect_uri');
  if (grantTypes.includes('authorization_code') && redirectUris.length === 0)
    throw problems.badRequest(
      'the authorization_code grant needs at least one redirect_uri',
      'redirect_uris_required',
    );
  if (grantTypes.includes('refresh_token') && !grantTypes.includes('authorization_code'))
    throw problems.badRequest(
      'refresh_token is issued by the authorization_code grant only: register both',
      'refresh_without_code',
    );
  const method =
    input.tokenEndpointAuthMethod ?? (input.clientType === 'public' ? 'none' : 'client_secret_basic');
  if (!(TOKEN_ENDPOINT_AUTH_METHODS as readonly string[]).includes(method))
    throw problems.badRequest(
      `token_endpoint_auth_method must be one of ${TOKEN_ENDPOINT_AUTH_METHODS.join(', ')}`,
      'invalid_auth_method',
    );
  if (input.clientType === 'public') {
    if (method !== 'none')
      throw problems.badRequest(
        'a public client authenticates with "none" (it has no secret)',
        'invalid_auth_method',
      );
    if (grantTypes.includes('client_credentials'))
      throw problems.badRequest(
        'client_credentials is for confidential clients only (RFC 6749 §4.4)',
        'public_client_grant',
      );
  } else if (method === 'none') {
    throw problems.badRequest(
      'a confidential client authenticates with client_secret_basic or client_secret_post',
      'invalid_auth_method',
    );
  }
  return {
    clientName,
    clientType: input.clientType,
    allowedScopes,
    grantTypes,
    redirectUris,
    tokenEndpointAuthMethod: method,
    firstParty: input.firstParty ?? false,
  };
}

/** One redirect URI; throws a 400 problem (code invalid_redirect_uri) naming what is wrong. */
export function checkRedirectUri(uri: string): void {
  const refuse = (why: string) =>
    problems.badRequest(`redirect_uri "${uri.slice(0, 200)}" ${why}`, 'invalid_redirect_uri');
  if (typeof uri !== 'string' || uri.length === 0 || uri.length > MAX_REDIRECT_URI_LENGTH)
    throw refuse(`must be 1 to ${MAX_REDIRECT_URI_LENGTH} characters`);
  if (uri.includes('#')) throw refuse('must not have a fragment (RFC 6749 §3.1.2)');
  if ([...uri].some((ch) => ch <= ' ' || ch === '\x7f'))
    throw refuse('must not contain spaces or control characters');
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw refuse('is not an absolute URI');
  }
  if (url.username || url.password) throw refuse('must not carry credentials');
  if (url.protocol === 'https:') return;
  if (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)) return;
  throw refuse('must use https (http only on a loopback host: 127.0.0.1, [::1], localhost)');
}

export function checkScopes(scopes: readonly string[]): string[] {
  const unknown = scopes.filter((scope) => !(KNOWN_SCOPES as readonly string[]).includes(scope));
  if (unknown.length > 0)
    throw problems.badRequest(`unknown scope(s): ${unknown.join(', ')}`, 'unknown_scope');
  return [...new Set(scopes)];
}

function checkGrants(grants: readonly string[]): string[] {
  const unknown = grants.filter((grant) => !(KNOWN_GRANT_TYPES as readonly string[]).includes(grant));
  if (unknown.length > 0)
    throw problems.badRequest(
      `unsupported grant type(s): ${unknown.join(', ')}; supported: ${KNOWN_GRANT_TYPES.join(', ')}`,
      'unsupported_grant_type',
    );
  return [...new Set(grants)];
}
