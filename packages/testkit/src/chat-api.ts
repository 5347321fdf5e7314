import { type RunningChatApi, startChatApi } from '@groupchat/chat-api/boot';
import { CHAT_DB_EXTENSIONS, type ChatDB } from '@groupchat/chat-api/db/schema';
import {
  createLogger,
  type Database,
  type EventBus,
  type ExpiringSets,
  MemoryBus,
  openDatabase,
} from '@groupchat/service-kit';
import type { Logger } from 'pino';
import { DEMO } from './auth-api.ts';
import { createTestDatabaseTarget } from './database.ts';

export interface TestChatApi {
  /** e.g. http://127.0.0.1:54321 */
  url: string;
  /** e.g. ws://127.0.0.1:54321/api/chat/ws */
  wsUrl: string;
  chat: RunningChatApi;
  close(): Promise<void>;
}

/**
 * chat-api on a free port with a throw-away database (PGlite in memory, or a fresh database on
 * TEST_DATABASE_URL), talking to the auth-api at `authUrl`. Pass the bus auth-api publishes on
 * (a shared MemoryBus, or a RedisBus) so membership and revocation events arrive. The service client's
 * secret defaults to the demo one of ./auth-api.ts. Pass another instance's `database`
 * (`first.chat.database`) to run several instances on one chat database, as in production.
 */
export async function startTestChatApi(options: {
  authUrl: string;
  bus?: EventBus;
  env?: Record<string, string>;
  logger?: Logger;
  database?: Database<ChatDB>;
  /** Shared with the other instances of a test (presence); default: this instance's own, in memory. */
  sharedState?: ExpiringSets;
}): Promise<TestChatApi> {
  const env: Record<string, string> = { ...options.env };
  if (!env.SERVICE_CLIENT_SECRET) {
    env.SERVICE_CLIENT_SECRET = DEMO.serviceClientSecret;
    env.SERVICE_CLIENT_ID ??= DEMO.serviceClientId;
  }
  let drop = async () => {};
  let database = options.database;
  const ownDatabase = database === undefined;
  if (!database) {
    const created = await createTestDatabaseTarget('chat');
    drop = created.drop;
    database = await openDatabase<ChatDB>(created.target, { extensions: CHAT_DB_EXTENSIONS });
  }
  const bus = options.bus ?? new MemoryBus();
  let chat: RunningChatApi;
  try {
    chat = await startChatApi(
      {
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'silent',
        AUTH_API_URL: options.authUrl,
        // Tests are scripts, not people: limits out of the way unless a test sets its own
        // (test/limits.integration.test.ts does).
        RATE_LIMIT_POSTS_PER_SECOND: '1000000',
        RATE_LIMIT_POSTS_PER_MINUTE: '1000000',
        RATE_LIMIT_REACTIONS_PER_MINUTE: '1000000',
        RATE_LIMIT_SEARCHES_PER_MINUTE: '1000000',
        RATE_LIMIT_FAILURES_PER_MINUTE: '1000000',
        WS_MAX_FRAMES_PER_SECOND: '100000',
        WS_MAX_QUEUED_FRAMES: '100000',
        ...env,
      },
      {
        bus,
        database,
        ...(options.sharedState ? { sharedState: options.sharedState } : {}),
        logger: options.logger ?? createLogger('chat-api', env.LOG_LEVEL ?? 'silent'),
      },
    );
  } catch (error) {
    if (ownDatabase) {
      await database.close();
      await drop();
    }
    throw error;
  }
  return {
    url: chat.url,
    wsUrl: `${chat.url.replace(/^http/, 'ws')}/api/chat/ws`,
    chat,
    close: async () => {
      await chat.close();
      if (!options.bus) await bus.close();
      if (ownDatabase) {
        await database.close();
        await drop();
      }
    },
  };
}
