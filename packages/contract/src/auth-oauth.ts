import { type Static, Type } from 'typebox';

/**
 * auth-api's OAuth 2.0 authorization server: token (RFC 6749 §4.4), introspection (RFC 7662),
 * revocation (RFC 7009), metadata (RFC 8414), JWKS (RFC 7517). chat-api's service token manager
 * validates the token response with TokenResponse.
 *
 * Bodies of /oauth/* are application/x-www-form-urlencoded; parameters are declared optional here and
 * their presence is checked in code, so that a missing one gets the precise RFC 6749 error (e.g.
 * `invalid_request: missing required parameter "grant_type"`) rather than a generic validation message.
 * Unknown parameters are ignored (RFC 6749 §3.2).
 */

/** The scopes auth-api knows; a client's allowed scopes are a subset. */
/** OpenID Connect scopes: they ask for identity claims, only a user can grant them. */
export const OIDC_SCOPES = ['openid', 'profile', 'email'] as const;
export const KNOWN_SCOPES = [
  'groups:read',
  'groups:write',
  'members:read',
  'admin:clients',
  ...OIDC_SCOPES,
] as const;
export type Scope = (typeof KNOWN_SCOPES)[number];

/** The grant types the token endpoint serves: the one list clients, metadata and the endpoint share. */
export const GRANT_TYPES = ['client_credentials', 'authorization_code', 'refresh_token'] as const;
export type GrantType = (typeof GRANT_TYPES)[number];

/** Client authentication methods of the token, introspection and revocation endpoints. */
export const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post'] as const;

/** The resource servers (`aud`, RFC 8707 `resource`) tokens can name. */
export const Audiences = { authApi: 'auth-api', chatApi: 'chat-api' } as const;

const clientAuthProperties = {
  client_id: Type.Optional(
    Type.String({ maxLength: 128, description: 'client_secret_post (or alongside Basic, the same id)' }),
  ),
  client_secret: Type.Optional(
    Type.String({ maxLength: 512, description: 'client_secret_post; never together with Basic' }),
  ),
};

export const TokenRequest = Type.Object({
  grant_type: Type.Optional(Type.String({ maxLength: 100, description: `one of ${GRANT_TYPES.join(', ')}` })),
  code: Type.Optional(Type.String({ maxLength: 200, description: 'authorization_code: the code' })),
  redirect_uri: Type.Optional(
    Type.String({
      maxLength: 2000,
      description: 'authorization_code: the redirect_uri of the authorization request',
    }),
  ),
  code_verifier: Type.Optional(
    Type.String({
      maxLength: 200,
      description: 'authorization_code: the PKCE verifier (RFC 7636), required',
    }),
  ),
  refresh_token: Type.Optional(
    Type.String({ maxLength: 200, description: 'refresh_token: the refresh token' }),
  ),
  scope: Type.Optional(
    Type.String({
      maxLength: 1000,
      description:
        'space-separated subset of the client allowed scopes; absent (or empty): all of them (RFC 6749 §3.3)',
    }),
  ),
  resource: Type.Optional(
    Type.Array(Type.String({ maxLength: 2000 }), {
      maxItems: 10,
      description:
        'RFC 8707 resource indicator naming the audience: auth-api (default; also the issuer URL) or chat-api. ' +
        'One resource per request; anything else is invalid_target',
    }),
  ),
  ...clientAuthProperties,
});
export type TokenRequest = Static<typeof TokenRequest>;

export const TokenResponse = Type.Object(
  {
    access_token: Type.String({ minLength: 1, description: 'RFC 9068 JWT (typ at+jwt, ES256)' }),
    token_type: Type.Literal('Bearer'),
    expires_in: Type.Integer({ minimum: 1, description: 'seconds' }),
    scope: Type.String({ description: 'the granted scopes, space-separated' }),
    refresh_token: Type.Optional(
      Type.String({
        description:
          'authorization_code and refresh_token grants: a new refresh token (rotated on every use)',
      }),
    ),
    id_token: Type.Optional(Type.String({ description: 'OpenID Connect ID token, when openid was granted' })),
  },
  { description: 'sent with Cache-Control: no-store and Pragma: no-cache' },
);
export type TokenResponse = Static<typeof TokenResponse>;

