import type { Logger } from 'pino';
import { type Dispatcher, request } from 'undici';
import { AuthApiUnavailableError, type ServiceTokenManager } from './token-manager.ts';

export interface AuthApiResponse {
  status: number;
  body: unknown;
}

export interface AuthApiClientOptions {
  baseUrl: string;
  dispatcher: Dispatcher;
  tokens: ServiceTokenManager;
  logger: Logger;
  timeoutMs: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  now?: () => number;
  /** Called once per HTTP exchange with auth-api (metrics). */
  onExchange?: (endpoint: string, outcome: string) => void;
}

/**
 * Calls auth-api's APIs as the chat-api service: attaches the client-credentials token, and on a 401
 * gets one new token and retries once (the token may have been revoked, or its key rotated away).
 *
 * After a transport failure or a 5xx, further calls fail fast for a short, growing backoff instead of
 * each waiting for its own timeout: while auth-api is down the callers that need it answer 503 at
 * once, and those with cached answers do not notice at all.
 */
export class AuthApiClient {
  readonly #options: AuthApiClientOptions;
  readonly #now: () => number;
  #failures = 0;
  #downUntil = 0;

  constructor(options: AuthApiClientOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** GET `path` (starting with `/`) as the service. Resolves with 2xx and 404; everything else throws. */
  async get(path: string, endpoint: string): Promise<AuthApiResponse> {
    const now = this.#now();
    if (now < this.#downUntil) {
      throw new AuthApiUnavailableError('auth-api is unavailable (backing off)', this.#downUntil - now);
    }
    const tokens = this.#options.tokens;
    let token = await tokens.getToken();
    let response = await this.#send(path, token, endpoint);
    if (response.status === 401) {
      this.#options.logger.warn(
        { event: 'service_token_rejected', endpoint },
        'auth-api rejected the service token; refreshing once',
      );
      token = await tokens.refreshAfterRejection(token);
      response = await this.#send(path, token, endpoint);
    }
    if (response.status === 401 || response.status === 403) {
      // Our credentials or scopes are wrong: an operator must act. Users get 503, not 401/403:
      // it is not their fault.
      this.#options.logger.error(
        { event: 'auth_api_refused_service', endpoint, status: response.status, body: response.body },
        'auth-api refused the chat-api service token',
      );
      throw new AuthApiUnavailableError(`auth-api refused the service token (${response.status})`, 5_000);
    }
    if (response.status >= 500) {
      throw this.#markDown(new Error(`auth-api answered ${response.status}`));
    }
    this.#failures = 0;
    this.#downUntil = 0;
    return response;
  }

  async #send(path: string, token: string, endpoint: string): Promise<AuthApiResponse> {
    const timeout = this.#options.timeoutMs;
    try {
      const response = await request(`${this.#options.baseUrl}${path}`, {
        method: 'GET',
        dispatcher: this.#options.dispatcher,
        headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
        headersTimeout: timeout,
        bodyTimeout: timeout,
      });
      const text = await response.body.text();
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = undefined;
      }
      this.#options.onExchange?.(endpoint, String(response.statusCode));
      return { status: response.statusCode, body };
    } catch (error) {
      this.#options.onExchange?.(endpoint, 'error');
      throw this.#markDown(error);
    }
  }

  #markDown(cause: unknown): AuthApiUnavailableError {
    this.#failures += 1;
    const min = this.#options.minBackoffMs ?? 100;
    const max = this.#options.maxBackoffMs ?? 2_000;
    const delay = Math.min(max, min * 2 ** (this.#failures - 1));
    this.#downUntil = this.#now() + delay;
    this.#options.logger.warn(
      { event: 'auth_api_unavailable', error: (cause as Error)?.message, retry_in_ms: delay },
      'auth-api unavailable',
    );
    return new AuthApiUnavailableError(
      `auth-api unavailable: ${(cause as Error)?.message ?? 'unknown'}`,
      delay,
      { cause },
    );
  }
}
