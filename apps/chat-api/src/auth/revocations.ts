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
 * Known limit: what was published while this instance was not running (or the bus was down) is not
 * known here; auth-api has no feed to replay. Tokens live 15 minutes, which bounds that window.
 */
export class RevocationList {
  readonly #bus: EventBus;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #tokens = new Map<string, number>();
  readonly #sessions = new Map<string, number>();
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

  onRevoked(listener: (revoked: Revoked) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Applies one bus payload (public for tests and for a future replay feed). */
  apply(payload: unknown): void {
    if (!validEvent.Check(payload)) return;
    const expMs = payload.exp * 1000;
    if (payload.type === 'token_revoked') {
      this.#tokens.set(payload.jti, expMs);
      this.#emit({ jti: payload.jti });
    } else {
      this.#sessions.set(payload.sid, expMs);
      this.#emit({ sid: payload.sid, userId: payload.user_id });
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
