import { type ExpiringSets, MemoryExpiringSets } from '@groupchat/service-kit';
import { describe, expect, it } from 'vitest';
import { captureLogger } from '../test-support/fake-server.ts';
import { ConnectionSlots } from './connection-slots.ts';

const slots = (store: ExpiringSets, instanceId: string, maxPerUser = 2) =>
  new ConnectionSlots({ store, instanceId, maxPerUser, ttlMs: 1_000, logger: captureLogger().logger });

describe('ConnectionSlots', () => {
  it('counts a user’s connections on every instance sharing the store, not another user’s', async () => {
    const store = new MemoryExpiringSets();
    const [a, b] = [slots(store, 'a'), slots(store, 'b')];
    expect(await a.acquire({ userId: 'u', connectionId: '1' })).toBe(true);
    expect(await b.acquire({ userId: 'u', connectionId: '2' })).toBe(true);
    expect(await a.acquire({ userId: 'u', connectionId: '3' })).toBe(false);
    expect(await b.acquire({ userId: 'v', connectionId: '4' })).toBe(true);
    // The refused one held nothing: a release on the other instance frees one slot, exactly.
    b.release({ userId: 'u', connectionId: '2' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(await a.acquire({ userId: 'u', connectionId: '5' })).toBe(true);
    expect(await b.acquire({ userId: 'u', connectionId: '6' })).toBe(false);
  });

  it('frees the slots of an instance that stopped refreshing them once they expire', async () => {
    let now = 0;
    const store = new MemoryExpiringSets({ now: () => now });
    const [dead, alive] = [slots(store, 'dead'), slots(store, 'alive')];
    await dead.acquire({ userId: 'u', connectionId: '1' });
    await alive.acquire({ userId: 'u', connectionId: '2' });
    expect(await alive.acquire({ userId: 'u', connectionId: '3' })).toBe(false);
    now += 900;
    await alive.refresh();
    now += 200;
    // The dead instance's slot is past its TTL; the refreshed one is not.
    expect(await alive.acquire({ userId: 'u', connectionId: '3' })).toBe(true);
    expect(await alive.acquire({ userId: 'u', connectionId: '4' })).toBe(false);
  });

  it('falls back to this instance’s own count when the shared store fails', async () => {
    const broken: ExpiringSets = {
      kind: 'redis',
      touch: () => Promise.reject(new Error('redis down')),
      members: () => Promise.reject(new Error('redis down')),
      remove: () => Promise.reject(new Error('redis down')),
      close: async () => {},
    };
    const local = slots(broken, 'a');
    expect(await local.acquire({ userId: 'u', connectionId: '1' })).toBe(true);
    expect(await local.acquire({ userId: 'u', connectionId: '2' })).toBe(true);
    expect(await local.acquire({ userId: 'u', connectionId: '3' })).toBe(false);
    local.release({ userId: 'u', connectionId: '1' });
    expect(await local.acquire({ userId: 'u', connectionId: '3' })).toBe(true);
  });
});
