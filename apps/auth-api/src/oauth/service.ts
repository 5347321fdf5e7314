import type { IntrospectionResponse, TokenResponse } from '@groupchat/contract';
import type { Logger } from 'pino';
import type { ClientRecord } from '../clients/repository.ts';
import type { ClientService } from '../clients/service.ts';
import type { GrantService } from '../grants/service.ts';
import { type AccessTokenClaims, isUserToken } from '../tokens/claims.ts';
import type { TokenIssuer } from '../tokens/issuer.ts';
import type { RevocationService } from '../tokens/revocations.ts';
import { InvalidTokenError, type TokenVerifier } from '../tokens/verifier.ts';
import type { PresentedClientCredentials } from './client-authentication.ts';
import type { DelegatedGrantParams, DelegatedGrants } from './delegated-grants.ts';
import { InvalidClient, InvalidRequest } from './errors.ts';
import { assertClientMayUseGrant, checkGrantType } from './grant-check.ts';
import type { OAuthRateLimits } from './rate-limits.ts';
import { audienceFor } from './resource-check.ts';
import { grantedScopes } from './scope-check.ts';

export interface OAuthServiceDeps {
  clients: ClientService;
  issuer: TokenIssuer;
  /** Accepts tokens for every resource server we issue for (introspection and revocation). */
  verifier: TokenVerifier;
  revocations: RevocationService;
  limits: OAuthRateLimits;
  logger: Logger;
  issuerUrl: string;
  delegated: DelegatedGrants;
  grants: GrantService;
}

/** What the token endpoint reads from its form (client authentication aside). */
export interface TokenParams extends DelegatedGrantParams {
  grant_type?: string | undefined;
  client_id?: string | undefined;
  client_secret?: string | undefined;
}

/**
 * The authorization server's logic behind /oauth/token, /oauth/introspect and /oauth/revoke. Each
 * endpoint authenticates the calling client first; the small checks (grant, scope, resource) live in
 * their own files and throw the RFC 6749 error they stand for.
 */
export class OAuthService {
  readonly #deps: OAuthServiceDeps;

  constructor(deps: OAuthServiceDeps) {
    this.#deps = deps;
  }

  /** Client authentication shared by the three endpoints: invalid_client (401) unless it succeeds. */
  async authenticateClient(credentials: PresentedClientCredentials, ip: string): Promise<ClientRecord> {
    const { clients, limits, logger } = this.#deps;
    const client = await clients.authenticate(credentials.clientId, credentials.clientSecret, {
      beforeSlowVerification: () => limits.slowVerification(ip),
    });
    if (!client) {
      logger.warn(
        {
          event: 'client_authentication_failed',
          client_id: credentials.clientId.slice(0, 128),
          method: credentials.method,
          ip,
        },
        'OAuth client authentication failed',
      );
      throw new InvalidClient();
    }
    return client;
  }

  /**
   * POST /oauth/token: client credentials (RFC 6749 §4.4), and for apps acting for a user the
   * authorization_code and refresh_token grants. The client-credentials path is the hot one: it is
   * exactly what it was (one string comparison more), with no extra storage round trip.
   */
  async token(
    params: TokenParams,
    readCredentials: () => PresentedClientCredentials,
    ip: string,
    sentAuthorization = false,
  ): Promise<TokenResponse> {
    const { clients, limits, issuer, logger, issuerUrl } = this.#deps;
    if (params.grant_type === 'authorization_code' || params.grant_type === 'refresh_token') {
      await limits.perIp('token', ip);
      return this.#delegated(params.grant_type, params, readCredentials, ip, sentAuthorization);
    }
    let credentials: PresentedClientCredentials;
    try {
      credentials = readCredentials();
    } catch (error) {
      await limits.perIp('token', ip);
      throw error;
    }
    // Hot path: a client whose record and secret this process already knows costs no storage read,
    // and its two counters one Redis round trip. Anything else takes the full path below.
    const known = clients.authenticateFromMemory(credentials.clientId, credentials.clientSecret);
    let client: ClientRecord;
    let clientRefusal: Error | null = null;
    if (known) {
      clientRefusal = await limits.tokenRequest(ip, known.clientId);
      client = known;
    } else {
      await limits.perIp('token', ip);
      client = await this.authenticateClient(credentials, ip);
    }
    const grantType = checkGrantType(params.grant_type);
    assertClientMayUseGrant(client, grantType);
    const scopes = grantedScopes(params.scope, client.allowedScopes);
    const audience = audienceFor(params.resource, issuerUrl);
    if (clientRefusal) throw clientRefusal;
    if (!known) await limits.perClient(client.clientId);
    const issued = issuer.issueServiceToken(client.clientId, scopes, audience);
    logger.info(
      {
        event: 'token_issued',
        grant_type: grantType,
        client_id: client.clientId,
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
    };
  }

  async #delegated(
    grantType: 'authorization_code' | 'refresh_token',
    params: TokenParams,
    readCredentials: () => PresentedClientCredentials,
    ip: string,
    sentAuthorization: boolean,
  ): Promise<TokenResponse> {
    const client =
      !sentAuthorization && params.client_secret === undefined && params.client_id !== undefined
        ? await this.#publicClient(params.client_id)
        : await this.authenticateClient(readCredentials(), ip);
    assertClientMayUseGrant(client, grantType);
    await this.#deps.limits.perClient(client.clientId);
    return grantType === 'authorization_code'
      ? this.#deps.delegated.authorizationCode(client, params)
      : this.#deps.delegated.refreshToken(client, params);
  }

