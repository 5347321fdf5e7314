/** RFC 9068 access-token claims as we issue them. */
export interface AccessTokenClaims {
  iss: string;
  sub: string;
  aud: string | string[];
  exp: number;
  iat: number;
  jti: string;
  client_id: string;
  scope?: string;
  /** Users only: their organization. */
  org_id?: string;
  /** Users only: the login session the token was minted for; ending the session kills the token. */
  sid?: string;
}

/** Resource servers (RFC 8707 resource indicators) that our tokens may name in `aud`. */
export const RESOURCE_SERVERS = ['auth-api', 'chat-api'] as const;
export type ResourceServer = (typeof RESOURCE_SERVERS)[number];

export function isUserToken(claims: AccessTokenClaims): boolean {
  return typeof claims.org_id === 'string';
}

export function scopesOf(claims: AccessTokenClaims): string[] {
  return claims.scope ? claims.scope.split(' ').filter(Boolean) : [];
}

/**
 * The `client_id` of user tokens from login (the platform's own web client). Reserved: no registered
 * client may take it, so a token with any other client_id is one an app holds for the user.
 */
export const PLATFORM_CLIENT_ID = 'groupchat-web';
