/**
 * `npm start`: the whole platform with one command.
 *
 * Embedded default (no DATABASE_URL / REDIS_URL): one process hosts auth-api (8000), chat-api (8001…)
 * and the web client (8080) on PGlite under ./data, with the demo data; auth-api and chat-api each run
 * on their own worker thread with their own PGlite, and talk over an in-process bus (BroadcastChannel).
 * With REDIS_URL set, each service runs as its own process (as in production) and talks over Redis;
 * AUTH_DATABASE_URL / CHAT_DATABASE_URL (or DATABASE_URL for both… no: each service owns its database)
 * point them at PostgreSQL. CHAT_INSTANCES=N starts N chat-api instances on consecutive ports.
 * Ctrl-C stops everything cleanly.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';

const root = resolve(import.meta.dirname, '..');
const env = process.env;
const host = env.HOST ?? '127.0.0.1';
const authPort = Number(env.AUTH_PORT ?? 8000);
const chatPort = Number(env.CHAT_PORT ?? 8001);
const webPort = Number(env.WEB_PORT ?? 8080);
const chatInstances = Number(env.CHAT_INSTANCES ?? 1);
const dataDir = resolve(root, env.DATA_DIR ?? 'data');
const authUrl = `http://${host}:${authPort}`;
const chatUrls = Array.from({ length: chatInstances }, (_, i) => `http://${host}:${chatPort + i}`);
const webUrl = `http://${host}:${webPort}`;
const mode = env.PLATFORM_MODE ?? (env.REDIS_URL ? 'processes' : 'embedded');

if (!Number.isInteger(chatInstances) || chatInstances < 1 || chatInstances > 16) {
  console.error('CHAT_INSTANCES must be an integer from 1 to 16');
  process.exit(2);
}

/** The demo's service-client secret: from the environment, else generated once and kept (0600) under ./data. */
function serviceClientSecret(): string {
  if (env.SERVICE_CLIENT_SECRET) return env.SERVICE_CLIENT_SECRET;
  const file = join(dataDir, 'service-client-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Builds the web client when its bundle is missing or older than its sources. */
function buildWebIfNeeded(): void {
  const webDir = join(root, 'apps/web');
  if (!existsSync(join(webDir, 'package.json'))) return;
  const dist = join(webDir, 'dist/index.html');
  const sources = Math.max(newestMtime(join(webDir, 'src')), statSync(join(webDir, 'index.html')).mtimeMs);
  if (existsSync(dist) && statSync(dist).mtimeMs >= sources) return;
  console.log('building the web client…');
  const result = spawnSync(
    process.execPath,
    [join(root, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'],
    {
      cwd: webDir,
      stdio: 'inherit',
    },
  );
  if (result.status !== 0) throw new Error('web build failed');
}

const secret = serviceClientSecret();
// The web server on this machine forwards each browser's address; both services believe it (and only it).
const trustProxy = env.TRUST_PROXY ?? '127.0.0.1,::1';
// Limits and tuning given to `npm start` reach the services that read them (each ignores the others').
const tuning = Object.fromEntries(
  Object.entries(env).filter(
    (entry): entry is [string, string] =>
      entry[1] !== undefined && (/^(RATE_LIMIT_|WS_|ARGON2_)/.test(entry[0]) || entry[0] === 'METRICS_TOKEN'),
  ),
);
const common = {
  ...tuning,
  LOG_LEVEL: env.LOG_LEVEL ?? 'info',
  TRUST_PROXY: trustProxy,
  SERVICE_CLIENT_ID: env.SERVICE_CLIENT_ID ?? 'chat-api-service',
  SERVICE_CLIENT_SECRET: secret,
  ...(env.REDIS_URL ? { REDIS_URL: env.REDIS_URL } : {}),
};
const authEnv: Record<string, string> = {
  ...common,
  PORT: String(authPort),
  HOST: host,
  ISSUER: env.ISSUER ?? authUrl,
  DATA_DIR: join(dataDir, 'auth'),
  // Demo data only in the embedded start on loopback; anything else seeds only when told (and auth-api
  // refuses the default password there).
  SEED_DEMO_DATA: env.SEED_DEMO_DATA ?? (mode === 'embedded' ? 'true' : 'false'),
  PUBLIC_WEB_URL: env.PUBLIC_WEB_URL ?? webUrl,
  ALLOWED_ORIGINS:
    env.ALLOWED_ORIGINS ??
    [webUrl, `http://localhost:${webPort}`, authUrl, `http://localhost:${authPort}`].join(','),
  ...(env.DEMO_PASSWORD ? { DEMO_PASSWORD: env.DEMO_PASSWORD } : {}),
  ...(env.AUTH_DATABASE_URL ? { DATABASE_URL: env.AUTH_DATABASE_URL } : {}),
};
const chatEnv = (port: number): Record<string, string> => ({
  ...common,
  PORT: String(port),
  HOST: host,
  AUTH_API_URL: authUrl,
  AUTH_ISSUER: authEnv.ISSUER!,
  SERVICE_TOKEN_URL: `${authUrl}/oauth/token`,
  DATA_DIR: join(dataDir, 'chat'),
  ...(env.CHAT_DATABASE_URL ? { DATABASE_URL: env.CHAT_DATABASE_URL } : {}),
});

function banner(): void {
  const password = env.DEMO_PASSWORD ?? 'correct-horse-battery-staple';
  const seeded = authEnv.SEED_DEMO_DATA === 'true';
  console.log(`
GroupChat platform is up (${mode === 'embedded' ? 'embedded: PGlite under ./data, one thread per service, in-process events' : 'processes, events over Redis'})
  web client   ${webUrl}
  auth-api     ${authUrl}   (OpenAPI: ${authUrl}/docs)
  chat-api     ${chatUrls.join(', ')}   (OpenAPI: ${chatUrls[0]}/docs)
${seeded ? '' : 'No demo data (production profile; SEED_DEMO_DATA=true and a DEMO_PASSWORD of your own to seed it)\n'}Demo logins (password: ${seeded ? (mode === 'embedded' ? password : '$DEMO_PASSWORD') : 'none'})
  bob@acme.example, carol@acme.example   (org Acme, group "general")
  mallory@globex.example                 (org Globex)
  admin@platform.example                 (platform admin)
Service client: chat-api-service (secret in $SERVICE_CLIENT_SECRET or ./data/service-client-secret)
Live scenario:  npm run scenario      Stop: Ctrl-C
`);
}

/**
 * Everything started so far, closed in this order on a stop. The signal handlers are in place before
 * anything starts: a Ctrl-C at any moment, during the build or while a service is still starting, stops what
 * is up and exits 0 (a service thread still starting takes the stop once it is up; see stopServiceThread).
 */
const closers: (() => Promise<void>)[] = [];
let stopping = false;
async function stop(reason: string, exitCode = 0): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`\n${reason}: stopping…`);
  for (const close of [...closers]) await close().catch((error) => console.error(error));
  process.exit(exitCode);
}
process.once('SIGINT', () => void stop('SIGINT'));
process.once('SIGTERM', () => void stop('SIGTERM'));

/**
 * One service on its own worker thread (scripts/embedded-service.ts). The worker is returned at once, so a
 * stop during start-up can close it; `ready` resolves once it listens.
 */
function startServiceThread(
  service: 'auth-api' | 'chat-api',
  envs: Record<string, string>[],
): { worker: Worker; ready: Promise<void> } {
  const worker = new Worker(new URL('./embedded-service.ts', import.meta.url), {
    workerData: { service, envs, logLevel: common.LOG_LEVEL },
    name: service,
  });
  const ready = new Promise<void>((resolveReady, reject) => {
    const onExit = (code: number) =>
      reject(new Error(`${service} thread exited with ${code} before it was ready`));
    worker.once('error', reject);
    worker.once('exit', onExit);
    worker.once('message', (message: { type?: string }) => {
      if (message?.type !== 'ready') return;
      worker.off('error', reject);
      worker.off('exit', onExit);
      worker.on('error', (error) => console.error(`${service}: ${error.stack ?? error}`));
      resolveReady();
    });
  });
  return { worker, ready };
}

/** Asks a service thread to close its servers and storage, and waits for it (10 s at most). */
async function stopServiceThread(worker: Worker): Promise<void> {
  const stopped = new Promise<void>((resolveStopped) => {
    worker.on('message', (message: { type?: string }) => {
      if (message?.type === 'stopped') resolveStopped();
    });
    worker.once('exit', () => resolveStopped());
  });
  worker.postMessage({ type: 'stop' });
  await Promise.race([stopped, new Promise((r) => setTimeout(r, 10_000))]);
  await worker.terminate();
}

/**
 * Embedded: each service on its own worker thread with its own PGlite (auth-api on one, every
 * chat-api instance on another: they share one data directory), so one service's database work never
 * stalls the other; events between them over BroadcastChannel (service-kit's ThreadBus). The web
 * server stays on the main thread.
 */
async function runEmbedded(): Promise<void> {
  const auth = startServiceThread('auth-api', [authEnv]);
  closers.push(() => stopServiceThread(auth.worker));
  await auth.ready;
  if (stopping) return;
  const chat = startServiceThread(
    'chat-api',
    chatUrls.map((_, i) => chatEnv(chatPort + i)),
  );
  closers.unshift(() => stopServiceThread(chat.worker));
  await chat.ready;
  if (stopping) return;
  if (existsSync(join(root, 'apps/web/server.ts'))) {
    const { startWebServer } = await import('@groupchat/web/server');
    if (stopping) return;
    const web = await startWebServer({
      port: webPort,
      host,
      authApiUrl: authUrl,
      chatApiUrl: chatUrls[0]!,
      distDir: join(root, 'apps/web/dist'),
    });
    closers.unshift(() => web.close());
  }
  if (!stopping) banner();
}

async function waitHealthy(url: string, child: ChildProcess, timeoutMs = 60_000): Promise<void> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (child.exitCode !== null) throw new Error(`${url}: process exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/health`)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not become healthy`);
}

async function runProcesses(): Promise<void> {
  const start = (name: string, script: string, childEnv: Record<string, string>) => {
    const child = spawn(process.execPath, [join(root, script)], {
      env: { ...env, ...childEnv },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('exit', (code, signal) => {
      if (!stopping) console.error(`${name} exited (${signal ?? code})`);
    });
    closers.unshift(async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    });
    return child;
  };
  const auth = start('auth-api', 'apps/auth-api/src/main.ts', authEnv);
  await waitHealthy(authUrl, auth);
  if (stopping) return;
  await Promise.all(
    chatUrls.map((url, i) =>
      waitHealthy(url, start(`chat-api#${i + 1}`, 'apps/chat-api/src/main.ts', chatEnv(chatPort + i))),
    ),
  );
  if (stopping) return;
  if (existsSync(join(root, 'apps/web/server.ts'))) {
    const web = start('web', 'apps/web/server.ts', {
      WEB_PORT: String(webPort),
      HOST: host,
      AUTH_API_URL: authUrl,
      CHAT_API_URL: chatUrls[0]!,
    });
    await waitHealthy(webUrl, web);
  }
  if (!stopping) banner();
}

try {
  buildWebIfNeeded();
  if (!stopping) await (mode === 'embedded' ? runEmbedded() : runProcesses());
} catch (error) {
  // A part that was still starting when the stop came fails to start: that is the stop, not an error.
  // Otherwise what did start is stopped too (no service left running without the rest).
  if (!stopping) {
    console.error(`npm start failed: ${(error as Error).message}`);
    await stop('start-up failed', 1);
  }
}
