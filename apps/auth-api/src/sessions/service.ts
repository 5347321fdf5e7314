import { createHash, randomBytes } from 'node:crypto';
import { uuidv7 } from '@groupchat/service-kit';
import type { AuditWrite } from '../audit/repository.ts';
import type { RevocationService } from '../tokens/revocations.ts';
import type { SessionRecord, SessionRepository } from './repository.ts';

export function hashSessionToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

/**
 * Login sessions: the cookie carries 256 random bits; the database keeps only their SHA-256, so a
 * stolen table cannot be replayed as cookies. Expiry and revocation are decided server-side.
 */
export class SessionService {
  readonly #repository: SessionRepository;
  readonly #revocations: RevocationService;
  readonly #ttlSeconds: number;
  readonly #accessTokenTtlSeconds: number;
  readonly #now: () => number;
  readonly #onEnd: ((sessionId: string) => Promise<void>)[] = [];
  readonly #onAllEnded: ((userId: string, exceptSessionId: string | undefined) => Promise<void>)[] = [];

  constructor(options: {
    repository: SessionRepository;
    revocations: RevocationService;
    ttlSeconds: number;
    accessTokenTtlSeconds: number;
    now?: () => number;
  }) {
    this.#repository = options.repository;
    this.#revocations = options.revocations;
    this.#ttlSeconds = options.ttlSeconds;
    this.#accessTokenTtlSeconds = options.accessTokenTtlSeconds;
    this.#now = options.now ?? Date.now;
  }

  get ttlSeconds(): number {
    return this.#ttlSeconds;
  }

  /** `audited`: the audit write of the sign-in, committed with the session. */
  async create(
    userId: string,
    audited?: (session: SessionRecord) => AuditWrite,
  ): Promise<{ session: SessionRecord; cookieValue: string }> {
    const cookieValue = randomBytes(32).toString('base64url');
    const nowMs = this.#now();
    const session = {
      id: uuidv7(),
      userId,
      expiresAt: new Date(nowMs + this.#ttlSeconds * 1000),
      createdAt: new Date(nowMs),
    };
    await this.#repository.insert(
      { ...session, tokenHash: hashSessionToken(cookieValue) },
      audited?.(session),
    );
    return { session, cookieValue };
  }

  async findByCookie(cookieValue: string): Promise<SessionRecord | undefined> {
    if (cookieValue.length < 16 || cookieValue.length > 128) return undefined;
    return this.#repository.findActiveByTokenHash(hashSessionToken(cookieValue), new Date(this.#now()));
  }

  async isActive(sessionId: string): Promise<boolean> {
    return (await this.#repository.findActiveById(sessionId, new Date(this.#now()))) !== undefined;
  }

  /** Work that must follow the end of a session (OAuth grants authorized in it end with it). */
  onEnd(listener: (sessionId: string) => Promise<void>): void {
    this.#onEnd.push(listener);
  }

  /** Work that must follow the end of all of a user's sessions (password reset: every app grant ends). */
  onAllEnded(listener: (userId: string, exceptSessionId: string | undefined) => Promise<void>): void {
    this.#onAllEnded.push(listener);
  }

  /**
   * Ends every session of the user (but `exceptSessionId`), exactly as logout ends one: the same
   * revocation records and `session_ended` events, so both services refuse their tokens.
   */
  async endAllForUser(userId: string, exceptSessionId?: string): Promise<string[]> {
    const ended = await this.#repository.revokeAllForUser(userId, new Date(this.#now()), exceptSessionId);
    const lastTokenExp = Math.ceil(this.#now() / 1000) + this.#accessTokenTtlSeconds + 60;
    for (const id of ended) {
      await this.#revocations.endSession(id, userId, lastTokenExp);
      for (const listener of this.#onEnd) await listener(id);
    }
    for (const listener of this.#onAllEnded) await listener(userId, exceptSessionId);
    return ended;
  }

  /** Ends the session at once, and with it every access token minted for it (published to resource servers). */
  async end(session: { id: string; userId: string }, audit?: AuditWrite): Promise<void> {
    await this.#repository.revoke(session.id, new Date(this.#now()), audit);
    const lastTokenExp = Math.ceil(this.#now() / 1000) + this.#accessTokenTtlSeconds + 60;
    await this.#revocations.endSession(session.id, session.userId, lastTokenExp);
    for (const listener of this.#onEnd) await listener(session.id);
  }
}
