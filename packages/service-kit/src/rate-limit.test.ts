import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryRateLimiter, type RateLimiter, RedisRateLimiter } from './rate-limit.ts';

const redisUrl = process.env.TEST_REDIS_URL;
const limiters: RateLimiter[] = [];
afterAll(async () => {
  for (const limiter of limiters) await limiter.close();
});

describe.each([
  { name: 'memory', make: () => new MemoryRateLimiter() },
  ...(redisUrl
    ? [{ name: 'redis', make: () => new RedisRateLimiter(redisUrl, `test-rl-${randomUUID()}:`) }]
    : []),
])('$name limiter: several counters in one call', ({ make }) => {
  it('counts every key, decides each against its own limit, and agrees with hit()', async () => {
    const limiter = make();
    limiters.push(limiter);
    const ip = { key: 'ip:1', limit: 3, windowSeconds: 60 };
    const client = { key: 'client:a', limit: 1, windowSeconds: 30 };
    const first = await limiter.hitMany([ip, client]);
    expect(first.map((d) => d.allowed)).toEqual([true, true]);
    expect(first.map((d) => d.remaining)).toEqual([2, 0]);
    const second = await limiter.hitMany([ip, client]);
    // The client is over its limit; the IP counter still moved (each key is counted, whatever the others say).
    expect(second.map((d) => d.allowed)).toEqual([true, false]);
    expect(second[1]!.retryAfterSeconds).toBeGreaterThan(0);
    expect(second[1]!.retryAfterSeconds).toBeLessThanOrEqual(30);
    const single = await limiter.hit(ip.key, ip.limit, ip.windowSeconds);
    expect(single).toMatchObject({ allowed: true, remaining: 0 });
    expect((await limiter.hitMany([ip]))[0]!.allowed).toBe(false);
  });
});
