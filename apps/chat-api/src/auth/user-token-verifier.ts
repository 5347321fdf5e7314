import { isUuid } from '@groupchat/service-kit';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  errors,
  type FetchImplementation,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';
import type { Logger } from 'pino';
import { type Dispatcher, fetch as undiciFetch } from 'undici';
import type { RevokedTokens } from './revocations.ts';

/** The person behind a request, from a verified user access token. */
export interface ChatUser {
  userId: string;
  orgId: string;
  /** The auth-api login session the token was minted for (`sid`); ending it kills the token. */
  sessionId: string | null;
  /** `jti`: revocation of this very token. */
  tokenId: string;
  /** `client_id` (the app the user signed in to), null when absent. */
  clientId: string | null;
  /** `iat` in ms: tokens of a removed user or revoked client issued up to then are dead. */
  issuedAt: number;
  /** The signing key (`kid`): a key taken out signs nothing still accepted. */
  keyId: string;
  /** `exp` in milliseconds. */
  expiresAt: number;
  /**
   * The token's `scope`: what the app holding it may do for the user (RFC 9068 §2.2.3). The platform's
   * own web tokens carry every user scope; a third-party app's only those it was granted. Routes check
   * it (plugin.ts requireScope) on top of the user's own rights (membership).
   */
  scopes: ReadonlySet<string>;
}

/** The token is not acceptable here: 401 with `error="invalid_token"`. */
export class TokenRejectedError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TokenRejectedError';
  }
}

/** auth-api's keys were never fetched and cannot be fetched now: 503, not the caller's fault. */
export class SigningKeysUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SigningKeysUnavailableError';
  }
}

export interface UserTokenVerifierOptions {
  jwksUrl: string;
  issuer: string;
  audience: string;
  clockToleranceSeconds: number;
  dispatcher: Dispatcher;
  revocations: RevokedTokens;
  logger: Logger;
  timeoutMs: number;
  /** jose maxTokenAge: a token whose `iat` is older is refused (auth-api's TTL plus skew). */
  maxTokenAgeSeconds?: number;
  /** A kid not in the cached JWKS triggers a refetch at most this often (jose's cooldown). */
  cooldownMs?: number;
  /** The cached JWKS is refetched once this old (on the next verification). */
  cacheMaxAgeMs?: number;
  now?: () => number;
}

// Asymmetric only: an HS* token "signed" with the public key as an HMAC secret is never accepted.
const ALGORITHMS = [
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
  'PS256',
  'PS384',
  'PS512',
  'RS256',
  'RS384',
  'RS512',
];
const MAX_TOKEN_LENGTH = 8 * 1024;
const MAX_CACHED_TOKENS = 50_000;

/**
 * Verifies RFC 9068 user access tokens locally against auth-api's JWKS: no call per request.
 *
 * The JWKS is fetched once, cached (jose), refetched when a token names a kid we do not know (key
 * rotation: auth-api publishes new keys ahead of use), and refreshed when old. If auth-api is down
 * when a refresh is due, the keys we already have keep verifying: a key does not become wrong because
 * its publisher is unreachable.
 */
export class UserTokenVerifier {
  readonly #options: UserTokenVerifierOptions;
  readonly #now: () => number;
  readonly #remote: ReturnType<typeof createRemoteJWKSet>;
  #fetchFailedAt = 0;
  #staleKeys: JWTVerifyGetKey | null = null;
  #fetches = 0;
  /**
   * Tokens that verified, by their exact bytes, until they expire: a user sending a burst of messages
   * pays for one ECDSA verification, not one per request. Revocation is still checked on every use.
   */
  readonly #verified = new Map<string, ChatUser>();

