import { Redis } from 'ioredis';
import { HttpProblem } from './problem.ts';

/**
 * Fixed-window counters. In Redis (shared by every instance) when REDIS_URL is set, in memory otherwise.
 * A fixed window lets through at most twice the limit around a window edge, which is fine for
 * brute-force and abuse control, and costs one round trip.
 */
export interface RateLimitDecision {
  allowed: boolean;
  remaining: number;
  retryAfterSeconds: number;
}

/** One counter of a `hitMany` call. */
export interface RateLimitHit {
  key: string;
  limit: number;
  windowSeconds: number;
}

export interface RateLimiter {
  hit(key: string, limit: number, windowSeconds: number): Promise<RateLimitDecision>;
  /**
   * Several counters at once (each incremented, whatever the others decide), one decision each in the
   * same order: one round trip where a request is limited on more than one key (per IP and per client).
   */
  hitMany(hits: readonly RateLimitHit[]): Promise<RateLimitDecision[]>;
  close(): Promise<void>;
}

/** One decision for several counters: refused when any is over, with the longest Retry-After among those. */
export function combineDecisions(decisions: readonly RateLimitDecision[]): RateLimitDecision {
  let allowed = true;
  let remaining = Number.POSITIVE_INFINITY;
  let retryAfterSeconds = 1;
  for (const decision of decisions) {
    remaining = Math.min(remaining, decision.remaining);
    if (!decision.allowed) {
      allowed = false;
      retryAfterSeconds = Math.max(retryAfterSeconds, decision.retryAfterSeconds);
    }
  }
  return { allowed, remaining: Number.isFinite(remaining) ? remaining : 0, retryAfterSeconds };
}

export class MemoryRateLimiter implements RateLimiter {
  readonly #windows = new Map<string, { count: number; resetAt: number }>();
  #lastSweep = Date.now();

  async hit(key: string, limit: number, windowSeconds: number): Promise<RateLimitDecision> {
    const now = Date.now();
    this.#sweep(now);
    let window = this.#windows.get(key);
    if (!window || window.resetAt <= now) {
      window = { count: 0, resetAt: now + windowSeconds * 1000 };
      this.#windows.set(key, window);
    }
    window.count += 1;
    const retryAfterSeconds = Math.max(1, Math.ceil((window.resetAt - now) / 1000));
    return {
      allowed: window.count <= limit,
      remaining: Math.max(0, limit - window.count),
      retryAfterSeconds,
    };
  }

  async hitMany(hits: readonly RateLimitHit[]): Promise<RateLimitDecision[]> {
    const decisions: RateLimitDecision[] = [];
    for (const { key, limit, windowSeconds } of hits)
      decisions.push(await this.hit(key, limit, windowSeconds));
    return decisions;
  }

  #sweep(now: number): void {
    if (now - this.#lastSweep < 10_000) return;
    this.#lastSweep = now;
    for (const [key, window] of this.#windows) if (window.resetAt <= now) this.#windows.delete(key);
  }

  async close(): Promise<void> {
    this.#windows.clear();
  }
}

/** Every key: INCR, start its window on the first hit, report count and remaining ms (ARGV[i] = window of KEYS[i]). */
const HIT_SCRIPT = `
local out = {}
for i, key in ipairs(KEYS) do
  local count = redis.call('INCR', key)
  if count == 1 then redis.call('PEXPIRE', key, ARGV[i]) end
  out[2 * i - 1] = count
  out[2 * i] = redis.call('PTTL', key)
end
return out
`;

type ScriptedRedis = Redis & {
  rateLimitHit(numberOfKeys: number, ...keysThenWindows: (string | number)[]): Promise<number[]>;
};

export class RedisRateLimiter implements RateLimiter {
  readonly #redis: ScriptedRedis;
  readonly #prefix: string;
  readonly #fallback = new MemoryRateLimiter();

  constructor(url: string, prefix = 'rl:') {
    const redis = new Redis(url, {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      connectionName: 'rate-limit',
    });
    // EVALSHA, falling back to EVAL once when Redis does not know the script yet.
    redis.defineCommand('rateLimitHit', { lua: HIT_SCRIPT });
    this.#redis = redis as ScriptedRedis;
    this.#redis.on('error', () => {});
    this.#prefix = prefix;
  }

  async hit(key: string, limit: number, windowSeconds: number): Promise<RateLimitDecision> {
    const [decision] = await this.hitMany([{ key, limit, windowSeconds }]);
    return decision!;
  }

  async hitMany(hits: readonly RateLimitHit[]): Promise<RateLimitDecision[]> {
    try {
      const keys = hits.map((h) => this.#prefix + h.key);
      const windows = hits.map((h) => h.windowSeconds * 1000);
      const reply = await this.#redis.rateLimitHit(hits.length, ...keys, ...windows);
      return hits.map(({ limit }, i) => {
        const count = reply[2 * i]!;
        return {
          allowed: count <= limit,
          remaining: Math.max(0, limit - count),
          retryAfterSeconds: Math.max(1, Math.ceil(reply[2 * i + 1]! / 1000)),
        };
      });
    } catch {
      // Redis unreachable: keep limiting, per instance, rather than fail open or refuse everyone.
      return this.#fallback.hitMany(hits);
    }
  }

  async close(): Promise<void> {
    this.#redis.disconnect();
  }
}

export function createRateLimiter(redisUrl: string | undefined, prefix?: string): RateLimiter {
  return redisUrl ? new RedisRateLimiter(redisUrl, prefix) : new MemoryRateLimiter();
}

/** A named limit: at most `limit` hits per `windowSeconds`. */
export interface LimitRule {
  limit: number;
  windowSeconds: number;
}

export class RateLimited extends HttpProblem {
  readonly retryAfterSeconds: number;
  constructor(retryAfterSeconds: number, detail: string) {
    super(429, 'rate_limited', detail, { headers: { 'retry-after': String(retryAfterSeconds) } });
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/**
 * The one way both services limit: a table of named rules, checked together in one round trip.
 * `check([['message_post', userId], ['message_post_burst', userId]])` counts a hit for each and throws
 * RateLimited (429 problem+json, Retry-After) when any is over. Keys are `<rule>:<subject>`, so a limit
 * on one user or address never touches another. Subjects that are addresses should go through
 * `addressKey` (IPv6 per /64); `request.clientKey` already does.
 */
export class Limits<Name extends string> {
  readonly #limiter: RateLimiter;
  readonly #rules: Readonly<Record<Name, LimitRule>>;

  constructor(limiter: RateLimiter, rules: Readonly<Record<Name, LimitRule>>) {
    this.#limiter = limiter;
    this.#rules = rules;
  }

  rule(name: Name): LimitRule {
    return this.#rules[name];
  }

  /** Counts and answers; never throws. */
  async hit(subjects: readonly (readonly [Name, string])[]): Promise<RateLimitDecision> {
    if (subjects.length === 0) return { allowed: true, remaining: 0, retryAfterSeconds: 1 };
    return combineDecisions(
      await this.#limiter.hitMany(
        subjects.map(([name, subject]) => ({ key: `${name}:${subject}`, ...this.#rules[name] })),
      ),
    );
  }

  /** Counts, and throws RateLimited when any subject is over its rule. */
  async check(
    subjects: readonly (readonly [Name, string])[],
    detail = 'too many requests; retry later',
  ): Promise<void> {
    const decision = await this.hit(subjects);
    if (!decision.allowed) throw new RateLimited(decision.retryAfterSeconds, detail);
  }
}
