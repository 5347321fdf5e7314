/**
 * The servers under test, started exactly as in production (`node apps/<app>/src/main.ts` with its
 * env), and the oidc-provider peer. With --cpu-prof each server process writes a V8 CPU profile on exit.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { progress } from './log.ts';
import type { Role } from './pinning.ts';
import { freePort, type ManagedProcess, onCleanup, spawnNode, waitHealthy } from './processes.ts';

export const SERVICE_CLIENT_ID = 'chat-api-service';
/** Not the public default: a start on PostgreSQL refuses that one. */
export const DEMO_PASSWORD = 'bench-demo-password-5e2b';
/** Outside the demo profile /metrics needs a bearer secret (METRICS_TOKEN); the bench scrapes with this one. */
export const METRICS_TOKEN = 'bench-metrics-token-0f3a9c2e7b1d4a6f8e5c';

/** Rate limits raised far above anything the benchmark can reach: it measures work, not refusals. */
const UNLIMITED = '1000000000';
/**
 * chat-api's per-user limits: two users send every message of a run, and the delivery rows connect up
 * to 10,000 sockets as a handful of users.
 */
const CHAT_UNLIMITED = {
  RATE_LIMIT_POSTS_PER_SECOND: UNLIMITED,
  RATE_LIMIT_POSTS_PER_MINUTE: UNLIMITED,
  RATE_LIMIT_SEARCHES_PER_MINUTE: UNLIMITED,
  WS_MAX_CONNECTIONS_PER_USER: UNLIMITED,
};

export interface ServerSettings {
  redisUrl: string;
  authDatabaseUrl: string;
  chatDatabaseUrl: string;
  /** One port (and so one issuer) for every auth-api process of the run. */
  authPort: number;
  serviceClientSecret: string;
  /** Directory for --cpu-prof profiles, when profiling. */
  cpuProfDir: string | undefined;
}

export interface Server {
  url: string;
  proc: ManagedProcess;
  /** Profile file this process writes when it exits, when profiling. */
  profilePath: string | undefined;
  stop(): Promise<void>;
}

