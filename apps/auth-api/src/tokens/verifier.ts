import { importJWK, type CryptoKey as JoseKey, type JWTPayload, jwtVerify } from 'jose';
import type { KeyService } from '../keys/service.ts';
import { SIGNING_ALG } from '../keys/service.ts';
import type { AccessTokenClaims } from './claims.ts';
import type { RevocationList } from './revocations.ts';

export class InvalidTokenError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'InvalidTokenError';
  }
}

const MAX_CACHED_TOKENS = 50_000;

/**
 * Verifies our own access tokens: signature with a published key, `typ: at+jwt`, `alg` ES256 only
 * (never `none`), `iss`, `aud`, `exp`; then revocation. A token that verified once is remembered until
 * it expires, keyed by its exact bytes: a service presenting the same token thousands of times pays
 * for one ECDSA verification, while revocation is still checked on every use.
 */
export class TokenVerifier {
  readonly #keys: KeyService;
  readonly #revocations: RevocationList;
  readonly #issuer: string;
  readonly #audience: string | string[];
  readonly #imported = new Map<string, JoseKey>();
  readonly #verified = new Map<string, AccessTokenClaims>();
  readonly #now: () => number;

  constructor(options: {
    keys: KeyService;
    revocations: RevocationList;
    issuer: string;
    /** The resource server(s) this verifier accepts tokens for: `aud` must name one of them. */
    audience: string | readonly string[];
    now?: () => number;
  }) {
    this.#keys = options.keys;
    this.#revocations = options.revocations;
    this.#issuer = options.issuer;
    this.#audience = typeof options.audience === 'string' ? options.audience : [...options.audience];
    this.#now = options.now ?? Date.now;
  }

  /** Verifies signature and claims; does not consult the revocation list. */
  async verifySignatureAndClaims(token: string): Promise<AccessTokenClaims> {
    const nowSeconds = Math.floor(this.#now() / 1000);
    const cached = this.#verified.get(token);
    if (cached) {
      if (cached.exp > nowSeconds) return cached;
      this.#verified.delete(token);
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, (header) => this.#keyFor(header.kid), {
        issuer: this.#issuer,
        audience: this.#audience,
        typ: 'at+jwt',
        algorithms: [SIGNING_ALG],
        requiredClaims: ['sub', 'exp', 'iat', 'jti', 'client_id'],
        currentDate: new Date(this.#now()),
      }));
    } catch (error) {
      throw new InvalidTokenError(describe(error));
    }
    const claims = payload as unknown as AccessTokenClaims;
    if (this.#verified.size >= MAX_CACHED_TOKENS) this.#verified.clear();
    this.#verified.set(token, claims);
    return claims;
  }

  /** A signing key was taken out: forget every verification that may have relied on it. */
  forgetVerified(): void {
    this.#verified.clear();
    this.#imported.clear();
  }

  /** Full check for a resource request: valid and not revoked. */
  async verify(token: string): Promise<AccessTokenClaims> {
    const claims = await this.verifySignatureAndClaims(token);
    if (this.#revocations.isRevokedClaims(claims)) throw new InvalidTokenError('the token has been revoked');
    return claims;
  }

  async #keyFor(kid: string | undefined): Promise<JoseKey> {
    if (!kid) throw new InvalidTokenError('the token names no key (kid)');
    const cached = this.#imported.get(kid);
    // Only while the key is still published: a key taken out (keys revoke) verifies nothing more.
    if (cached && this.#keys.publicKeyFor(kid)) return cached;
    this.#imported.delete(kid);
    let jwk = this.#keys.publicKeyFor(kid);
    if (!jwk) {
      // Another instance may have rotated since we last loaded keys.
      await this.#keys.refreshIfStale();
      jwk = this.#keys.publicKeyFor(kid);
    }
    if (!jwk) throw new InvalidTokenError('the token is signed by an unknown key');
    const key = (await importJWK(jwk, SIGNING_ALG)) as JoseKey;
    this.#imported.set(kid, key);
    return key;
  }
}

function describe(error: unknown): string {
  if (error instanceof InvalidTokenError) return error.message;
  const code = (error as { code?: string })?.code;
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return 'the token has expired';
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'the token signature is invalid';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return `the token claim is invalid: ${(error as Error).message}`;
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'the token algorithm is not allowed';
    default:
      return 'the token is malformed or invalid';
  }
}
