import { Limits, RateLimited, type RateLimiter } from '@groupchat/service-kit';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ChatConfig } from './config.ts';

/**
 * Every limit of chat-api, by name (the contract's "Limits and production rules"), on service-kit's
 * Limits: Redis-shared when REDIS_URL is set, one round trip for all the subjects of a request.
 * Plugging a new endpoint in: `preHandler: limitHook(limits, 'message_edit')` (per user), or
 * `limits.check([['search', user.userId]])` in a handler.
 */
export function chatLimitRules(config: ChatConfig) {
  const l = config.limits;
  return {
    // Two windows: a burst bound per second and a sustained one per minute, both well above 10 messages a
    // second (a person typing fast is never limited), far below a script's rate.
    message_post: { limit: l.postsPerUserPerSecond, windowSeconds: 1 },
    message_post_minute: { limit: l.postsPerUserPerMinute, windowSeconds: 60 },
    /** edits (i12): the same budget as posts. */
    message_edit: { limit: l.postsPerUserPerSecond, windowSeconds: 1 },
    message_edit_minute: { limit: l.postsPerUserPerMinute, windowSeconds: 60 },
    /** reactions (i12). */
    reaction: { limit: l.reactionsPerUserPerMinute, windowSeconds: 60 },
    /** search (i13). */
    search: { limit: l.searchesPerUserPerMinute, windowSeconds: 60 },
    /** failed requests (401, 403, 404) and refused subscribes. */
    failed_user: { limit: l.failuresPerMinute, windowSeconds: 60 },
    failed_ip: { limit: l.failuresPerMinute, windowSeconds: 60 },
  } as const;
}

export type ChatLimitName = keyof ReturnType<typeof chatLimitRules>;

const FAILURE_STATUSES = new Set([401, 403, 404]);

/**
 * chat-api's limits plus the failure limiter. Failures are counted after the fact (shared counters);
 * once a user or address is over, this instance refuses it from memory until the window ends, so the
 * check on every request costs no round trip. Another instance learns it at that subject's next failure
 * there (the counter is shared).
 */
export class ChatLimits extends Limits<ChatLimitName> {
  readonly #blocked = new Map<string, number>();
  readonly #now: () => number;

  constructor(limiter: RateLimiter, config: ChatConfig, now: () => number = Date.now) {
    super(limiter, chatLimitRules(config));
    this.#now = now;
  }

  /** Throws RateLimited when the user or address is blocked for failing too often. */
  assertNotBlocked(subjects: { userId?: string | null; address?: string }): void {
    const now = this.#now();
    for (const key of [
      subjects.userId ? `u:${subjects.userId}` : null,
      subjects.address ? `a:${subjects.address}` : null,
    ]) {
      if (!key) continue;
      const until = this.#blocked.get(key);
      if (until === undefined) continue;
      if (until <= now) this.#blocked.delete(key);
      else
        throw new RateLimited(
          Math.max(1, Math.ceil((until - now) / 1000)),
          'too many failed requests; retry later',
        );
    }
  }

  /** Counts one failure of the user and of the address; each one over its limit is blocked for its window. */
  async recordFailure(subjects: { userId?: string | null; address: string }): Promise<void> {
    // Two counters on purpose (failures are off the hot path): a user over the limit must not block the
    // others behind the same address, nor an address over it the user elsewhere.
    const counted: [ChatLimitName, string, string][] = [
      ['failed_ip', subjects.address, `a:${subjects.address}`],
    ];
    if (subjects.userId) counted.push(['failed_user', subjects.userId, `u:${subjects.userId}`]);
    const decisions = await Promise.all(counted.map(([name, subject]) => this.hit([[name, subject]])));
    const now = this.#now();
    decisions.forEach((decision, i) => {
      if (!decision.allowed) this.#blocked.set(counted[i]![2], now + decision.retryAfterSeconds * 1000);
    });
    if (this.#blocked.size > 100_000) {
      for (const [key, end] of this.#blocked) if (end <= now) this.#blocked.delete(key);
    }
  }

  static isFailure(status: number): boolean {
    return FAILURE_STATUSES.has(status);
  }
}

/** A preHandler that checks named per-user limits (after authentication). */
export function limitHook(limits: ChatLimits, ...names: ChatLimitName[]) {
  return async (request: FastifyRequest, _reply: FastifyReply) => {
    // Set by the scope's principal hook (onRequest), so always there in a preHandler of a user route.
    const user = request.principal as { userId: string } | null;
    if (!user) return;
    await limits.check(
      names.map((name) => [name, user.userId] as const),
      'too many requests; slow down',
    );
  };
}
