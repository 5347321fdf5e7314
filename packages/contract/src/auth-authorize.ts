import { type Static, Type } from 'typebox';

/** How clients authenticate at the token endpoint; `none` is for public clients (PKCE is their proof). */
export const TOKEN_ENDPOINT_AUTH_METHODS = ['none', 'client_secret_basic', 'client_secret_post'] as const;
export type TokenEndpointAuthMethod = (typeof TOKEN_ENDPOINT_AUTH_METHODS)[number];
export const MAX_REDIRECT_URIS = 10;
export const MAX_REDIRECT_URI_LENGTH = 2000;

/**
 * Shapes of "sign in with the platform" (contract Part 2): connected apps (the user's consents), the
 * user-delegated token response, OpenID Connect UserInfo, and the area's problem codes.
 */

export const ConnectedApp = Type.Object({
  client_id: Type.String(),
  client_name: Type.String(),
  scopes: Type.Array(Type.String(), { description: 'what the user agreed the app may do' }),
  first_party: Type.Boolean(),
  connected_at: Type.String({ format: 'date-time', description: 'first consent' }),
  updated_at: Type.String({ format: 'date-time', description: 'last change of the consent' }),
});
export type ConnectedApp = Static<typeof ConnectedApp>;

export const ConnectedAppsResponse = Type.Object({ apps: Type.Array(ConnectedApp) });
export type ConnectedAppsResponse = Static<typeof ConnectedAppsResponse>;

export const ConnectedAppParams = Type.Object({
  client_id: Type.String({ pattern: '^[A-Za-z0-9._~-]{3,128}$' }),
});
export type ConnectedAppParams = Static<typeof ConnectedAppParams>;

/** POST /oauth/token for authorization_code and refresh_token. */
export const DelegatedTokenResponse = Type.Object({
  access_token: Type.String({
    description: 'RFC 9068 user token: sub the user, client_id the app, scope granted',
  }),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer(),
  scope: Type.String(),
  refresh_token: Type.Optional(Type.String({ description: 'rotated on every use; 30 days' })),
  id_token: Type.Optional(Type.String({ description: 'when openid was granted' })),
});
export type DelegatedTokenResponse = Static<typeof DelegatedTokenResponse>;

export const UserInfoResponse = Type.Object(
  {
    sub: Type.String(),
    org_id: Type.String(),
    name: Type.Optional(Type.String({ description: 'scope profile' })),
    email: Type.Optional(Type.String({ description: 'scope email' })),
    email_verified: Type.Optional(Type.Boolean({ description: 'scope email' })),
  },
  { additionalProperties: true },
);
export type UserInfoResponse = Static<typeof UserInfoResponse>;
