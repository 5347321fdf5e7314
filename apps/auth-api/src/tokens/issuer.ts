import { sign } from 'node:crypto';
import { uuidv7 } from '@groupchat/service-kit';
import type { KeyService } from '../keys/service.ts';
import { SIGNING_ALG } from '../keys/service.ts';
import type { AccessTokenClaims } from './claims.ts';

export interface IssuedToken {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  claims: AccessTokenClaims;
}

/**
 * Mints RFC 9068 JWT access tokens. Signing is a direct node:crypto ECDSA call on a cached KeyObject:
 * it is the hot path of the token endpoint, and JWS compact serialisation is three base64url strings.
 * Verification, where mistakes are security bugs, goes through jose (see verifier.ts).
 */
export class TokenIssuer {
  readonly #keys: KeyService;
  readonly #issuer: string;
  readonly #ttlSeconds: number;
  readonly #now: () => number;
  readonly #userClientId: string;

  constructor(options: {
    keys: KeyService;
    issuer: string;
    ttlSeconds: number;
    userClientId?: string;
    now?: () => number;
  }) {
    this.#keys = options.keys;
    this.#issuer = options.issuer;
    this.#ttlSeconds = options.ttlSeconds;
    this.#now = options.now ?? Date.now;
    this.#userClientId = options.userClientId ?? 'groupchat-web';
  }

  get ttlSeconds(): number {
    return this.#ttlSeconds;
  }

  issueUserToken(user: { id: string; orgId: string }, sessionId: string, scopes: string[]): IssuedToken {
    return this.#issue({
      sub: user.id,
      aud: ['auth-api', 'chat-api'],
      client_id: this.#userClientId,
      scope: scopes.join(' '),
      org_id: user.orgId,
      sid: sessionId,
    });
  }

  issueServiceToken(clientId: string, scopes: string[], audience: string): IssuedToken {
    return this.#issue({ sub: clientId, aud: audience, client_id: clientId, scope: scopes.join(' ') });
  }

  #issue(partial: Omit<AccessTokenClaims, 'iss' | 'exp' | 'iat' | 'jti'>): IssuedToken {
    const { kid, privateKey } = this.#keys.signingKey();
    const iat = Math.floor(this.#now() / 1000);
    const claims: AccessTokenClaims = {
      iss: this.#issuer,
      ...partial,
      iat,
      exp: iat + this.#ttlSeconds,
      jti: uuidv7(),
    };
    const header = Buffer.from(JSON.stringify({ alg: SIGNING_ALG, typ: 'at+jwt', kid })).toString(
      'base64url',
    );
    const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
    const signingInput = `${header}.${payload}`;
    const signature = sign('sha256', Buffer.from(signingInput), {
      key: privateKey,
      dsaEncoding: 'ieee-p1363',
    });
    return {
      access_token: `${signingInput}.${signature.toString('base64url')}`,
      token_type: 'Bearer',
      expires_in: this.#ttlSeconds,
      claims,
    };
  }
}
