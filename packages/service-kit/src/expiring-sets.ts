import { Redis } from 'ioredis';

/**
 * Named sets whose members expire on their own: ephemeral state that several instances share (who is
 * connected where), kept alive by refreshing. A member whose writer dies without saying goodbye simply
 * expires. Redis sorted sets (score = expiry time) when REDIS_URL is set; in memory otherwise (one process).
 */
export interface ExpiringSets {
  readonly kind: 'memory' | 'redis';
  /** Adds or refreshes each member of its set, expiring `ttlMs` from now. One round trip for all. */
  touch(entries: readonly { key: string; member: string; ttlMs: number }[]): Promise<void>;
  /** The unexpired members of each set, in the order of `keys`. One round trip for all. */
  members(keys: readonly string[]): Promise<string[][]>;
  /** Takes members out before they expire (a writer that says goodbye). One round trip for all. */
  remove(entries: readonly { key: string; member: string }[]): Promise<void>;
  close(): Promise<void>;
}

export class MemoryExpiringSets implements ExpiringSets {
  readonly kind = 'memory' as const;
  readonly #sets = new Map<string, Map<string, number>>();
  readonly #now: () => number;

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  async touch(entries: readonly { key: string; member: string; ttlMs: number }[]): Promise<void> {
    const now = this.#now();
    for (const { key, member, ttlMs } of entries) {
      let set = this.#sets.get(key);
      if (!set) {
        set = new Map();
        this.#sets.set(key, set);
      }
      set.set(member, now + ttlMs);
    }
  }

  async members(keys: readonly string[]): Promise<string[][]> {
    const now = this.#now();
    return keys.map((key) => {
      const set = this.#sets.get(key);
      if (!set) return [];
      const alive: string[] = [];
      for (const [member, expiresAt] of set) {
        if (expiresAt > now) alive.push(member);
        else set.delete(member);
      }
      if (set.size === 0) this.#sets.delete(key);
      return alive;
    });
  }

  async remove(entries: readonly { key: string; member: string }[]): Promise<void> {
    for (const { key, member } of entries) {
      const set = this.#sets.get(key);
      set?.delete(member);
      if (set?.size === 0) this.#sets.delete(key);
    }
  }

  async close(): Promise<void> {
    this.#sets.clear();
  }
}

/** Keys outlive their last member by this much, so an abandoned set is removed by Redis itself. */
const KEY_SLACK_MS = 60_000;

export class RedisExpiringSets implements ExpiringSets {
  readonly kind = 'redis' as const;
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(url: string, options: { prefix?: string; onError?: (error: Error) => void } = {}) {
    this.#prefix = options.prefix ?? '';
    this.#redis = new Redis(url, { maxRetriesPerRequest: 2, connectionName: 'expiring-sets' });
    this.#redis.on('error', options.onError ?? (() => {}));
  }

  async touch(entries: readonly { key: string; member: string; ttlMs: number }[]): Promise<void> {
    if (entries.length === 0) return;
    const now = Date.now();
    const pipeline = this.#redis.pipeline();
    for (const { key, member, ttlMs } of entries) {
      pipeline.zadd(this.#prefix + key, now + ttlMs, member);
      pipeline.pexpire(this.#prefix + key, ttlMs + KEY_SLACK_MS);
    }
    await pipeline.exec();
  }

  async members(keys: readonly string[]): Promise<string[][]> {
    if (keys.length === 0) return [];
    const now = Date.now();
    const pipeline = this.#redis.pipeline();
    for (const key of keys) {
      pipeline.zremrangebyscore(this.#prefix + key, '-inf', now);
      pipeline.zrangebyscore(this.#prefix + key, `(${now}`, '+inf');
    }
    const results = (await pipeline.exec()) ?? [];
    return keys.map((_, i) => {
      const [error, value] = results[2 * i + 1] ?? [null, []];
      if (error) throw error;
      return value as string[];
    });
  }

  async remove(entries: readonly { key: string; member: string }[]): Promise<void> {
    if (entries.length === 0) return;
    const pipeline = this.#redis.pipeline();
    for (const { key, member } of entries) pipeline.zrem(this.#prefix + key, member);
    const results = (await pipeline.exec()) ?? [];
    for (const [error] of results) if (error) throw error;
  }

  async close(): Promise<void> {
    this.#redis.disconnect();
  }
}

export function createExpiringSets(
  redisUrl: string | undefined,
  options: { prefix?: string; onError?: (e: Error) => void } = {},
): ExpiringSets {
  return redisUrl ? new RedisExpiringSets(redisUrl, options) : new MemoryExpiringSets();
}
