import {
  createBus,
  createLogger,
  createRateLimiter,
  type EventBus,
  type HttpServer,
  migrateToLatest,
  openDatabase,
  type RateLimiter,
} from '@groupchat/service-kit';
import type { Logger } from 'pino';
import { buildApp } from './app.ts';
import { ensureDeclaredClients } from './clients/index.ts';
import type { AuthConfig } from './config.ts';
import { type AuthCore, createAuthCore, startAuthCore, stopAuthCore } from './core.ts';
import { migrations } from './db/migrations.ts';
import type { AuthDB } from './db/schema.ts';
import { seedDemoData } from './seed/demo.ts';

export interface RunningAuthApi {
  app: HttpServer;
  core: AuthCore;
  url: string;
  close(): Promise<void>;
}

/**
 * Opens storage, migrates, starts the core, seeds what configuration asks for, builds the app and
 * listens. Shared by main.ts, the platform launcher and tests, so all of them start the same way.
 */
export async function startAuthApi(
  config: AuthConfig,
  overrides: { bus?: EventBus; logger?: Logger; rateLimiter?: RateLimiter; now?: () => number } = {},
): Promise<RunningAuthApi> {
  const logger = overrides.logger ?? createLogger('auth-api', config.logLevel);
  const database = await openDatabase<AuthDB>(config.database);
  const applied = await migrateToLatest(database.db, migrations);
  if (applied.length > 0)
    logger.info({ event: 'migrations_applied', migrations: applied }, 'database migrated');
  const ownsBus = !overrides.bus;
  const bus =
    overrides.bus ??
    createBus(config.redisUrl, {
      onError: (error) => logger.warn({ err: error, event: 'redis_error' }, 'redis error'),
    });
  const rateLimiter = overrides.rateLimiter ?? createRateLimiter(config.redisUrl, config.rateLimitKeyPrefix);
  const core = createAuthCore({
    config,
    db: database.db,
    bus,
    rateLimiter,
    logger,
    ...(overrides.now ? { now: overrides.now } : {}),
  });
  await startAuthCore(core);
  core.mail.sender.start();
  await ensureDeclaredClients(core);
  if (config.demo.seed) {
    const { created } = await seedDemoData(database.db, core.passwords, config.demo.password);
    if (created > 0) logger.info({ event: 'demo_data_seeded', created }, 'demo data seeded');
  }
  const app = await buildApp(core);
  const address = await app.listen({ port: config.port, host: config.host });
  const url = address.replace('[::1]', '127.0.0.1');
  logger.info({ event: 'listening', url }, `auth-api listening on ${url}`);
  return {
    app,
    core,
    url,
    async close() {
      await app.close();
      stopAuthCore(core);
      await core.mail.sender.stop();
      if (ownsBus) await bus.close();
      if (!overrides.rateLimiter) await rateLimiter.close();
      await database.close();
    },
  };
}
