import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { uuidv7 } from '@groupchat/service-kit';
import type { Logger } from 'pino';
import { InvalidGrant } from '../oauth/errors.ts';
import type { RevocationService } from '../tokens/revocations.ts';
import type { ConsentRecord, GrantRecord, GrantRepository } from './repository.ts';

export type { ConsentRecord, GrantRecord };

/** SHA-256, base64url: how codes and refresh tokens are stored and found (never the values). */
export function hashSecretValue(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}

/** RFC 7636 §4.1: 43 to 128 unreserved characters. */
const CODE_VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;
/** Codes and refresh tokens: 256 random bits, base64url (43 characters). */
const OPAQUE_VALUE = /^[A-Za-z0-9_-]{43}$/;

export interface GrantServiceOptions {
  repository: GrantRepository;
  revocations: RevocationService;
  logger: Logger;
  codeTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  /** Access tokens of a revoked grant die through its `sid`; none outlives this many seconds. */
  accessTokenTtlSeconds: number;
  now?: () => number;
}

/**
 * Grants: what a user let an app do, and the family of credentials that came from it (RFC 9700
 * §4.14.2). One grant per completed authorization; its authorization code is good once for 60 s, its
 * refresh tokens rotate on every use, and every access token minted from it carries its id as `sid`,
 * so revoking the grant (code replay, refresh-token reuse, logout, revocation, the user disconnecting
 * the app) kills the whole family everywhere, through the same revocation list as sessions.
 */
export class GrantService {
  readonly #repository: GrantRepository;
  readonly #revocations: RevocationService;
  readonly #logger: Logger;
  readonly #options: GrantServiceOptions;
  readonly #now: () => number;

  constructor(options: GrantServiceOptions) {
    this.#repository = options.repository;
    this.#revocations = options.revocations;
    this.#logger = options.logger;
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  get refreshTokenTtlSeconds(): number {
    return this.#options.refreshTokenTtlSeconds;
  }

  // ---------------------------------------------------------------- consent

  /** Whether the user already agreed to every one of `scopes` for this app. */
  async consentCovers(userId: string, clientId: string, scopes: readonly string[]): Promise<boolean> {
    const agreed = await this.#repository.findConsent(userId, clientId);
    return agreed !== undefined && scopes.every((scope) => agreed.includes(scope));
  }

  rememberConsent(userId: string, clientId: string, scopes: string[]): Promise<void> {
    return this.#repository.addConsent(userId, clientId, scopes, new Date(this.#now()));
  }

  listConsents(userId: string): Promise<ConsentRecord[]> {
    return this.#repository.listConsents(userId);
  }

  /**
   * The user disconnects an app: the consent is forgotten, and every grant of the user to that app
   * ends now (refresh tokens refused at once, access tokens within the revocation delay). False when
   * there was neither a consent nor a live grant.
   */
  async disconnect(userId: string, clientId: string): Promise<boolean> {
    const hadConsent = await this.#repository.deleteConsent(userId, clientId);
    const revoked = await this.#revoke({ userId, clientId }, 'app_disconnected');
    return hadConsent || revoked > 0;
  }

  // ---------------------------------------------------------------- authorization code

  /** A grant and its single-use code (returned once; only its hash is stored). */
  async issueCode(input: {
    userId: string;
    clientId: string;
    sessionId: string | null;
    scopes: string[];
    authTime: Date;
    redirectUri: string;
    codeChallenge: string;
    nonce: string | null;
  }): Promise<string> {
    const code = randomBytes(32).toString('base64url');
    const nowMs = this.#now();
    await this.#repository.insertGrantWithCode(
      {
        id: uuidv7(),
        userId: input.userId,
        clientId: input.clientId,
        sessionId: input.sessionId,
        scopes: input.scopes,
        authTime: input.authTime,
        createdAt: new Date(nowMs),
      },
      {
        hash: hashSecretValue(code),
        redirectUri: input.redirectUri,
        codeChallenge: input.codeChallenge,
        nonce: input.nonce,
        expiresAt: new Date(nowMs + this.#options.codeTtlSeconds * 1000),
      },
    );
    return code;
  }

  /**
   * RFC 6749 §4.1.3 and RFC 7636 §4.6: the code must be ours, unexpired, unused, issued to this
   * client for this redirect_uri, and the verifier must hash to its challenge. A second use of a code
   * revokes everything the first use issued (RFC 6749 §4.1.2, RFC 9700 §4.2.4). Every failure is the
   * same invalid_grant, so a caller learns nothing about other clients' codes.
   */
  async redeemCode(input: {
    code: string | undefined;
    clientId: string;
    redirectUri: string | undefined;
    codeVerifier: string | undefined;
  }): Promise<{ grant: GrantRecord; nonce: string | null }> {
    if (input.code === undefined || input.code === '')
      throw new InvalidGrant('missing required parameter "code"');
    if (!OPAQUE_VALUE.test(input.code)) throw new InvalidGrant('the authorization code is invalid');
    const hash = hashSecretValue(input.code);
    const found = await this.#repository.findCode(hash);
    if (!found || found.clientId !== input.clientId)
      throw new InvalidGrant('the authorization code is invalid, expired or was issued to another client');
    if (found.consumedAt !== null) {
      await this.#revoke({ grantId: found.grant.id }, 'authorization_code_replayed');
      throw new InvalidGrant('the authorization code was already used; what it issued is revoked');
    }
    if (found.grant.revokedAt !== null || found.expiresAt.getTime() <= this.#now())
      throw new InvalidGrant('the authorization code is invalid, expired or was issued to another client');
    if (input.redirectUri !== found.redirectUri)
      throw new InvalidGrant('redirect_uri must be the one of the authorization request');
    if (!verifierMatches(input.codeVerifier, found.codeChallenge))
      throw new InvalidGrant('PKCE verification failed: code_verifier does not match the code_challenge');
    if (!(await this.#repository.consumeCode(hash, new Date(this.#now())))) {
      // Lost a race against another use of the same code: that is a replay too.
      await this.#revoke({ grantId: found.grant.id }, 'authorization_code_replayed');
      throw new InvalidGrant('the authorization code was already used; what it issued is revoked');
    }
    return { grant: found.grant, nonce: found.nonce };
  }

  // ---------------------------------------------------------------- refresh tokens

  /** The grant's first refresh token (after a code exchange). */
  async issueRefreshToken(grantId: string): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    const nowMs = this.#now();
    await this.#repository.insertRefreshToken({
      hash: hashSecretValue(token),
      grantId,
      now: new Date(nowMs),
      expiresAt: new Date(nowMs + this.#options.refreshTokenTtlSeconds * 1000),
    });
    return token;
  }

  /**
   * RFC 6749 §6 with rotation (RFC 9700 §4.14.2): the presented token is spent and a new one returned.
   * A token presented a second time means two parties hold it: the whole family is revoked.
   */
  async rotate(
    token: string | undefined,
    clientId: string,
  ): Promise<{ grant: GrantRecord; refreshToken: string }> {
    if (token === undefined || token === '')
      throw new InvalidGrant('missing required parameter "refresh_token"');
    if (!OPAQUE_VALUE.test(token)) throw new InvalidGrant('the refresh token is invalid');
    const hash = hashSecretValue(token);
    const found = await this.#repository.findRefreshToken(hash);
    const invalid = () => new InvalidGrant('the refresh token is invalid, expired or revoked');
    if (!found || found.grant.clientId !== clientId) throw invalid();
    if (found.usedAt !== null) {
      await this.#revoke({ grantId: found.grant.id }, 'refresh_token_reused');
      throw new InvalidGrant('the refresh token was already used; its whole family is revoked');
    }
    if (found.grant.revokedAt !== null) throw invalid();
    if (found.sessionEnded) {
      await this.#revoke({ grantId: found.grant.id }, 'session_ended');
      throw invalid();
    }
    const nowMs = this.#now();
    if (found.expiresAt.getTime() <= nowMs) throw invalid();
    const next = randomBytes(32).toString('base64url');
    const rotated = await this.#repository.rotateRefreshToken(hash, {
      hash: hashSecretValue(next),
      grantId: found.grant.id,
      now: new Date(nowMs),
      expiresAt: new Date(nowMs + this.#options.refreshTokenTtlSeconds * 1000),
    });
    if (!rotated) {
      await this.#revoke({ grantId: found.grant.id }, 'refresh_token_reused');
      throw new InvalidGrant('the refresh token was already used; its whole family is revoked');
    }
    return { grant: found.grant, refreshToken: next };
  }