  constructor(options: UserTokenVerifierOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    const fetchJwks: FetchImplementation = async (url, init) => {
      this.#fetches += 1;
      try {
        const response = await undiciFetch(url, { ...init, dispatcher: options.dispatcher } as Parameters<
          typeof undiciFetch
        >[1]);
        if (response.status === 200) {
          this.#fetchFailedAt = 0;
          this.#staleKeys = null;
        } else this.#fetchFailedAt = this.#now();
        return response as unknown as Response;
      } catch (error) {
        this.#fetchFailedAt = this.#now();
        throw error;
      }
    };
    this.#remote = createRemoteJWKSet(new URL(options.jwksUrl), {
      timeoutDuration: options.timeoutMs,
      cooldownDuration: options.cooldownMs ?? 30_000,
      cacheMaxAge: options.cacheMaxAgeMs ?? 10 * 60_000,
      [customFetch]: fetchJwks,
    });
  }

  /** JWKS requests made so far (tests and metrics). */
  get jwksFetches(): number {
    return this.#fetches;
  }

  /** Fetches the JWKS now (a key was taken out: its replacement signs already). */
  async reloadKeys(): Promise<void> {
    this.#verified.clear();
    await this.#remote.reload();
  }

  /** For /ready: the keys are cached, or can be fetched now. */
  async checkKeys(): Promise<void> {
    if (this.#remote.jwks() && this.#remote.fresh) return;
    await this.#remote.reload();
  }

  async verify(token: string): Promise<ChatUser> {
    if (token.length > MAX_TOKEN_LENGTH) throw new TokenRejectedError('token too long');
    const cached = this.#verified.get(token);
    if (cached) {
      if (cached.expiresAt > this.#now()) {
        if (this.#options.revocations.isTokenDead(cached)) throw new TokenRejectedError('token revoked');
        return cached;
      }
      this.#verified.delete(token);
    }
    const principal = await this.#verifyUncached(token);
    if (this.#verified.size >= MAX_CACHED_TOKENS) this.#verified.clear();
    this.#verified.set(token, principal);
    return principal;
  }

  async #verifyUncached(token: string): Promise<ChatUser> {
    let payload: Record<string, unknown>;
    let kid: unknown;
    try {
      let protectedHeader: { kid?: unknown };
      ({ payload, protectedHeader } = await jwtVerify(token, this.#getKey, {
        issuer: this.#options.issuer,
        audience: this.#options.audience,
        typ: 'at+jwt',
        algorithms: ALGORITHMS,
        clockTolerance: this.#options.clockToleranceSeconds,
        requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat', 'jti'],
        // No token older than auth-api's longest lifetime (plus skew), whatever its `exp` says.
        maxTokenAge: `${this.#options.maxTokenAgeSeconds ?? 960}s`,
        currentDate: new Date(this.#now()),
      }));
      kid = protectedHeader.kid;
    } catch (error) {
      if (error instanceof SigningKeysUnavailableError) throw error;
      throw new TokenRejectedError(describe(error), { cause: error });
    }
    const { sub, org_id: orgId, jti, sid, exp, iat, client_id: clientId, scope } = payload;
    // A client-credentials token (sub = client_id, no org_id) authenticates a service, not a person;
    // chat-api's APIs are for people.
    if (typeof orgId !== 'string' || (typeof clientId === 'string' && clientId === sub)) {
      throw new TokenRejectedError('not a user access token');
    }
    // Ids end up in uuid columns and in bus payloads: anything else is not one of auth-api's tokens.
    if (!isUuid(sub) || !isUuid(orgId)) throw new TokenRejectedError('malformed subject or organization');
    if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256)
      throw new TokenRejectedError('malformed jti');
    if (sid !== undefined && typeof sid !== 'string') throw new TokenRejectedError('malformed sid');
    const sessionId = typeof sid === 'string' ? sid : null;
    // RFC 9068 §2.2.3: a space-separated string. Absent, the token grants nothing here.
    if (scope !== undefined && (typeof scope !== 'string' || scope.length > 1024))
      throw new TokenRejectedError('malformed scope');
    const principal: ChatUser = {
      userId: sub,
      orgId,
      sessionId,
      tokenId: jti,
      clientId: typeof clientId === 'string' ? clientId : null,
      issuedAt: (iat as number) * 1000,
      keyId: typeof kid === 'string' ? kid : '',
      expiresAt: (exp as number) * 1000,
      scopes: new Set(typeof scope === 'string' ? scope.split(' ').filter(Boolean) : []),
    };
    if (this.#options.revocations.isTokenDead(principal)) throw new TokenRejectedError('token revoked');
    return principal;
  }

  readonly #getKey: JWTVerifyGetKey = async (header, token) => {
    // While the JWKS endpoint is failing, use the keys we have rather than wait for another failure
    // on every request.
    if (this.#fetchFailedAt !== 0 && this.#now() - this.#fetchFailedAt < 5_000) {
      const stale = this.#stale();
      if (stale) return stale(header, token);
    }
    try {
      return await this.#remote(header, token);
    } catch (error) {
      if (!isFetchFailure(error)) throw error;
      const stale = this.#stale();
      if (stale) return stale(header, token);
      this.#options.logger.warn(
        { event: 'jwks_unavailable', error: (error as Error).message },
        'auth-api JWKS unavailable',
      );
      throw new SigningKeysUnavailableError("auth-api's signing keys cannot be fetched", { cause: error });
    }
  };

  #stale(): JWTVerifyGetKey | null {
    if (this.#staleKeys) return this.#staleKeys;
    const jwks = this.#remote.jwks();
    if (!jwks) return null;
    this.#staleKeys = createLocalJWKSet(jwks);
    return this.#staleKeys;
  }
}

function isFetchFailure(error: unknown): boolean {
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys)
    return false;
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid) return true;
  // jose reports a non-200 or unparsable JWKS response with the base class; transport errors are not JOSE's.
  return !(error instanceof errors.JOSEError) || (error as errors.JOSEError).code === 'ERR_JOSE_GENERIC';
}

function describe(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'token expired';
  if (error instanceof errors.JWTClaimValidationFailed) return `claim check failed: ${error.claim}`;
  if (error instanceof errors.JOSEAlgNotAllowed) return 'algorithm not allowed';
  if (error instanceof errors.JWKSNoMatchingKey) return 'unknown signing key';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'bad signature';
  return 'malformed token';
}
