import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { type ExpiringSets, MemoryExpiringSets, RedisExpiringSets } from './expiring-sets.ts';

const redisUrl = process.env.TEST_REDIS_URL;
const stores: ExpiringSets[] = [];
afterAll(async () => {
  for (const store of stores) await store.close();
});

describe.each([
  { name: 'memory', make: () => new MemoryExpiringSets() },
  ...(redisUrl
    ? [{ name: 'redis', make: () => new RedisExpiringSets(redisUrl, { prefix: `test-es-${randomUUID()}:` }) }]
    : []),
])('$name expiring sets', ({ make }) => {
  it('lists members until they expire or are removed; removing touches only the members named', async () => {
    const store = make();
    stores.push(store);
    await store.touch([
      { key: 'a', member: 'one', ttlMs: 60_000 },
      { key: 'a', member: 'two', ttlMs: 60_000 },
      { key: 'a', member: 'brief', ttlMs: 50 },
      { key: 'b', member: 'one', ttlMs: 60_000 },
    ]);
    expect((await store.members(['a', 'b'])).map((m) => [...m].sort())).toEqual([
      ['brief', 'one', 'two'],
      ['one'],
    ]);
    await new Promise((resolve) => setTimeout(resolve, 80));
    await store.remove([
      { key: 'a', member: 'one' },
      { key: 'a', member: 'never-there' },
    ]);
    expect(await store.members(['a', 'b', 'c'])).toEqual([['two'], ['one'], []]);
    await store.remove([]);
  });
});