  /**
   * RFC 7009 for refresh tokens: a client's own refresh token ends its grant (and so the access tokens
   * of the grant, §2.1). True when `token` was one of this client's refresh tokens.
   */
  async revokeRefreshToken(token: string, clientId: string): Promise<boolean> {
    if (!OPAQUE_VALUE.test(token)) return false;
    const found = await this.#repository.findRefreshToken(hashSecretValue(token));
    if (!found || found.grant.clientId !== clientId) return false;
    await this.#revoke({ grantId: found.grant.id }, 'refresh_token_revoked');
    return true;
  }

  // ---------------------------------------------------------------- ends

  /** A sign-in session ended (logout): the grants authorized in it end too. */
  async endForSession(sessionId: string): Promise<void> {
    await this.#revoke({ sessionId }, 'session_ended');
    // A delegated access token's `sid` is its grant: logging out with one ends that grant.
    await this.#revoke({ grantId: sessionId }, 'session_ended');
  }

  /** Every grant of the user (password reset, removal): nothing an app holds for them works any more. */
  async endForUser(userId: string): Promise<void> {
    await this.#revoke({ userId }, 'user_credentials_changed');
  }

  async deleteExpired(): Promise<void> {
    await this.#repository.deleteExpired(new Date(this.#now()));
  }

  async #revoke(
    where: { grantId?: string; sessionId?: string; userId?: string; clientId?: string },
    reason: string,
  ): Promise<number> {
    if (where.grantId !== undefined && !isUuidLike(where.grantId)) return 0;
    const revoked = await this.#repository.revokeGrants(where, new Date(this.#now()));
    const lastAccessTokenExp = Math.ceil(this.#now() / 1000) + this.#options.accessTokenTtlSeconds + 60;
    for (const grant of revoked) {
      // The grant id is the `sid` of its access tokens: auth-api and chat-api refuse them from now on.
      await this.#revocations.endSession(grant.id, grant.userId, lastAccessTokenExp);
      this.#logger.info({ event: 'oauth_grant_revoked', grant_id: grant.id, reason }, 'OAuth grant revoked');
    }
    return revoked.length;
  }
}

function isUuidLike(value: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
}

/** RFC 7636 §4.6: BASE64URL(SHA256(ASCII(code_verifier))) == code_challenge, compared in constant time. */
export function verifierMatches(verifier: string | undefined, challenge: string): boolean {
  if (verifier === undefined || !CODE_VERIFIER.test(verifier)) return false;
  const computed = Buffer.from(createHash('sha256').update(verifier, 'ascii').digest('base64url'));
  const expected = Buffer.from(challenge);
  return computed.length === expected.length && timingSafeEqual(computed, expected);
}
