import {
  createBus,
  createExpiringSets,
  createLogger,
  type Database,
  type Env,
  type EventBus,
  type ExpiringSets,
  migrateToLatest,
  openDatabase,
  Resources,
} from '@groupchat/service-kit';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import { buildApp, type ChatApi } from './app.ts';
import { type ChatConfig, loadChatConfig } from './config.ts';
import { migrations } from './db/migrations.ts';
import { CHAT_DB_EXTENSIONS, type ChatDB } from './db/schema.ts';

export interface RunningChatApi extends ChatApi {
  /** Base URL, e.g. http://127.0.0.1:8001. */
  url: string;
  config: ChatConfig;
  database: Database<ChatDB>;
  bus: EventBus;
}

export interface StartOverrides {
  /** Share a bus (e.g. a MemoryBus with auth-api in one process); not closed by close(). */
  bus?: EventBus;
  logger?: Logger;
  dispatcher?: Dispatcher;
  /** Use this database target instead of the configured one (tests). */
  database?: Database<ChatDB>;
  instanceId?: string;
  /** Shared expiring state (presence); not closed by close(). Default: Redis at REDIS_URL, else memory. */
  sharedState?: ExpiringSets;
}

/**
 * Parses `env`, opens and migrates the database, builds and starts listening. For main.ts and for
 * running the platform in one process: pass auth-api's MemoryBus as `overrides.bus`.
 */
export async function startChatApi(env: Env, overrides: StartOverrides = {}): Promise<RunningChatApi> {
  const config = loadChatConfig(env);
  const logger = overrides.logger ?? createLogger('chat-api', config.logLevel);
  // Whatever a failed step leaves open (database, bus, shared state, the app) is closed again.
  const resources = new Resources();
  return resources.starting(async () => {
    const database =
      overrides.database ??
      resources.add(await openDatabase<ChatDB>(config.database, { extensions: CHAT_DB_EXTENSIONS }), (d) =>
        d.close(),
      );
    const bus =
      overrides.bus ??
      resources.add(
        createBus(config.redisUrl, {
          onError: (error) => logger.warn({ err: error, event: 'bus_error' }, 'bus error'),
        }),
        (b) => b.close(),
      );
    const sharedState =
      overrides.sharedState ??
      resources.add(
        createExpiringSets(config.redisUrl, {
          onError: (error) => logger.warn({ err: error, event: 'shared_state_error' }, 'shared state error'),
        }),
        (state) => state.close(),
      );
    const applied = await migrateToLatest(database.db, migrations);
    if (applied.length > 0)
      logger.info({ event: 'migrations_applied', migrations: applied }, 'database migrated');
    const chat = resources.add(
      await buildApp({
        config,
        logger,
        database,
        bus,
        sharedState,
        ...(overrides.dispatcher ? { dispatcher: overrides.dispatcher } : {}),
        ...(overrides.instanceId ? { instanceId: overrides.instanceId } : {}),
      }),
      (c) => c.close(),
    );
    const address = await chat.app.listen({ port: config.port, host: config.host });
    const url = address.replace('[::1]', 'localhost');
    logger.info({ event: 'chat_api_listening', url }, 'chat-api listening');
    return { ...chat, url, config, database, bus, close: () => resources.close() };
  });
}
