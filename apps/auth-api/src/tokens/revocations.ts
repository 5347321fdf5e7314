import { Channels, type RevocationEvent, RevocationEventSchema } from '@groupchat/contract';
import type { EventBus } from '@groupchat/service-kit';
import type { Logger } from 'pino';
import { Compile } from 'typebox/compile';
import type { RevocationRepository } from './revocation-repository.ts';

const validEvent = Compile(RevocationEventSchema);
const FEED_PAGE = 1000;

/**
 * Which tokens and sessions are dead before their expiry, in memory: what the token verifier asks on
 * every request, so it never costs a storage round trip. Fed by RevocationService.
 */
export class RevocationList {
  readonly #tokens = new Map<string, number>();
  readonly #sessions = new Map<string, number>();
  /** client id / user id → tokens issued up to then (ms) are dead (from the change feed). */
  readonly #clients = new Map<string, number>();
  readonly #users = new Map<string, number>();

  isRevoked(jti: string, sid: string | undefined): boolean {
    return this.#tokens.has(jti) || (sid !== undefined && this.#sessions.has(sid));
  }

  /** Also dead: tokens of a deleted client (or one rotated without grace) and of a removed user, issued before. */
  isRevokedClaims(claims: {
    jti: string;
    sid?: string;
    sub: string;
    client_id: string;
    iat: number;
  }): boolean {
    if (this.isRevoked(claims.jti, claims.sid)) return true;
    const issuedAt = claims.iat * 1000;
    const client = this.#clients.get(claims.client_id);
    if (client !== undefined && issuedAt <= client) return true;
    const user = this.#users.get(claims.sub);
    return user !== undefined && issuedAt <= user;
  }

  /** A revocation event (bus or feed); anything that is not one is ignored. */
  apply(payload: unknown): void {
    if (!validEvent.Check(payload)) return;
    if (payload.type === 'token_revoked') this.#tokens.set(payload.jti, payload.exp * 1000);
    else this.#sessions.set(payload.sid, payload.exp * 1000);
  }

  /** Every token of the client issued at or before `atSeconds` is dead. */
  revokeClientUntil(clientId: string, atSeconds: number): void {
    this.#clients.set(clientId, atSeconds * 1000 + 999);
  }

  /** Every token of the user issued at or before `atSeconds` is dead. */
  revokeUserUntil(userId: string, atSeconds: number): void {
    this.#users.set(userId, atSeconds * 1000 + 999);
  }

  /** Entries whose tokens have all expired by `now` are of no more use. */
  purge(now: number): void {
    for (const map of [this.#tokens, this.#sessions]) {
      for (const [id, expiresAt] of map) if (expiresAt <= now) map.delete(id);
    }
  }
}

/**
 * Revokes tokens and ends sessions, and keeps this instance's RevocationList current. The database is
 * the record (every instance follows the change feed, so a revocation reaches all of them within one
 * poll interval even without Redis); the bus carries the same news at once to our instances and to
 * other resource servers (chat-api).
 */
export class RevocationService {
  readonly list = new RevocationList();
  readonly #repository: RevocationRepository;
  readonly #bus: EventBus;
  readonly #logger: Logger;
  readonly #pollMs: number;
  readonly #onKeyRemoved: (kid: string) => void;
  /** Position in the change feed (commit order: see changes/repository.ts). */
  #cursor = '0';
  #timer: NodeJS.Timeout | null = null;
  #unsubscribe: (() => void) | null = null;

  constructor(options: {
    repository: RevocationRepository;
    bus: EventBus;
    logger: Logger;
    pollMs: number;
    /** A signing key taken out (change feed): stop trusting it before the next key refresh. */
    onKeyRemoved?: (kid: string) => void;
  }) {
    this.#repository = options.repository;
    this.#bus = options.bus;
    this.#logger = options.logger;
    this.#pollMs = options.pollMs;
    this.#onKeyRemoved = options.onKeyRemoved ?? (() => {});
  }

  async start(): Promise<void> {
    await this.poll();
    this.#unsubscribe = await this.#bus.subscribe(Channels.revocations, (payload) =>
      this.list.apply(payload),
    );
    this.#timer = setInterval(() => {
      this.poll().catch((error) =>
        this.#logger.warn({ err: error, event: 'revocation_poll_failed' }, 'revocation poll failed'),
      );
    }, this.#pollMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#unsubscribe?.();
  }

  /** Reads the change feed from where this instance stopped, to its end. */
  async poll(): Promise<void> {
    const now = Date.now();
    for (;;) {
      const page = await this.#repository.readChanges(this.#cursor, FEED_PAGE);
      for (const { event } of page.changes) this.#applyChange(event);
      this.#cursor = page.next_cursor;
      if (page.changes.length < FEED_PAGE) break;
    }
    this.list.purge(now);
  }

  async revokeToken(jti: string, expSeconds: number, userId: string | null): Promise<void> {
    await this.#repository.record({ id: jti, kind: 'token', userId, expiresAt: new Date(expSeconds * 1000) });
    const event: RevocationEvent = { type: 'token_revoked', jti, exp: expSeconds };
    this.list.apply(event);
    await this.#publish(event);
  }

  /** Every token minted for the session dies with it; they cannot outlive `maxTokenExpSeconds`. */
  async endSession(sid: string, userId: string, maxTokenExpSeconds: number): Promise<void> {
    await this.#repository.record({
      id: sid,
      kind: 'session',
      userId,
      expiresAt: new Date(maxTokenExpSeconds * 1000),
    });
    const event: RevocationEvent = { type: 'session_ended', sid, user_id: userId, exp: maxTokenExpSeconds };
    this.list.apply(event);
    await this.#publish(event);
  }

  #applyChange(event: Record<string, unknown>): void {
    if (event.type === 'key_removed' && typeof event.kid === 'string') this.#onKeyRemoved(event.kid);
    else if (
      event.type === 'client_revoked' &&
      typeof event.client_id === 'string' &&
      typeof event.at === 'number'
    )
      this.list.revokeClientUntil(event.client_id, event.at);
    else if (
      event.type === 'user_removed' &&
      typeof event.user_id === 'string' &&
      typeof event.at === 'number'
    )
      this.list.revokeUserUntil(event.user_id, event.at);
    else this.list.apply(event);
  }

  async #publish(event: RevocationEvent): Promise<void> {
    try {
      await this.#bus.publish(Channels.revocations, event);
    } catch (error) {
      // The database row is the record; other instances still see it on their next poll.
      this.#logger.warn({ err: error, event: 'revocation_publish_failed' }, 'revocation publish failed');
    }
  }
}
