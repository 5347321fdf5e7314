import { type GrantType, TokenResponse } from '@groupchat/contract';
import type { Logger } from 'pino';
import { Compile } from 'typebox/compile';
import { type Dispatcher, request } from 'undici';

/**
 * auth-api cannot be used right now (down, timing out, answering 5xx, or refusing our credentials).
 * Callers turn it into 503: it is never the user's fault.
 */
export class AuthApiUnavailableError extends Error {
  readonly retryAfterMs: number;
  constructor(message: string, retryAfterMs = 1_000, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AuthApiUnavailableError';
    this.retryAfterMs = retryAfterMs;
  }
}

export interface ServiceTokenManagerOptions {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  /** Space-separated scopes to ask for; empty asks for all the client is allowed. */
  scope: string;
  dispatcher: Dispatcher;
  logger: Logger;
  timeoutMs?: number;
  /**
   * Refresh once this fraction of the token's usable life (its lifetime less the safety margin) has passed
   * (default 0.8: about 12 min into a 15 min token, 18 s into a 30 s one).
   */
  refreshAtFraction?: number;
  /** A token this close to its expiry is not handed out any more (clock skew, request latency). */
  expirySafetyMs?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  now?: () => number;
  random?: () => number;
}

interface CachedToken {
  value: string;
  refreshAt: number;
  unusableAt: number;
}

/**
 * Client-credentials tokens (RFC 6749 §4.4, client_secret_basic) for calling auth-api as ourselves.
 *
 * - Cached, and refreshed in the background once `refreshAtFraction` of its life has passed, so
 *   callers almost never wait for the token endpoint.
 * - One request in flight at a time: every caller that needs a token while one is being fetched
 *   awaits the same promise (no stampede when a thousand requests arrive on a cold start).
 * - After a failure, no new attempt before an exponential, jittered backoff: a down auth-api is
 *   not hammered, and callers without a usable token fail fast instead of piling up.
 */
export class ServiceTokenManager {
  readonly #options: ServiceTokenManagerOptions;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #authorization: string;
  readonly #logger: Logger;
  #token: CachedToken | null = null;
  #inFlight: Promise<string> | null = null;
  #failures = 0;
  #retryAt = 0;
  #requests = 0;

