import { MemoryBus } from '@groupchat/service-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClientService } from '../../src/clients/index.ts';
import { SHARED_RECORD_TTL_MS } from '../../src/clients/service.ts';
import { OPERATOR, startApi, type TestAuthApi } from './helpers.ts';

/** Both lookup modes on whichever backend the suite runs: changes must be seen by the next request. */
describe.each([
  { exclusiveDatabase: true, mode: 'cached records (exclusive database)' },
  { exclusiveDatabase: false, mode: 'a database read per request' },
])('client authentication with $mode', ({ exclusiveDatabase }) => {
  let api: TestAuthApi;
  beforeAll(async () => {
    api = await startApi();
  });
  afterAll(async () => {
    await api?.close();
  });

  it('sees creation, rotation (with and without grace) and deletion at once', async () => {
    const core = api.running.core;
    let clock = Date.now();
    const service = createClientService({
      db: core.db,
      hasher: core.hasher,
      logger: core.logger,
      now: () => clock,
      exclusiveDatabase,
    });
    const created = await service.create(OPERATOR, {
      clientName: 'cache test',
      clientType: 'confidential',
      allowedScopes: ['groups:read'],
      grantTypes: ['client_credentials'],
    });
    const id = created.clientId;
    const first = created.clientSecret!;
    expect(await service.authenticate(id, first)).not.toBeNull();
    expect(await service.authenticate(id, first)).not.toBeNull();

    const graceful = await service.rotateSecret(OPERATOR, id, 60);
    expect(await service.authenticate(id, first)).not.toBeNull();
    expect(await service.authenticate(id, graceful.clientSecret)).not.toBeNull();
    clock += 61_000; // the grace ends: checked against the clock at each use, not at load
    expect(await service.authenticate(id, first)).toBeNull();
    expect(await service.authenticate(id, graceful.clientSecret)).not.toBeNull();

    const immediate = await service.rotateSecret(OPERATOR, id, 0);
    expect(await service.authenticate(id, graceful.clientSecret)).toBeNull();
    expect(await service.authenticate(id, immediate.clientSecret)).not.toBeNull();

    await service.delete(OPERATOR, id);
    expect(await service.authenticate(id, immediate.clientSecret)).toBeNull();
  });
});

/** A bus whose messages never arrive (a lost announcement), or that reports itself down. */
class LossyBus extends MemoryBus {
  down = false;
  dropping = false;
  override async publish(channel: string, payload: unknown): Promise<void> {
    if (!this.dropping) await super.publish(channel, payload);
  }
  override healthy(): boolean {
    return !this.down;
  }
}

/**
 * A shared database (PostgreSQL in production): every instance caches client records and hears the
 * others' changes on the bus. Two services on one database stand for two auth-api instances.
 */
describe('client records cached on a shared database, changes announced on the bus', () => {
  let api: TestAuthApi;
  beforeAll(async () => {
    api = await startApi();
  });
  afterAll(async () => {
    await api?.close();
  });

  async function pair(bus: MemoryBus, clock: () => number) {
    const core = api.running.core;
    const make = () =>
      createClientService({ db: core.db, hasher: core.hasher, logger: core.logger, now: clock, bus });
    const reader = make();
    const writer = make();
    // Subscriptions are made asynchronously: let them land.
    await new Promise((resolve) => setTimeout(resolve, 10));
    const created = await writer.create(OPERATOR, {
      clientName: 'shared cache test',
      clientType: 'confidential',
      allowedScopes: ['groups:read'],
      grantTypes: ['client_credentials'],
    });
    return { reader, writer, id: created.clientId, secret: created.clientSecret! };
  }

  it('answers from memory after one read, and sees another instance’s rotation and deletion at once', async () => {
    const { reader, writer, id, secret } = await pair(new MemoryBus(), Date.now);
    expect(reader.authenticateFromMemory(id, secret)).toBeUndefined(); // not loaded yet
    expect(await reader.authenticate(id, secret)).not.toBeNull(); // one read (and one Argon2id)
    expect(reader.authenticateFromMemory(id, secret)?.clientId).toBe(id);
    expect(reader.authenticateFromMemory(id, 'wrong-secret')).toBeUndefined();

    const rotated = await writer.rotateSecret(OPERATOR, id, 0);
    await expect.poll(() => reader.authenticateFromMemory(id, secret), { timeout: 1_000 }).toBeUndefined();
    expect(await reader.authenticate(id, secret)).toBeNull();
    expect(await reader.authenticate(id, rotated.clientSecret)).not.toBeNull();

    await writer.delete(OPERATOR, id);
    await expect
      .poll(() => reader.authenticateFromMemory(id, rotated.clientSecret), { timeout: 1_000 })
      .toBeUndefined();
    expect(await reader.authenticate(id, rotated.clientSecret)).toBeNull();
  });

  it('a lost announcement is bounded by the TTL; while the bus is down every request reads the database', async () => {
    let clock = Date.now();
    const bus = new LossyBus();
    const { reader, writer, id, secret } = await pair(bus, () => clock);
    expect(await reader.authenticate(id, secret)).not.toBeNull();

    bus.dropping = true;
    await writer.delete(OPERATOR, id);
    await new Promise((resolve) => setTimeout(resolve, 20));
    // Nobody told the reader: its copy still answers, until the TTL ends.
    expect(reader.authenticateFromMemory(id, secret)?.clientId).toBe(id);
    clock += SHARED_RECORD_TTL_MS;
    expect(reader.authenticateFromMemory(id, secret)).toBeUndefined();
    expect(await reader.authenticate(id, secret)).toBeNull();

    const again = await pair(bus, () => clock);
    expect(await again.reader.authenticate(again.id, again.secret)).not.toBeNull();
    bus.down = true;
    await again.writer.delete(OPERATOR, again.id);
    // The bus is down: memory is not trusted, the database says the client is gone.
    expect(again.reader.authenticateFromMemory(again.id, again.secret)).toBeUndefined();
    expect(await again.reader.authenticate(again.id, again.secret)).toBeNull();
  });
});
