import type { RateLimiter } from '@groupchat/service-kit';
import { SlowDown } from './errors.ts';

const WINDOW_SECONDS = 60;

export interface OAuthRateLimitConfig {
  tokenPerClientPerMinute: number;
  tokenPerIpPerMinute: number;
  /** Argon2id client-secret verifications (unknown client, wrong or not yet cached secret) per IP. */
  slowVerificationsPerIpPerMinute: number;
}

/**
 * Rate limits of the OAuth endpoints, on the shared limiter (Redis when configured, so they hold across
 * instances): per IP on every request before any work, per client on issued tokens (after
 * authentication, so nobody can spend another client's quota with a wrong secret), and per IP on the
 * Argon2id path, the one expensive thing an unauthenticated caller can make us do. Refusals are 429
 * `slow_down` with Retry-After.
 */
export class OAuthRateLimits {
  readonly #limiter: RateLimiter;
  readonly #config: OAuthRateLimitConfig;

  constructor(limiter: RateLimiter, config: OAuthRateLimitConfig) {
    this.#limiter = limiter;
    this.#config = config;
  }

  async perIp(endpoint: 'token' | 'introspect' | 'revoke', ip: string): Promise<void> {
    const decision = await this.#limiter.hit(
      `oauth:${endpoint}:ip:${ip}`,
      this.#config.tokenPerIpPerMinute,
      WINDOW_SECONDS,
    );
    if (!decision.allowed)
      throw new SlowDown(decision.retryAfterSeconds, `too many ${endpoint} requests from this address`);
  }

  async perClient(clientId: string): Promise<void> {
    const decision = await this.#limiter.hit(
      `oauth:token:client:${clientId}`,
      this.#config.tokenPerClientPerMinute,
      WINDOW_SECONDS,
    );
    if (!decision.allowed)
      throw new SlowDown(decision.retryAfterSeconds, 'too many token requests for this client');
  }

  /**
   * The token endpoint's two counters (per IP, per client) in one round trip, for a client already
   * authenticated from memory. Refused by IP: throws at once; refused by client: returns the refusal,
   * for the caller to throw after the request's own checks (as `perClient` would have come last).
   */
  async tokenRequest(ip: string, clientId: string): Promise<SlowDown | null> {
    const [byIp, byClient] = await this.#limiter.hitMany([
      { key: `oauth:token:ip:${ip}`, limit: this.#config.tokenPerIpPerMinute, windowSeconds: WINDOW_SECONDS },
      {
        key: `oauth:token:client:${clientId}`,
        limit: this.#config.tokenPerClientPerMinute,
        windowSeconds: WINDOW_SECONDS,
      },
    ]);
    if (!byIp!.allowed)
      throw new SlowDown(byIp!.retryAfterSeconds, 'too many token requests from this address');
    return byClient!.allowed
      ? null
      : new SlowDown(byClient!.retryAfterSeconds, 'too many token requests for this client');
  }

  async slowVerification(ip: string): Promise<void> {
    const decision = await this.#limiter.hit(
      `oauth:client-auth:ip:${ip}`,
      this.#config.slowVerificationsPerIpPerMinute,
      WINDOW_SECONDS,
    );
    if (!decision.allowed)
      throw new SlowDown(
        decision.retryAfterSeconds,
        'too many client authentication attempts from this address',
      );
  }
}
