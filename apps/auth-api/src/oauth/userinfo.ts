import { isUserToken, scopesOf } from '../tokens/claims.ts';
import { InvalidTokenError, type TokenVerifier } from '../tokens/verifier.ts';
import type { UserRecord, UserRepository } from '../users/repository.ts';
import { OAuthError } from './errors.ts';

const REALM = 'auth-api';

/**
 * The identity claims of a user, by OpenID Connect scope (Core §5.4): `profile` gives `name`, `email`
 * gives `email` and `email_verified`; `org_id` (the tenant) is always there.
 */
export function identityClaims(user: UserRecord, scopes: readonly string[]): Record<string, unknown> {
  return {
    org_id: user.orgId,
    ...(scopes.includes('profile') ? { name: user.displayName } : {}),
    ...(scopes.includes('email') ? { email: user.email, email_verified: user.emailVerified } : {}),
  };
}

/** RFC 6750 §3.1 errors of the UserInfo endpoint, with their WWW-Authenticate challenge. */
function bearerError(status: 401 | 403, error: string, description: string): OAuthError {
  const challenge =
    error === 'invalid_request' && status === 401
      ? `Bearer realm="${REALM}"`
      : `Bearer realm="${REALM}", error="${error}", error_description="${description.replace(/["\\]/g, '')}"`;
  return new OAuthError(status, error, description, { 'www-authenticate': challenge });
}

/**
 * OpenID Connect UserInfo (Core §5.3): the claims about the user an access token with `openid` was
 * issued for, limited to its scopes. Tokens are auth-api's own (aud auth-api), verified and checked
 * against revocations like every other Bearer token here.
 */
export class UserInfo {
  readonly #verifier: TokenVerifier;
  readonly #users: UserRepository;

  constructor(deps: { verifier: TokenVerifier; users: UserRepository }) {
    this.#verifier = deps.verifier;
    this.#users = deps.users;
  }

  async claims(
    authorization: string | undefined,
  ): Promise<{ sub: string; org_id: string } & Record<string, unknown>> {
    if (authorization === undefined)
      throw bearerError(401, 'invalid_request', 'a Bearer access token is required');
    const match = /^Bearer ([A-Za-z0-9\-_.~+/]+=*)$/i.exec(authorization.trim());
    if (!match?.[1])
      throw bearerError(401, 'invalid_token', 'the Authorization header must be "Bearer <token>"');
    let claims: Awaited<ReturnType<TokenVerifier['verify']>>;
    try {
      claims = await this.#verifier.verify(match[1]);
    } catch (error) {
      if (error instanceof InvalidTokenError) throw bearerError(401, 'invalid_token', error.message);
      throw error;
    }
    if (!isUserToken(claims)) throw bearerError(401, 'invalid_token', 'not a user access token');
    const scopes = scopesOf(claims);
    if (!scopes.includes('openid'))
      throw bearerError(403, 'insufficient_scope', 'the token lacks the openid scope');
    const user = await this.#users.findById(claims.sub);
    if (!user || user.orgId !== claims.org_id)
      throw bearerError(401, 'invalid_token', 'the token names no current user');
    return { sub: user.id, ...identityClaims(user, scopes), org_id: user.orgId };
  }
}
