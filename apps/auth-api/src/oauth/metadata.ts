import {
  type AuthorizationServerMetadata,
  CLIENT_AUTH_METHODS,
  GRANT_TYPES,
  KNOWN_SCOPES,
} from '@groupchat/contract';

export const OAUTH_PATHS = {
  metadata: '/.well-known/oauth-authorization-server',
  jwks: '/.well-known/jwks.json',
  token: '/oauth/token',
  introspection: '/oauth/introspect',
  revocation: '/oauth/revoke',
} as const;

/**
 * RFC 8414 metadata. `issuer` is the configured issuer byte for byte (the `iss` of every token); every
 * endpoint is absolute under it. There is no authorization endpoint, so no response type is supported.
 */
export function authorizationServerMetadata(issuer: string): AuthorizationServerMetadata {
  return {
    issuer,
    token_endpoint: `${issuer}${OAUTH_PATHS.token}`,
    introspection_endpoint: `${issuer}${OAUTH_PATHS.introspection}`,
    revocation_endpoint: `${issuer}${OAUTH_PATHS.revocation}`,
    jwks_uri: `${issuer}${OAUTH_PATHS.jwks}`,
    grant_types_supported: [...GRANT_TYPES],
    response_types_supported: [],
    token_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
    introspection_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
    revocation_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
    scopes_supported: [...KNOWN_SCOPES],
    service_documentation: `${issuer}/docs`,
  };
}
