import { Redis } from 'ioredis';

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

export interface RateLimiter {
  hit(key: string, limit: number, windowSeconds: number): Promise<RateLimitDecision>;
  close(): Promise<void>;
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

  async close(): Promise<void> {
    this.#redis.disconnect();
  }
}

export function createRateLimiter(redisUrl: string | undefined, prefix?: string): RateLimiter {
  return redisUrl ? new RedisRateLimiter(redisUrl, prefix) : new MemoryRateLimiter();
}
