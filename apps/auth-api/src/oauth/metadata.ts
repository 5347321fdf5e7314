import {
  type AuthorizationServerMetadata,
  CLIENT_AUTH_METHODS,
  GRANT_TYPES,
  KNOWN_SCOPES,
} from '@groupchat/contract';

export const OAUTH_PATHS = {
  metadata: '/.well-known/oauth-authorization-server',
  openidConfiguration: '/.well-known/openid-configuration',
  jwks: '/.well-known/jwks.json',
  authorize: '/oauth/authorize',
  userinfo: '/oauth/userinfo',
  token: '/oauth/token',
  introspection: '/oauth/introspect',
  revocation: '/oauth/revoke',
} as const;

/**
 * RFC 8414 metadata. `issuer` is the configured issuer byte for byte (the `iss` of every token); every
 * endpoint is absolute under it. Authorization code only, PKCE S256 only, `iss` in responses (RFC 9207).
 */
export function authorizationServerMetadata(issuer: string): AuthorizationServerMetadata {
  return {
    issuer,
    authorization_endpoint: `${issuer}${OAUTH_PATHS.authorize}`,
    token_endpoint: `${issuer}${OAUTH_PATHS.token}`,
    userinfo_endpoint: `${issuer}${OAUTH_PATHS.userinfo}`,
    introspection_endpoint: `${issuer}${OAUTH_PATHS.introspection}`,
    revocation_endpoint: `${issuer}${OAUTH_PATHS.revocation}`,
    jwks_uri: `${issuer}${OAUTH_PATHS.jwks}`,
    grant_types_supported: [...GRANT_TYPES],
    response_types_supported: ['code'],
    response_modes_supported: ['query'],
    code_challenge_methods_supported: ['S256'],
    authorization_response_iss_parameter_supported: true,
    token_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS, 'none'],
    introspection_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
    revocation_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS, 'none'],
    scopes_supported: [...KNOWN_SCOPES],
    service_documentation: `${issuer}/docs`,
  };
}

/**
 * OpenID Connect Discovery 1.0: the RFC 8414 document (same issuer, same endpoints) with the OpenID
 * Provider fields. ID tokens are signed with the access-token keys (ES256).
 */
export function openidConfiguration(issuer: string): AuthorizationServerMetadata {
  return {
    ...authorizationServerMetadata(issuer),
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['ES256'],
    claims_supported: [
      'iss',
      'sub',
      'aud',
      'exp',
      'iat',
      'auth_time',
      'nonce',
      'at_hash',
      'azp',
      'name',
      'email',
      'email_verified',
      'org_id',
    ],
    prompt_values_supported: ['none', 'login', 'consent'],
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
  };
}