function profiling(
  settings: ServerSettings,
  label: string,
): { nodeArgs: string[]; path: string | undefined } {
  if (!settings.cpuProfDir) return { nodeArgs: [], path: undefined };
  const name = `${label}.cpuprofile`;
  return {
    nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${settings.cpuProfDir}`, `--cpu-prof-name=${name}`],
    path: join(settings.cpuProfDir, name),
  };
}

async function startServer(
  label: string,
  script: string,
  port: number,
  env: Record<string, string>,
  settings: ServerSettings,
  role: Role = 'server',
): Promise<Server> {
  const prof = profiling(settings, label);
  const extra = process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const proc = spawnNode(label, script, { nodeArgs: [...extra, ...prof.nodeArgs], env, role });
  const url = `http://127.0.0.1:${port}`;
  await waitHealthy(proc, `${url}/health`);
  return {
    url,
    proc,
    profilePath: prof.path,
    async stop() {
      await proc.stop();
    },
  };
}

export function authIssuer(settings: ServerSettings): string {
  return `http://127.0.0.1:${settings.authPort}`;
}

/** A fresh data directory for a PGlite-backed process, removed at exit. */
export function tempDataDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `bench-${label}-`));
  onCleanup(`data directory ${dir}`, async () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * auth-api with the demo data, the declared chat-api-service client and no effective rate limits.
 * `postgres`: PostgreSQL + Redis (production); `pglite`: the embedded mode (PGlite in a fresh data
 * directory, in-memory limiter and bus), the way `npm start` runs it without DATABASE_URL/REDIS_URL.
 */
export async function startAuthApi(
  settings: ServerSettings,
  label: string,
  storage: 'postgres' | 'pglite' = 'postgres',
): Promise<Server> {
  progress(`starting auth-api (${label}, ${storage === 'postgres' ? 'PostgreSQL + Redis' : 'PGlite'})`);
  const storageEnv: Record<string, string> =
    storage === 'postgres'
      ? { DATABASE_URL: settings.authDatabaseUrl, REDIS_URL: settings.redisUrl }
      : { DATA_DIR: tempDataDir(label) };
  return startServer(
    label,
    'apps/auth-api/src/main.ts',
    settings.authPort,
    {
      PORT: String(settings.authPort),
      HOST: '127.0.0.1',
      ISSUER: authIssuer(settings),
      ...storageEnv,
      SERVICE_CLIENT_SECRET: settings.serviceClientSecret,
      SEED_DEMO_DATA: 'true',
      DEMO_PASSWORD,
      METRICS_TOKEN,
      SIGNING_KEY_ENCRYPTION_SECRET: `bench-keys-${settings.serviceClientSecret}`,
      LOG_LEVEL: 'warn',
      RATE_LIMIT_TOKEN_PER_CLIENT: UNLIMITED,
      RATE_LIMIT_TOKEN_PER_IP: UNLIMITED,
      RATE_LIMIT_LOGIN_PER_IP: UNLIMITED,
      RATE_LIMIT_LOGIN_PER_EMAIL: UNLIMITED,
    },
    settings,
  );
}

export async function startChatApi(
  settings: ServerSettings,
  label: string,
  port: number,
  extraEnv: Record<string, string> = {},
): Promise<Server> {
  progress(`starting chat-api (${label})`);
  const authUrl = authIssuer(settings);
  return startServer(
    label,
    'apps/chat-api/src/main.ts',
    port,
    {
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: settings.chatDatabaseUrl,
      REDIS_URL: settings.redisUrl,
      AUTH_API_URL: authUrl,
      AUTH_ISSUER: authUrl,
      SERVICE_TOKEN_URL: `${authUrl}/oauth/token`,
      SERVICE_CLIENT_ID: SERVICE_CLIENT_ID,
      SERVICE_CLIENT_SECRET: settings.serviceClientSecret,
      METRICS_TOKEN,
      LOG_LEVEL: 'warn',
      ...CHAT_UNLIMITED,
      ...extraEnv,
    },
    settings,
  );
}

export interface Platform extends Server {
  authUrl: string;
  chatUrl: string;
}

/**
 * The embedded default exactly as `npm start` runs it (scripts/start.ts, no DATABASE_URL/REDIS_URL:
 * PGlite, in-process bus, demo data), on free ports and a fresh data directory. Unpinned: it is the
 * whole platform on however many threads it uses.
 */
export async function startEmbeddedPlatform(settings: ServerSettings, label: string): Promise<Platform> {
  progress(`starting the embedded platform (${label}: scripts/start.ts, PGlite, in-process bus)`);
  const [authPort, chatPort, webPort] = [await freePort(), await freePort(), await freePort()];
  const env: Record<string, string> = {
    AUTH_PORT: String(authPort),
    CHAT_PORT: String(chatPort),
    WEB_PORT: String(webPort),
    HOST: '127.0.0.1',
    DATA_DIR: tempDataDir(label),
    SERVICE_CLIENT_SECRET: settings.serviceClientSecret,
    // The bench logs in with its own demo password (api.ts), on every platform it starts.
    DEMO_PASSWORD,
    // scripts/start.ts hands RATE_LIMIT_* (and the other limits) through to the services.
    ...CHAT_UNLIMITED,
    LOG_LEVEL: 'warn',
    PLATFORM_MODE: 'embedded',
  };
  // The launcher must not see the orchestrator's storage settings: embedded means none.
  for (const key of ['DATABASE_URL', 'REDIS_URL', 'AUTH_DATABASE_URL', 'CHAT_DATABASE_URL']) env[key] = '';
  const prof = profiling(settings, label);
  const proc = spawnNode(label, 'scripts/start.ts', { nodeArgs: prof.nodeArgs, env, role: 'platform' });
  const authUrl = `http://127.0.0.1:${authPort}`;
  const chatUrl = `http://127.0.0.1:${chatPort}`;
  await waitHealthy(proc, `${authUrl}/health`, 180_000);
  await waitHealthy(proc, `${chatUrl}/health`, 60_000);
  return {
    url: chatUrl,
    authUrl,
    chatUrl,
    proc,
    profilePath: prof.path,
    async stop() {
      await proc.stop();
    },
  };
}

export const PEER_CLIENT_ID = 'bench-client';
export const PEER_RESOURCE = 'urn:groupchat:auth-api';

/** oidc-provider configured like our token endpoint (see bench/peers/oidc-provider-server.ts). */
export async function startOidcProvider(
  settings: ServerSettings,
  label: string,
  port: number,
  clientSecret: string,
): Promise<Server> {
  progress(`starting oidc-provider peer (${label})`);
  return startServer(
    label,
    'bench/peers/oidc-provider-server.ts',
    port,
    {
      PORT: String(port),
      PEER_CLIENT_ID,
      PEER_CLIENT_SECRET: clientSecret,
      PEER_RESOURCE,
      NODE_ENV: 'production',
    },
    settings,
  );
}
