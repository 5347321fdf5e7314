import type { TokenResponse } from '@groupchat/contract';
import type { Logger } from 'pino';
import type { ClientRecord } from '../clients/repository.ts';
import type { GrantRecord, GrantService } from '../grants/service.ts';
import type { TokenIssuer } from '../tokens/issuer.ts';
import type { UserRepository } from '../users/repository.ts';
import { InvalidGrant, InvalidScope } from './errors.ts';
import { audienceFor } from './resource-check.ts';
import { identityClaims } from './userinfo.ts';

export interface DelegatedGrantParams {
  code?: string | undefined;
  redirect_uri?: string | undefined;
  code_verifier?: string | undefined;
  refresh_token?: string | undefined;
  scope?: string | undefined;
  resource?: string[] | undefined;
}

/**
 * The two grants by which an app acts for a user: authorization_code (RFC 6749 §4.1.3 + PKCE) and
 * refresh_token (§6, rotated). The client is already authenticated (or identified, for a public
 * client) and allowed the grant; what remains is the grant itself and the tokens it yields: an RFC 9068
 * access token for the user with the app's client_id and the granted scopes, a new refresh token, and
 * an ID token when `openid` was granted.
 */
export class DelegatedGrants {
  readonly #grants: GrantService;
  readonly #users: UserRepository;
  readonly #issuer: TokenIssuer;
  readonly #issuerUrl: string;
  readonly #logger: Logger;

  constructor(deps: {
    grants: GrantService;
    users: UserRepository;
    issuer: TokenIssuer;
    issuerUrl: string;
    logger: Logger;
  }) {
    this.#grants = deps.grants;
    this.#users = deps.users;
    this.#issuer = deps.issuer;
    this.#issuerUrl = deps.issuerUrl;
    this.#logger = deps.logger;
  }

  async authorizationCode(client: ClientRecord, params: DelegatedGrantParams): Promise<TokenResponse> {
    // Checked before the code is spent: a bad resource must not burn a good code.
    const audience = audienceFor(params.resource, this.#issuerUrl);
    const { grant, nonce } = await this.#grants.redeemCode({
      code: params.code,
      clientId: client.clientId,
      redirectUri: params.redirect_uri,
      codeVerifier: params.code_verifier,
    });
    const refreshToken = client.grantTypes.includes('refresh_token')
      ? await this.#grants.issueRefreshToken(grant.id)
      : undefined;
    return this.#tokens('authorization_code', grant, grant.scopes, audience, nonce, refreshToken);
  }

  async refreshToken(client: ClientRecord, params: DelegatedGrantParams): Promise<TokenResponse> {
    const audience = audienceFor(params.resource, this.#issuerUrl);
    const { grant, refreshToken } = await this.#grants.rotate(params.refresh_token, client.clientId);
    // RFC 6749 §6: a narrower scope may be asked for; never one the user did not grant.
    const requested = (params.scope ?? '').split(' ').filter(Boolean);
    const refused = requested.filter((scope) => !grant.scopes.includes(scope));
    if (refused.length > 0)
      throw new InvalidScope(`scope not granted by the user: ${[...new Set(refused)].join(' ')}`);
    const scopes = requested.length > 0 ? [...new Set(requested)] : grant.scopes;
    return this.#tokens('refresh_token', grant, scopes, audience, null, refreshToken);
  }

  async #tokens(
    grantType: string,
    grant: GrantRecord,
    scopes: string[],
    audience: string,
    nonce: string | null,
    refreshToken: string | undefined,
  ): Promise<TokenResponse> {
    const user = await this.#users.findById(grant.userId);
    if (!user) throw new InvalidGrant('the user of this grant no longer exists');
    const issued = this.#issuer.issueDelegatedToken(user, grant.clientId, scopes, audience, grant.id);
    const idToken = scopes.includes('openid')
      ? this.#issuer.issueIdToken({
          sub: user.id,
          clientId: grant.clientId,
          authTime: grant.authTime,
          nonce,
          accessToken: issued.access_token,
          ttlSeconds: this.#issuer.ttlSeconds,
          // The contract names these claims for every ID token (not only with profile/email).
          extra: identityClaims(user, ['profile', 'email']),
        })
      : undefined;
    this.#logger.info(
      {
        event: 'token_issued',
        grant_type: grantType,
        client_id: grant.clientId,
        sub: user.id,
        grant_id: grant.id,
        scope: issued.claims.scope,
        aud: audience,
        jti: issued.claims.jti,
        exp: issued.claims.exp,
      },
      'access token issued',
    );
    return {
      access_token: issued.access_token,
      token_type: 'Bearer',
      expires_in: issued.expires_in,
      scope: scopes.join(' '),
      ...(refreshToken !== undefined ? { refresh_token: refreshToken } : {}),
      ...(idToken !== undefined ? { id_token: idToken } : {}),
    };
  }
}
