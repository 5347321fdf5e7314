import { createLogger, MemoryBus } from '@groupchat/service-kit';
import { describe, expect, it } from 'vitest';
import { CacheInvalidations, RecordCache } from './record-cache.ts';

const silent = createLogger('test', 'silent');

describe('RecordCache', () => {
  it('loads once for concurrent readers, then serves from memory', async () => {
    const cache = new RecordCache<{ v: string }>();
    let loads = 0;
    const load = async () => {
      loads += 1;
      await new Promise((resolve) => setTimeout(resolve, 10));
      return { v: 's1' };
    };
    const results = await Promise.all([cache.get('a', load), cache.get('a', load), cache.get('a', load)]);
    expect(results.every((r) => r?.v === 's1')).toBe(true);
    await cache.get('a', load);
    expect(loads).toBe(1);
  });

  it('never keeps a copy read before a change that committed during the read', async () => {
    const cache = new RecordCache<{ v: string }>();
    let release!: () => void;
    const slow = cache.get(
      'a',
      () =>
        new Promise<{ v: string }>((resolve) => {
          release = () => resolve({ v: 'old' });
        }),
    );
    cache.invalidate('b'); // a change to another record commits while the read is in flight
    release();
    expect((await slow)?.v).toBe('old'); // that request raced the change: fine
    expect(cache.peek('a')).toBeUndefined(); // but its copy is not kept
    const fresh = await cache.get('a', async () => ({ v: 'new' }));
    expect(fresh?.v).toBe('new');
  });

  it('a reader after an invalidation does not join the load that started before it', async () => {
    const cache = new RecordCache<{ v: string }>();
    let release!: () => void;
    const slow = cache.get(
      'a',
      () =>
        new Promise<{ v: string }>((resolve) => {
          release = () => resolve({ v: 'old' });
        }),
    );
    cache.invalidate('a');
    const after = cache.get('a', async () => ({ v: 'new' }));
    release();
    await slow;
    expect((await after)?.v).toBe('new');
  });

  it('invalidates one key, or all', async () => {
    const cache = new RecordCache<{ v: string }>();
    await cache.get('a', async () => ({ v: 'a' }));
    await cache.get('b', async () => ({ v: 'b' }));
    cache.invalidate('a');
    expect(cache.peek('a')).toBeUndefined();
    expect(cache.peek('b')?.v).toBe('b');
    cache.invalidate();
    expect(cache.peek('b')).toBeUndefined();
  });

  it('does not cache absent records', async () => {
    const cache = new RecordCache<{ v: string }>();
    let loads = 0;
    const load = async () => {
      loads += 1;
      return undefined;
    };
    await cache.get('nobody', load);
    await cache.get('nobody', load);
    expect(loads).toBe(2);
  });

  it('trusts an entry for ttlMs only', async () => {
    let clock = 1_000;
    const cache = new RecordCache<{ v: string }>({ ttlMs: 5_000, now: () => clock });
    await cache.get('a', async () => ({ v: 'old' }));
    clock += 4_999;
    expect(cache.peek('a')?.v).toBe('old');
    clock += 1;
    expect(cache.peek('a')).toBeUndefined();
    expect((await cache.get('a', async () => ({ v: 'new' })))?.v).toBe('new');
  });

  it('holds at most maxEntries records', async () => {
    const cache = new RecordCache<{ v: number }>({ maxEntries: 3 });
    for (let i = 0; i < 10; i += 1) await cache.get(String(i), async () => ({ v: i }));
    expect(cache.size).toBeLessThanOrEqual(3);
    expect(cache.peek('9')?.v).toBe(9);
  });
});

describe('CacheInvalidations', () => {
  it('exclusive database (no bus): always usable', () => {
    const gate = new CacheInvalidations({
      bus: null,
      channel: 'c',
      logger: silent,
      onMessage: () => {},
      reset: () => {},
    });
    expect(gate.usable()).toBe(true);
  });

  it('shared database: usable once subscribed, not while the bus is down, reset after it comes back', async () => {
    const bus = new MemoryBus();
    let healthy = true;
    bus.healthy = () => healthy;
    const heard: unknown[] = [];
    let resets = 0;
    const gate = new CacheInvalidations({
      bus,
      channel: 'c',
      logger: silent,
      onMessage: (payload) => heard.push(payload),
      reset: () => {
        resets += 1;
      },
    });
    expect(gate.usable()).toBe(false); // not subscribed yet
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(gate.usable()).toBe(true);
    expect(resets).toBe(1);
    await bus.publish('c', { x: 1 });
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(heard).toEqual([{ x: 1 }]);
    healthy = false;
    expect(gate.usable()).toBe(false);
    healthy = true;
    expect(gate.usable()).toBe(true);
    expect(resets).toBe(2);
  });
});