  /**
   * A public client (token_endpoint_auth_method `none`) only names itself; PKCE and the binding of
   * codes and refresh tokens to it are what protect it. A confidential client must authenticate.
   */
  async #publicClient(clientId: string): Promise<ClientRecord> {
    const client = await this.#deps.clients.find(clientId);
    if (client?.tokenEndpointAuthMethod !== 'none') {
      this.#deps.logger.warn(
        { event: 'client_authentication_failed', client_id: clientId.slice(0, 128), method: 'none' },
        'OAuth client authentication failed',
      );
      throw new InvalidClient(
        client ? 'this client must authenticate (client_secret_basic or client_secret_post)' : undefined,
      );
    }
    return client;
  }

  /**
   * POST /oauth/introspect (RFC 7662). Any authenticated client may introspect (a JWT's claims are
   * readable by whoever holds it anyway); `{active:false}` for anything that is not valid here now.
   */
  async introspect(
    token: string | undefined,
    readCredentials: () => PresentedClientCredentials,
    ip: string,
  ): Promise<IntrospectionResponse> {
    await this.#deps.limits.perIp('introspect', ip);
    await this.authenticateClient(readCredentials(), ip);
    if (token === undefined) throw new InvalidRequest('missing required parameter "token"');
    let claims: AccessTokenClaims;
    try {
      claims = await this.#deps.verifier.verify(token);
    } catch (error) {
      if (error instanceof InvalidTokenError) return { active: false };
      throw error;
    }
    // A service token dies with its client: deletion shows here at once.
    if (!isUserToken(claims) && !(await this.#deps.clients.exists(claims.client_id)))
      return { active: false };
    return {
      active: true,
      scope: claims.scope ?? '',
      client_id: claims.client_id,
      sub: claims.sub,
      aud: claims.aud,
      iss: claims.iss,
      exp: claims.exp,
      iat: claims.iat,
      jti: claims.jti,
      token_type: 'Bearer',
      ...(claims.org_id !== undefined ? { org_id: claims.org_id } : {}),
    };
  }

  /**
   * POST /oauth/revoke (RFC 7009). A client revokes tokens issued to it; a token that is malformed,
   * expired, not ours or already revoked needs nothing and gets the same 200. The revocation is
   * recorded in the database (every auth-api instance polls it) and published on the bus (chat-api).
   */
  async revoke(
    token: string | undefined,
    readCredentials: () => PresentedClientCredentials,
    ip: string,
    who: {
      sentAuthorization: boolean;
      client_id?: string | undefined;
      client_secret?: string | undefined;
    } = {
      sentAuthorization: true,
    },
  ): Promise<void> {
    const { limits, verifier, revocations, logger } = this.#deps;
    await limits.perIp('revoke', ip);
    // Public clients revoke their own tokens too (RFC 7009 §2.1), naming themselves as at /oauth/token.
    const client =
      !who.sentAuthorization && who.client_secret === undefined && who.client_id !== undefined
        ? await this.#publicClient(who.client_id)
        : await this.authenticateClient(readCredentials(), ip);
    if (token === undefined) throw new InvalidRequest('missing required parameter "token"');
    // A refresh token (opaque, no dots): it ends its grant, and with it the grant's access tokens.
    if (!token.includes('.')) {
      if (await this.#deps.grants.revokeRefreshToken(token, client.clientId))
        logger.info({ event: 'refresh_token_revoked', client_id: client.clientId }, 'refresh token revoked');
      return;
    }
    let claims: AccessTokenClaims;
    try {
      claims = await verifier.verifySignatureAndClaims(token);
    } catch (error) {
      if (error instanceof InvalidTokenError) return;
      throw error;
    }
    if (claims.client_id !== client.clientId)
      throw new InvalidRequest(
        'the token was not issued to this client; a client revokes only its own tokens',
      );
    await revocations.revokeToken(claims.jti, claims.exp, isUserToken(claims) ? claims.sub : null);

    logger.info(
      { event: 'token_revoked', client_id: client.clientId, jti: claims.jti, exp: claims.exp },
      'access token revoked',
    );
  }
}
