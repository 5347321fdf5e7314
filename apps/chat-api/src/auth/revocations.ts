import { Channels, RevocationEventSchema } from '@groupchat/contract';
import type { EventBus } from '@groupchat/service-kit';
import type { Logger } from 'pino';
import { Compile } from 'typebox/compile';

const validEvent = Compile(RevocationEventSchema);

export type Revoked =
  | { jti: string; sid?: undefined }
  | { sid: string; jti?: undefined; userId: string | null };

/**
 * Tokens (by `jti`) and sessions (by `sid`) that auth-api declared dead before their expiry, as heard
 * on the bus. Each entry is kept until the moment the token(s) would have expired anyway, after
 * which signature and `exp` checks refuse them on their own.
 *
 * What was published while this instance was not running (or the bus was down) arrives through
 * auth-api's change feed (change-feed.ts), in the same shapes, within one poll.
 */
export class RevokedTokens {
  readonly #bus: EventBus;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #tokens = new Map<string, number>();
  readonly #sessions = new Map<string, number>();
  /** user id → tokens issued at or before this moment (ms) are dead (user removed). */
  readonly #users = new Map<string, number>();
  /** client id → the same for the client's tokens (client deleted, or its secret rotated without grace). */
  readonly #clients = new Map<string, number>();
  /** Signing keys taken out: nothing they signed is accepted any more. */
  readonly #keys = new Set<string>();
  readonly #listeners = new Set<(revoked: Revoked) => void>();
  #unsubscribe: (() => void) | null = null;
  #timer: NodeJS.Timeout | null = null;

  constructor(options: { bus: EventBus; logger: Logger; now?: () => number }) {
    this.#bus = options.bus;
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
  }

  async start(): Promise<void> {
    this.#unsubscribe = await this.#bus.subscribe(Channels.revocations, (payload) => this.apply(payload));
    this.#timer = setInterval(() => this.purge(), 60_000);
    this.#timer.unref();
  }

  stop(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    if (this.#timer) clearInterval(this.#timer);
  }

  get size(): number {
    return this.#tokens.size + this.#sessions.size;
  }

  isRevoked(jti: string, sid: string | null): boolean {
    return this.#tokens.has(jti) || (sid !== null && this.#sessions.has(sid));
  }

  /** Every reason a token may be dead before its expiry: itself, its session, its user, client or key. */
  isTokenDead(token: {
    tokenId: string;
    sessionId: string | null;
    userId: string;
    clientId: string | null;
    issuedAt: number;
    keyId: string;
  }): boolean {
    if (this.isRevoked(token.tokenId, token.sessionId)) return true;
    if (this.#keys.has(token.keyId)) return true;
    const userCutoff = this.#users.get(token.userId);
    if (userCutoff !== undefined && token.issuedAt <= userCutoff) return true;
    const clientCutoff = token.clientId === null ? undefined : this.#clients.get(token.clientId);
    return clientCutoff !== undefined && token.issuedAt <= clientCutoff;
  }

  onRevoked(listener: (revoked: Revoked) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Applies one bus payload (public for tests and for a future replay feed). */
  apply(payload: unknown): void {
    if (validEvent.Check(payload)) {
      const expMs = payload.exp * 1000;
      if (payload.type === 'token_revoked') {
        this.#tokens.set(payload.jti, expMs);
        this.#emit({ jti: payload.jti });
      } else {
        this.#sessions.set(payload.sid, expMs);
        this.#emit({ sid: payload.sid, userId: payload.user_id });
      }
      return;
    }
    // Change-feed only events (auth-api's change feed, same JSON conventions).
    if (!payload || typeof payload !== 'object') return;
    const event = payload as Record<string, unknown>;
    if (event.type === 'user_removed' && typeof event.user_id === 'string' && typeof event.at === 'number') {
      this.#users.set(event.user_id, Math.max(this.#users.get(event.user_id) ?? 0, event.at * 1000 + 999));
    } else if (
      event.type === 'client_revoked' &&
      typeof event.client_id === 'string' &&
      typeof event.at === 'number'
    ) {
      this.#clients.set(
        event.client_id,
        Math.max(this.#clients.get(event.client_id) ?? 0, event.at * 1000 + 999),
      );
    } else if (event.type === 'key_removed' && typeof event.kid === 'string') {
      this.#keys.add(event.kid);
    }
  }

  purge(): void {
    const now = this.#now();
    for (const map of [this.#tokens, this.#sessions]) {
      for (const [id, expiresAt] of map) if (expiresAt <= now) map.delete(id);
    }
  }

  #emit(revoked: Revoked): void {
    for (const listener of this.#listeners) {
      try {
        listener(revoked);
      } catch (error) {
        this.#logger.error({ err: error, event: 'revocation_listener_failed' }, 'revocation listener failed');
      }
    }
  }
}
