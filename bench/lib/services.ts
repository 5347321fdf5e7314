/**
 * The servers under test, started exactly as in production (`node apps/<app>/src/main.ts` with its
 * env), and the oidc-provider peer. With --cpu-prof each server process writes a V8 CPU profile on exit.
 */
import { join } from 'node:path';
import { progress } from './log.ts';
import { type ManagedProcess, spawnNode, waitHealthy } from './processes.ts';

export const SERVICE_CLIENT_ID = 'chat-api-service';
/** Not the public default: a start on PostgreSQL refuses that one. */
export const DEMO_PASSWORD = 'bench-demo-password-5e2b';

/** Rate limits raised far above anything the benchmark can reach: it measures work, not refusals. */
const UNLIMITED = '1000000000';

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
): Promise<Server> {
  const prof = profiling(settings, label);
  const proc = spawnNode(label, script, { nodeArgs: prof.nodeArgs, env });
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

/** auth-api on PostgreSQL with the demo data, the declared chat-api-service client and no effective rate limits. */
export async function startAuthApi(settings: ServerSettings, label: string): Promise<Server> {
  progress(`starting auth-api (${label})`);
  return startServer(
    label,
    'apps/auth-api/src/main.ts',
    settings.authPort,
    {
      PORT: String(settings.authPort),
      HOST: '127.0.0.1',
      ISSUER: authIssuer(settings),
      DATABASE_URL: settings.authDatabaseUrl,
      REDIS_URL: settings.redisUrl,
      SERVICE_CLIENT_SECRET: settings.serviceClientSecret,
      SEED_DEMO_DATA: 'true',
      DEMO_PASSWORD,
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

export async function startChatApi(settings: ServerSettings, label: string, port: number): Promise<Server> {
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
      LOG_LEVEL: 'warn',
    },
    settings,
  );
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
