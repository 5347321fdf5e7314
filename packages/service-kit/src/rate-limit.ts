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

export interface LimitCheck {
  key: string;
  limit: number;
  windowSeconds: number;
}

export interface RateLimiter {
  hit(key: string, limit: number, windowSeconds: number): Promise<RateLimitDecision>;
  /**
   * Counts one hit on every key at once (one Redis round trip) and answers for all of them: refused
   * when any is over its limit, with the longest Retry-After among those refused.
   */
  hitMany(checks: readonly LimitCheck[]): Promise<RateLimitDecision>;
  close(): Promise<void>;
}

function combine(
  checks: readonly LimitCheck[],
  results: { count: number; ttlMs: number }[],
): RateLimitDecision {
  let allowed = true;
  let remaining = Number.POSITIVE_INFINITY;
  let retryAfterSeconds = 1;
  results.forEach(({ count, ttlMs }, i) => {
    const check = checks[i]!;
    remaining = Math.min(remaining, Math.max(0, check.limit - count));
    if (count > check.limit) {
      allowed = false;
      retryAfterSeconds = Math.max(retryAfterSeconds, Math.ceil(ttlMs / 1000));
    }
  });
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

  async hitMany(checks: readonly LimitCheck[]): Promise<RateLimitDecision> {
    const now = Date.now();
    const results = await Promise.all(
      checks.map(async (check) => {
        await this.hit(check.key, check.limit, check.windowSeconds);
        const window = this.#windows.get(check.key)!;
        return { count: window.count, ttlMs: window.resetAt - now };
      }),
    );
    return combine(checks, results);
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

const HIT_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {count, redis.call('PTTL', KEYS[1])}
`;

const HIT_MANY_SCRIPT = `
local out = {}
for i, key in ipairs(KEYS) do
  local count = redis.call('INCR', key)
  if count == 1 then redis.call('PEXPIRE', key, ARGV[i]) end
  out[2 * i - 1] = count
  out[2 * i] = redis.call('PTTL', key)
end
return out
`;

export class RedisRateLimiter implements RateLimiter {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #fallback = new MemoryRateLimiter();

  constructor(url: string, prefix = 'rl:') {
    this.#redis = new Redis(url, {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      connectionName: 'rate-limit',
    });
    this.#redis.on('error', () => {});
    this.#prefix = prefix;
  }

  async hit(key: string, limit: number, windowSeconds: number): Promise<RateLimitDecision> {
    try {
      const [count, ttl] = (await this.#redis.eval(
        HIT_SCRIPT,
        1,
        this.#prefix + key,
        windowSeconds * 1000,
      )) as [number, number];
      return {
        allowed: count <= limit,
        remaining: Math.max(0, limit - count),
        retryAfterSeconds: Math.max(1, Math.ceil(ttl / 1000)),
      };
    } catch {
      // Redis unreachable: keep limiting, per instance, rather than fail open or refuse everyone.
      return this.#fallback.hit(key, limit, windowSeconds);
    }
  }

  async hitMany(checks: readonly LimitCheck[]): Promise<RateLimitDecision> {
    if (checks.length === 0) return { allowed: true, remaining: 0, retryAfterSeconds: 1 };
    try {
      const flat = (await this.#redis.eval(
        HIT_MANY_SCRIPT,
        checks.length,
        ...checks.map((c) => this.#prefix + c.key),
        ...checks.map((c) => c.windowSeconds * 1000),
      )) as number[];
      return combine(
        checks,
        checks.map((_, i) => ({ count: flat[2 * i]!, ttlMs: flat[2 * i + 1]! })),
      );
    } catch {
      return this.#fallback.hitMany(checks);
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
    return this.#limiter.hitMany(
      subjects.map(([name, subject]) => ({ key: `${name}:${subject}`, ...this.#rules[name] })),
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
