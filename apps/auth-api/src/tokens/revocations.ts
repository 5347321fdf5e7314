import { Channels, type RevocationEvent, RevocationEventSchema } from '@groupchat/contract';
import type { EventBus } from '@groupchat/service-kit';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { Compile } from 'typebox/compile';
import { readChanges } from '../changes/repository.ts';
import type { AuthDB } from '../db/schema.ts';

const validEvent = Compile(RevocationEventSchema);

/**
 * Which tokens and sessions are dead before their expiry. The database is the record (every instance
 * polls it, so a revocation reaches all of them within one poll interval even without Redis); the bus
 * carries the same news at once to our instances and to other resource servers (chat-api).
 */
export class RevocationList {
  readonly #db: Kysely<AuthDB>;
  readonly #bus: EventBus;
  readonly #logger: Logger;
  readonly #pollMs: number;
  readonly #tokens = new Map<string, number>();
  readonly #sessions = new Map<string, number>();
  /** client id / user id → tokens issued up to then (ms) are dead (from the change feed). */
  readonly #clients = new Map<string, number>();
  readonly #users = new Map<string, number>();
  /** Position in the change feed (commit order: see changes/repository.ts). */
  #cursor = { xid: '0', id: '0' };
  #timer: NodeJS.Timeout | null = null;
  #unsubscribe: (() => void) | null = null;

  readonly #onKeyRemoved: (kid: string) => void;

  constructor(options: {
    db: Kysely<AuthDB>;
    bus: EventBus;
    logger: Logger;
    pollMs: number;
    /** A signing key taken out (change feed): stop trusting it before the next key refresh. */
    onKeyRemoved?: (kid: string) => void;
  }) {
    this.#onKeyRemoved = options.onKeyRemoved ?? (() => {});
    this.#db = options.db;
    this.#bus = options.bus;
    this.#logger = options.logger;
    this.#pollMs = options.pollMs;
  }

  async start(): Promise<void> {
    await this.poll();
    this.#unsubscribe = await this.#bus.subscribe(Channels.revocations, (payload) => this.#apply(payload));
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

  async poll(): Promise<void> {
    const now = Date.now();
    for (;;) {
      const page = await readChanges(this.#db, this.#cursor, 1000);
      for (const { event } of page.changes) {
        if (event.type === 'key_removed' && typeof event.kid === 'string') this.#onKeyRemoved(event.kid);
        else if (
          event.type === 'client_revoked' &&
          typeof event.client_id === 'string' &&
          typeof event.at === 'number'
        )
          this.#clients.set(event.client_id, event.at * 1000 + 999);
        else if (
          event.type === 'user_removed' &&
          typeof event.user_id === 'string' &&
          typeof event.at === 'number'
        )
          this.#users.set(event.user_id, event.at * 1000 + 999);
        else this.#apply(event as RevocationEvent);
      }
      const [xid = '0', id = '0'] = page.next_cursor.split(':');
      this.#cursor = { xid, id };
      if (page.changes.length < 1000) break;
    }
    this.#purge(now);
  }

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

  async revokeToken(jti: string, expSeconds: number, userId: string | null): Promise<void> {
    await this.#db
      .insertInto('revocations')
      .values({ id: jti, kind: 'token', user_id: userId, expires_at: new Date(expSeconds * 1000) })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
    this.#tokens.set(jti, expSeconds * 1000);
    await this.#publish({ type: 'token_revoked', jti, exp: expSeconds });
  }

  /** Every token minted for the session dies with it; they cannot outlive `maxTokenExpSeconds`. */
  async endSession(sid: string, userId: string, maxTokenExpSeconds: number): Promise<void> {
    await this.#db
      .insertInto('revocations')
      .values({ id: sid, kind: 'session', user_id: userId, expires_at: new Date(maxTokenExpSeconds * 1000) })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
    this.#sessions.set(sid, maxTokenExpSeconds * 1000);
    await this.#publish({ type: 'session_ended', sid, user_id: userId, exp: maxTokenExpSeconds });
  }

  #apply(payload: unknown): void {
    if (!validEvent.Check(payload)) return;
    if (payload.type === 'token_revoked') this.#tokens.set(payload.jti, payload.exp * 1000);
    else this.#sessions.set(payload.sid, payload.exp * 1000);
  }

  async #publish(event: RevocationEvent): Promise<void> {
    try {
      await this.#bus.publish(Channels.revocations, event);
    } catch (error) {
      // The database row is the record; other instances still see it on their next poll.
      this.#logger.warn({ err: error, event: 'revocation_publish_failed' }, 'revocation publish failed');
    }
  }

  #purge(now: number): void {
    for (const map of [this.#tokens, this.#sessions]) {
      for (const [id, expiresAt] of map) if (expiresAt <= now) map.delete(id);
    }
  }
}
