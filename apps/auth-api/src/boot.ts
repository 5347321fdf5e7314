import {
  ConfigError,
  createBus,
  createLogger,
  createRateLimiter,
  type EventBus,
  type HttpServer,
  lockDataDir,
  migrateToLatest,
  openDatabase,
  type RateLimiter,
  Resources,
} from '@groupchat/service-kit';
import type { Logger } from 'pino';
import { buildApp } from './app.ts';
import { ensureDeclaredClients } from './clients/index.ts';
import type { AuthConfig } from './config.ts';
import { DEFAULT_DEMO_PASSWORD } from './config.ts';
import { type AuthCore, createAuthCore, startAuthCore, stopAuthCore } from './core.ts';
import { migrations } from './db/migrations.ts';
import type { AuthDB } from './db/schema.ts';
import { withKeySecret } from './keys/at-rest.ts';
import { DEMO_USERS, seedDemoData } from './seed/demo.ts';

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
  // Whatever a failed step leaves open (lock, database, bus, limiter, core, port) is closed again.
  const resources = new Resources();
  return resources.starting(async () => {
    // A PGlite directory is ours alone while we run (the CLI checks this lock before opening it).
    if (config.database.kind === 'pglite' && config.database.dataDir)
      resources.add(lockDataDir(config.database.dataDir), (unlock) => unlock());
    const database = resources.add(await openDatabase<AuthDB>(config.database), (d) => d.close());
    const applied = await migrateToLatest(database.db, migrations);
    if (applied.length > 0)
      logger.info({ event: 'migrations_applied', migrations: applied }, 'database migrated');
    const bus =
      overrides.bus ??
      resources.add(
        createBus(config.redisUrl, {
          onError: (error) => logger.warn({ err: error, event: 'redis_error' }, 'redis error'),
        }),
        (b) => b.close(),
      );
    const rateLimiter =
      overrides.rateLimiter ??
      resources.add(createRateLimiter(config.redisUrl, config.rateLimitKeyPrefix), (r) => r.close());
    const core = createAuthCore({
      config: withKeySecret(config),
      db: database.db,
      bus,
      rateLimiter,
      logger,
      ...(overrides.now ? { now: overrides.now } : {}),
    });
    await startAuthCore(core);
    resources.add(core, stopAuthCore);
    core.mail.sender.start();
    resources.add(core.mail.sender, (sender) => sender.stop());
    await ensureDeclaredClients(core);
    if (config.demo.seed) {
      const { created } = await seedDemoData(database.db, core.hasher, config.demo.password);
      if (created > 0) logger.info({ event: 'demo_data_seeded', created }, 'demo data seeded');
    }
    if (config.profile === 'production') await refuseDefaultPasswords(core);
    const app = resources.add(await buildApp(core), (a) => a.close());
    const address = await app.listen({ port: config.port, host: config.host });
    const url = address.replace('[::1]', '127.0.0.1');
    logger.info({ event: 'listening', url }, `auth-api listening on ${url}`);
    return { app, core, url, close: () => resources.close() };
  });
}

/**
 * Outside the embedded demo, no platform admin and no demo account may still have the public demo
 * password (a database seeded by an earlier demo start, say): anyone could sign in as them.
 */
async function refuseDefaultPasswords(core: AuthCore): Promise<void> {
  const demoEmails = Object.values(DEMO_USERS).map((u) => u.email as string);
  const rows = await core.db
    .selectFrom('users')
    .select(['email', 'password_hash'])
    .where((eb) => eb.or([eb('role', '=', 'platform_admin'), eb('email', 'in', demoEmails)]))
    .execute();
  const exposed: string[] = [];
  for (const row of rows) {
    if (row.password_hash && (await core.hasher.verify(row.password_hash, DEFAULT_DEMO_PASSWORD)))
      exposed.push(row.email);
  }
  if (exposed.length > 0)
    throw new ConfigError([
      `accounts with the public demo password outside the embedded demo start: ${exposed.join(', ')} (change their passwords or remove them)`,
    ]);
}