  constructor(options: ServiceTokenManagerOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#logger = options.logger;
    // RFC 6749 §2.3.1: id and secret are form-urlencoded before being joined for HTTP Basic.
    const credentials = `${formEncode(options.clientId)}:${formEncode(options.clientSecret)}`;
    this.#authorization = `Basic ${Buffer.from(credentials).toString('base64')}`;
    this.#logger.info(
      {
        event: 'service_token_manager_initialized',
        client_id: options.clientId,
        token_url: options.tokenUrl,
        scope: options.scope,
      },
      'service token manager initialized',
    );
  }

  /** Number of requests sent to the token endpoint (for metrics and tests). */
  get requestCount(): number {
    return this.#requests;
  }

  /** True when a token is cached and still usable; /ready uses it without forcing a request. */
  get hasUsableToken(): boolean {
    return this.#token !== null && this.#now() < this.#token.unusableAt;
  }

  /** A usable access token: the cached one, or a fresh one fetched by at most one request. */
  async getToken(): Promise<string> {
    const now = this.#now();
    const cached = this.#token;
    if (cached && now < cached.unusableAt) {
      // Past its refresh point: keep serving it while one background request replaces it.
      if (now >= cached.refreshAt && !this.#inFlight && now >= this.#retryAt) {
        this.#fetch().catch(() => {
          // Logged in #fetch; the cached token is still valid, the next caller retries after backoff.
        });
      }
      return cached.value;
    }
    if (this.#inFlight) return this.#inFlight;
    if (now < this.#retryAt) {
      throw new AuthApiUnavailableError(
        'service token unavailable: auth-api is failing, backing off',
        this.#retryAt - now,
      );
    }
    return this.#fetch();
  }

  /**
   * auth-api answered 401 to `rejected`: it was revoked, or signed with a key rotated away. Forget it
   * and get another (shared with concurrent callers that saw the same 401). A newer token already
   * cached is returned as is.
   */
  async refreshAfterRejection(rejected: string): Promise<string> {
    if (this.#token?.value === rejected) this.#token = null;
    if (this.#inFlight) return this.#inFlight;
    if (this.#token) return this.#token.value;
    const now = this.#now();
    if (now < this.#retryAt) {
      throw new AuthApiUnavailableError(
        'service token unavailable: auth-api is failing, backing off',
        this.#retryAt - now,
      );
    }
    return this.#fetch();
  }

  #fetch(): Promise<string> {
    const promise = this.#request().finally(() => {
      if (this.#inFlight === promise) this.#inFlight = null;
    });
    this.#inFlight = promise;
    return promise;
  }

  async #request(): Promise<string> {
    this.#requests += 1;
    const body = new URLSearchParams({ grant_type: 'client_credentials' satisfies GrantType });
    if (this.#options.scope) body.set('scope', this.#options.scope);
    const timeout = this.#options.timeoutMs ?? 5_000;
    let status: number;
    let payload: unknown;
    try {
      const response = await request(this.#options.tokenUrl, {
        method: 'POST',
        dispatcher: this.#options.dispatcher,
        headers: {
          authorization: this.#authorization,
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: body.toString(),
        headersTimeout: timeout,
        bodyTimeout: timeout,
      });
      status = response.statusCode;
      const text = await response.body.text();
      try {
        payload = JSON.parse(text);
      } catch {
        payload = undefined;
      }
    } catch (error) {
      throw this.#failed(`token endpoint unreachable: ${(error as Error).message}`, error);
    }
    this.#logger.info({ event: 'oauth_token_response_received', status }, 'oauth token response received');
    if (status !== 200) {
      const { error, error_description } = (payload ?? {}) as {
        error?: unknown;
        error_description?: unknown;
      };
      // invalid_client / invalid_scope are configuration mistakes: shout, but keep the backoff so the
      // fix (a corrected client in auth-api) is picked up without a restart.
      const level = status >= 500 ? 'warn' : 'error';
      this.#logger[level](
        { event: 'service_token_request_failed', status, error, error_description },
        'service token request refused',
      );
      throw this.#failed(
        `token endpoint answered ${status}${typeof error === 'string' ? ` (${error})` : ''}`,
      );
    }
    const parsed = parseTokenResponse(payload);
    if (!parsed) {
      this.#logger.error(
        { event: 'service_token_request_failed', status },
        'token endpoint answered 200 without a usable token',
      );
      throw this.#failed('token endpoint answered 200 without a usable token');
    }
    const now = this.#now();
    const lifetimeMs = parsed.expiresIn * 1000;
    const safety = Math.min(this.#options.expirySafetyMs ?? 10_000, lifetimeMs / 4);
    // The refresh point is taken from the usable life, so it always comes before the token stops being
    // handed out: 80 % of the whole lifetime falls after that for tokens under 50 s, and callers would
    // then wait for the token endpoint at every expiry instead of a background refresh.
    const usableMs = lifetimeMs - safety;
    this.#token = {
      value: parsed.accessToken,
      refreshAt: now + usableMs * (this.#options.refreshAtFraction ?? 0.8),
      unusableAt: now + usableMs,
    };
    this.#failures = 0;
    this.#retryAt = 0;
    this.#logger.info(
      { event: 'service_token_acquired', expires_in_seconds: parsed.expiresIn, scope: parsed.scope },
      'service token acquired',
    );
    return parsed.accessToken;
  }

  #failed(message: string, cause?: unknown): AuthApiUnavailableError {
    this.#failures += 1;
    const min = this.#options.minBackoffMs ?? 250;
    const max = this.#options.maxBackoffMs ?? 10_000;
    const base = Math.min(max, min * 2 ** (this.#failures - 1));
    // Full jitter on the upper half: instances restarted together do not retry in lockstep.
    const delay = Math.round(base / 2 + (this.#random() * base) / 2);
    this.#retryAt = this.#now() + delay;
    return new AuthApiUnavailableError(message, delay, { cause });
  }
}

function formEncode(value: string): string {
  return encodeURIComponent(value).replace(/%20/g, '+');
}

// auth-api's token response, as the contract defines it; anything else is not a usable token.
const validTokenResponse = Compile(TokenResponse);

function parseTokenResponse(
  payload: unknown,
): { accessToken: string; expiresIn: number; scope: string } | null {
  if (!validTokenResponse.Check(payload)) return null;
  return { accessToken: payload.access_token, expiresIn: payload.expires_in, scope: payload.scope };
}
