import { type RunningAuthApi, startAuthApi } from '@groupchat/auth-api/boot';
import { loadAuthConfig } from '@groupchat/auth-api/config';
import { DEMO_USERS } from '@groupchat/auth-api/seed/demo';
import { createLogger, type EventBus, MemoryBus } from '@groupchat/service-kit';
import type { Logger } from 'pino';
import { createTestDatabaseTarget } from './database.ts';
import { freePort } from './ports.ts';

export const DEMO = {
  // Not the public default: on TEST_DATABASE_URL the start is a production one, which refuses it.
  password: 'test-demo-password-7f3a9c1e',
  metricsToken: 'test-metrics-token-0123456789abcdefghij',
  serviceClientId: 'chat-api-service',
  serviceClientSecret: 'test-service-secret-0123456789abcdefghijklmnop',
  users: {
    bob: DEMO_USERS.bob.email,
    carol: DEMO_USERS.carol.email,
    mallory: DEMO_USERS.mallory.email,
    admin: DEMO_USERS.admin.email,
  },
} as const;

export { freePort };

export interface TestAuthApi {
  url: string;
  running: RunningAuthApi;
  /** Stops listening and closes storage (the test database is dropped unless `keepDatabase`). */
  close(options?: { keepDatabase?: boolean }): Promise<void>;
  /** The env the instance was started with (DATABASE_URL included), to start another on the same data. */
  env: Record<string, string>;
}

/**
 * A real auth-api on loopback for tests: its own database (PGlite in memory, or a fresh database on
 * TEST_DATABASE_URL), migrated and seeded with the contract's demo data and `chat-api-service`.
 * Pass `env.DATABASE_URL` (from a previous instance's `env`) to restart on the same data.
 */
export async function startTestAuthApi(
  options: { bus?: EventBus; port?: number; env?: Record<string, string>; logger?: Logger } = {},
): Promise<TestAuthApi> {
  const port = options.port ?? (await freePort());
  const issuer = `http://127.0.0.1:${port}`;
  let drop = async () => {};
  const env: Record<string, string> = {
    PORT: String(port),
    HOST: '127.0.0.1',
    ISSUER: issuer,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    SERVICE_CLIENT_SECRET: DEMO.serviceClientSecret,
    SEED_DEMO_DATA: 'true',
    DEMO_PASSWORD: DEMO.password,
    SIGNING_KEY_ENCRYPTION_SECRET: 'test-signing-key-secret-0123456789abcdef',
    METRICS_TOKEN: DEMO.metricsToken,
    SIGNING_KEY_PUBLISH_AHEAD_SECONDS: '0',
    REVOCATION_POLL_MS: '500',
    // Tests see retried mail within a second or two, not after production back-off (new mail is sent
    // at once after its commit; the poll only picks up what another instance left).
    MAIL_RETRY_BASE_MS: '200',
    MAIL_DIR: `${process.env.TMPDIR ?? '/tmp'}/auth-api-test-mail-${port}`,
    RATE_LIMIT_KEY_PREFIX: `test-rl-${port}-${Date.now().toString(36)}:`,
    ...(process.env.TEST_REDIS_URL && !options.bus ? { REDIS_URL: process.env.TEST_REDIS_URL } : {}),
    ...options.env,
  };
  if (!env.DATABASE_URL) {
    const target = await createTestDatabaseTarget('auth');
    if (target.target.kind === 'postgres') {
      env.DATABASE_URL = target.target.url;
      drop = target.drop;
    }
  }
  const config = loadAuthConfig(env);
  // Without DATABASE_URL, PGlite in memory: a data dir of null.
  const effective =
    config.database.kind === 'pglite'
      ? { ...config, database: { kind: 'pglite' as const, dataDir: null } }
      : config;
  const running = await startAuthApi(effective as typeof config, {
    bus: options.bus ?? (env.REDIS_URL ? undefined : new MemoryBus()),
    logger: options.logger ?? createLogger('auth-api', env.LOG_LEVEL ?? 'silent'),
  });
  return {
    url: issuer,
    running,
    env,
    async close({ keepDatabase = false } = {}) {
      await running.close();
      if (!keepDatabase) await drop();
    },
  };
}
