import { type Static, Type } from 'typebox';

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

/** Problem codes of this area (client registration and connected apps). */
export const AuthorizeProblemCodes = [
  'invalid_redirect_uri',
  'redirect_uris_required',
  'refresh_without_code',
  'invalid_auth_method',
  'public_client_grant',
  'connected_app_not_found',
  'csrf_token_mismatch',
] as const;
