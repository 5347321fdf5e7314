import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClientService } from '../../src/clients/index.ts';
import { ClientRecordCache } from '../../src/clients/record-cache.ts';
import type { ClientWithSecrets } from '../../src/clients/repository.ts';
import { OPERATOR, startApi, type TestAuthApi } from './helpers.ts';

function record(clientId: string, secretId: string): ClientWithSecrets {
  const at = new Date();
  return {
    clientId,
    clientName: clientId,
    clientType: 'confidential',
    allowedScopes: [],
    grantTypes: ['client_credentials'],
    redirectUris: [],
    tokenEndpointAuthMethod: 'client_secret_basic',
    firstParty: false,
    createdAt: at,
    updatedAt: at,
    secrets: [{ id: secretId, hash: 'h', expiresAt: null }],
  };
}

describe('ClientRecordCache', () => {
  it('loads once for concurrent readers, then serves from memory', async () => {
    const cache = new ClientRecordCache();
    let loads = 0;
    const load = async () => {
      loads += 1;
      await new Promise((resolve) => setTimeout(resolve, 10));
      return record('a', 's1');
    };
    const results = await Promise.all([cache.get('a', load), cache.get('a', load), cache.get('a', load)]);
    expect(results.every((r) => r?.secrets[0]?.id === 's1')).toBe(true);
    await cache.get('a', load);
    expect(loads).toBe(1);
  });

  it('never keeps a copy read before a change that committed during the read', async () => {
    const cache = new ClientRecordCache();
    let release!: () => void;
    const slow = cache.get(
      'a',
      () =>
        new Promise<ClientWithSecrets>((resolve) => {
          release = () => resolve(record('a', 'old'));
        }),
    );
    cache.invalidate(); // a rotation commits while the read is in flight
    release();
    expect((await slow)?.secrets[0]?.id).toBe('old'); // that request raced the change: fine
    const fresh = await cache.get('a', async () => record('a', 'new'));
    expect(fresh?.secrets[0]?.id).toBe('new');
  });

  it('does not cache unknown clients', async () => {
    const cache = new ClientRecordCache();
    let loads = 0;
    const load = async () => {
      loads += 1;
      return undefined;
    };
    await cache.get('nobody', load);
    await cache.get('nobody', load);
    expect(loads).toBe(2);
  });
});

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