export const IntrospectionRequest = Type.Object({
  token: Type.Optional(Type.String({ maxLength: 8192, description: 'the access token to introspect' })),
  token_type_hint: Type.Optional(
    Type.String({ maxLength: 100, description: 'accepted and ignored: every token here is an access token' }),
  ),
  ...clientAuthProperties,
});
export type IntrospectionRequest = Static<typeof IntrospectionRequest>;

export const IntrospectionResponse = Type.Object(
  {
    active: Type.Boolean(),
    scope: Type.Optional(Type.String()),
    client_id: Type.Optional(Type.String()),
    sub: Type.Optional(Type.String()),
    aud: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())])),
    iss: Type.Optional(Type.String()),
    exp: Type.Optional(Type.Integer()),
    iat: Type.Optional(Type.Integer()),
    jti: Type.Optional(Type.String()),
    token_type: Type.Optional(Type.Literal('Bearer')),
    org_id: Type.Optional(Type.String({ description: 'user tokens only' })),
  },
  {
    description:
      'RFC 7662. `{"active":false}` and nothing else for a token that is not valid here: malformed, ' +
      'expired, revoked, not signed by us, or issued to a client that has since been deleted',
  },
);
export type IntrospectionResponse = Static<typeof IntrospectionResponse>;

export const RevocationRequest = Type.Object({
  token: Type.Optional(Type.String({ maxLength: 8192, description: 'the access token to revoke' })),
  token_type_hint: Type.Optional(Type.String({ maxLength: 100, description: 'accepted and ignored' })),
  ...clientAuthProperties,
});
export type RevocationRequest = Static<typeof RevocationRequest>;

export const AuthorizationServerMetadata = Type.Object(
  {
    issuer: Type.String(),
    authorization_endpoint: Type.String(),
    userinfo_endpoint: Type.String(),
    token_endpoint: Type.String(),
    introspection_endpoint: Type.String(),
    revocation_endpoint: Type.String(),
    jwks_uri: Type.String(),
    grant_types_supported: Type.Array(Type.String()),
    response_types_supported: Type.Array(Type.String(), { description: 'code only (RFC 9700 §2.1.2)' }),
    response_modes_supported: Type.Array(Type.String()),
    code_challenge_methods_supported: Type.Array(Type.String(), {
      description: 'S256 only; PKCE is required',
    }),
    authorization_response_iss_parameter_supported: Type.Boolean({ description: 'RFC 9207' }),
    token_endpoint_auth_methods_supported: Type.Array(Type.String()),
    introspection_endpoint_auth_methods_supported: Type.Array(Type.String()),
    revocation_endpoint_auth_methods_supported: Type.Array(Type.String()),
    scopes_supported: Type.Array(Type.String()),
    service_documentation: Type.String(),
    subject_types_supported: Type.Optional(Type.Array(Type.String())),
    id_token_signing_alg_values_supported: Type.Optional(Type.Array(Type.String())),
    claims_supported: Type.Optional(Type.Array(Type.String())),
    prompt_values_supported: Type.Optional(Type.Array(Type.String())),
    request_parameter_supported: Type.Optional(Type.Boolean()),
    request_uri_parameter_supported: Type.Optional(Type.Boolean()),
  },
  {
    description:
      'RFC 8414 authorization server metadata; the OpenID Connect discovery document is the same with the OpenID Provider fields',
  },
);
export type AuthorizationServerMetadata = Static<typeof AuthorizationServerMetadata>;

export const PublicJwkSchema = Type.Object({
  kty: Type.String(),
  crv: Type.String(),
  x: Type.String(),
  y: Type.String(),
  kid: Type.String(),
  alg: Type.String(),
  use: Type.String(),
});
export const JwksResponse = Type.Object(
  { keys: Type.Array(PublicJwkSchema) },
  {
    description:
      'RFC 7517 public signing keys: the key that signs now, the next one before it signs, and ' +
      'superseded ones until their last token has expired',
  },
);
export type JwksResponse = Static<typeof JwksResponse>;
