import { createLogger, MemoryBus, MemoryRateLimiter } from '@groupchat/service-kit';
import { freePort, startTestAuthApi, type TestAuthApi } from '@groupchat/testkit/auth-api';
import { buildApp } from '../../src/app.ts';
import { createAuthCore, startAuthCore, stopAuthCore } from '../../src/core.ts';

export interface SecondInstance {
  url: string;
  close(): Promise<void>;
}

/**
 * A second auth-api instance on the first one's database. On PostgreSQL: a separate server with its
 * own pool and caches, on the shared bus (TEST_REDIS_URL) unless `ownBus`, in which case it can only
 * learn of changes from the database (the slowest path). On PGlite (one process owns the database): a
 * second core and app over the same database handle, always with a bus of its own.
 */
export async function startSecondInstance(
  first: TestAuthApi,
  options: { ownBus?: boolean } = {},
): Promise<SecondInstance> {
  if (first.env.DATABASE_URL) {
    const second = await startTestAuthApi({
      ...(options.ownBus ? { bus: new MemoryBus() } : {}),
      env: { DATABASE_URL: first.env.DATABASE_URL, ISSUER: first.url },
    });
    return { url: second.url, close: () => second.close({ keepDatabase: true }) };
  }
  const port = await freePort();
  const base = first.running.core;
  const core = createAuthCore({
    config: { ...base.config, port },
    db: base.db,
    bus: new MemoryBus(),
    rateLimiter: new MemoryRateLimiter(),
    logger: createLogger('auth-api-2', 'silent'),
  });
  await startAuthCore(core);
  const app = await buildApp(core);
  await app.listen({ port, host: '127.0.0.1' });
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      await app.close();
      stopAuthCore(core);
    },
  };
}
