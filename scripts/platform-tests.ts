/**
 * `npm run test:platform` (CI): the whole platform as a user starts it, then the live scenario.
 *  1. `npm start` on the embedded default (fresh ./data in a temp dir) → scenario → Ctrl-C → restart on
 *     the same data (the demo seed is idempotent) → scenario again.
 *  2. `npm start` with PostgreSQL + Redis and CHAT_INSTANCES=2 → scenario with Bob on instance 1 and
 *     Carol on instance 2 (messages cross Redis).
 *  3. The fault tests (tests/faults, each file on a platform of its own): kill -9 a chat-api mid-stream,
 *     restart PostgreSQL, stop auth-api for 30 s, kill and restart Redis during fan-out, kill -9 auth-api
 *     while chat-api renews its 30 s service token.
 * Hermetic: every start uses free ports (npm start's AUTH_PORT/CHAT_PORT/WEB_PORT), and the PostgreSQL +
 * Redis round runs on a private PostgreSQL cluster and redis-server (tests/support/infra.ts), never on the
 * machine's shared ones, so it can run beside other test runs.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { freePortRange, portIsFree, startPostgres, startRedis } from '../tests/support/infra.ts';

const root = resolve(import.meta.dirname, '..');
const results: { name: string; ok: boolean }[] = [];

function run(command: string, args: string[], env: Record<string, string> = {}): Promise<number> {
  return new Promise((resolvePromise) => {
    const child = spawn(command, args, { cwd: root, env: { ...process.env, ...env }, stdio: 'inherit' });
    child.on('exit', (code) => resolvePromise(code ?? 1));
  });
}

function startPlatform(env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [join(root, 'scripts/start.ts')], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return child;
}

/**
 * Waits until every probe answers 200: the services' `/ready` and the web server's `/health`. npm start is up
 * only when all of them are (it prints its banner then); a check that starts earlier races the start-up.
 */
async function waitReady(probes: string[], child: ChildProcess, timeoutMs = 120_000): Promise<void> {
  const started = Date.now();
  for (const url of probes) {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}`);
      if (Date.now() - started > timeoutMs) throw new Error(`${url} not ready within ${timeoutMs} ms`);
      try {
        if ((await fetch(url)).ok) break;
      } catch {}
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

async function stopPlatform(child: ChildProcess): Promise<boolean> {
  if (child.exitCode !== null) return false;
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const code = await exited;
  clearTimeout(timer);
  return code === 0;
}

/** The built web client (its index.html) is served on the web server's root. */
async function webClientServed(webUrl: string): Promise<boolean> {
  const page = await fetch(`${webUrl}/`, { headers: { accept: 'text/html' } }).then(
    async (r) => (r.ok ? await r.text() : ''),
    () => '',
  );
  const served = page.includes('<div id="root">');
  if (!served) console.error(`     the web client is not served on ${webUrl}`);
  return served;
}

/**
 * `npm start` with `env`, ready on every probe, then `body`; then Ctrl-C. Passes only when the body does
 * and npm start exits 0 on that SIGINT (a start that has to be killed is a failure, not noise).
 */
async function withPlatform(
  env: Record<string, string>,
  probes: string[],
  body: () => Promise<boolean>,
): Promise<boolean> {
  const platform = startPlatform(env);
  let ok = false;
  try {
    await waitReady(probes, platform);
    ok = await body();
  } finally {
    const clean = await stopPlatform(platform);
    if (!clean) console.error('     npm start did not exit cleanly on SIGINT');
    ok &&= clean;
  }
  return ok;
}

async function check(name: string, body: () => Promise<boolean>): Promise<void> {
  console.log(`\n──── ${name}`);
  let ok = false;
  try {
    ok = await body();
  } catch (error) {
    console.error(`     ${(error as Error).message}`);
  }
  results.push({ name, ok });
  console.log(`${ok ? '✅' : '❌'} ${name}`);
}

async function createDatabase(adminUrl: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  await client.query(`drop database if exists "${name}" with (force)`);
  await client.query(`create database "${name}"`);
  await client.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

const embeddedData = mkdtempSync(join(tmpdir(), 'groupchat-embedded-'));
try {
  for (const round of ['first start', 'restart on the same data']) {
    await check(`embedded default (${round}): npm start + scenario`, async () => {
      const base = await freePortRange(3);
      const [authUrl, chatUrl, webUrl] = [0, 1, 2].map((i) => `http://127.0.0.1:${base + i}`) as [
        string,
        string,
        string,
      ];
      return withPlatform(
        {
          DATA_DIR: embeddedData,
          AUTH_PORT: String(base),
          CHAT_PORT: String(base + 1),
          WEB_PORT: String(base + 2),
        },
        [`${authUrl}/ready`, `${chatUrl}/ready`, `${webUrl}/health`],
        async () => {
          const code = await run(process.execPath, [join(root, 'scripts/scenario.ts')], {
            AUTH_URL: authUrl,
            CHAT_URL: chatUrl,
            SERVICE_CLIENT_SECRET_FILE: join(embeddedData, 'service-client-secret'),
          });
          return code === 0 && (await webClientServed(webUrl));
        },
      );
    });
  }
  await check(
    'embedded default: Ctrl-C while npm start is still starting exits 0 and frees every port',
    async () => {
      const base = await freePortRange(3);
      const platform = startPlatform({
        DATA_DIR: embeddedData,
        AUTH_PORT: String(base),
        CHAT_PORT: String(base + 1),
        WEB_PORT: String(base + 2),
      });
      // auth-api answers while chat-api and the web server are still to come: the stop lands mid-start.
      await waitReady([`http://127.0.0.1:${base}/health`], platform);
      const webUpAlready = await fetch(`http://127.0.0.1:${base + 2}/health`).then(
        () => true,
        () => false,
      );
      const clean = await stopPlatform(platform);
      if (!clean) console.error('     npm start did not exit cleanly on SIGINT during start-up');
      const freed = (await Promise.all([0, 1, 2].map((i) => portIsFree(base + i)))).every(Boolean);
      if (!freed) console.error('     a port of the platform is still taken after npm start exited');
      if (webUpAlready) console.error('     the web server was up already: the stop did not land mid-start');
      return clean && freed && !webUpAlready;
    },
  );
} finally {
  rmSync(embeddedData, { recursive: true, force: true });
}

await check(
  'PostgreSQL + Redis, two chat-api instances: npm start + scenario (Bob on chat-api 1, Carol on chat-api 2)',
  async () => {
    const [postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
    const suffix = Date.now().toString(36);
    const secret = `ci-${suffix}-${'x'.repeat(40)}`;
    const password = `platform-${suffix}-demo`;
    const base = await freePortRange(4);
    const url = (i: number) => `http://127.0.0.1:${base + i}`;
    // A start on PostgreSQL seeds nothing unless told, and never with the default password.
    try {
      return await withPlatform(
        {
          AUTH_DATABASE_URL: await createDatabase(postgres.url, `platform_auth_${suffix}`),
          CHAT_DATABASE_URL: await createDatabase(postgres.url, `platform_chat_${suffix}`),
          REDIS_URL: redis.url,
          CHAT_INSTANCES: '2',
          SERVICE_CLIENT_SECRET: secret,
          SEED_DEMO_DATA: 'true',
          DEMO_PASSWORD: password,
          SIGNING_KEY_ENCRYPTION_SECRET: `platform-keys-${secret}`,
          AUTH_PORT: String(base),
          CHAT_PORT: String(base + 1),
          WEB_PORT: String(base + 3),
        },
        [`${url(0)}/ready`, `${url(1)}/ready`, `${url(2)}/ready`, `${url(3)}/health`],
        async () => {
          const code = await run(process.execPath, [join(root, 'scripts/scenario.ts')], {
            AUTH_URL: url(0),
            CHAT_URL: url(1),
            CHAT_URL_CAROL: url(2),
            SERVICE_CLIENT_SECRET: secret,
            DEMO_PASSWORD: password,
          });
          return code === 0 && (await webClientServed(url(3)));
        },
      );
    } finally {
      await Promise.all([postgres.destroy(), redis.kill()]);
    }
  },
);

await check('fault tests (each on its own PostgreSQL cluster and redis-server)', async () => {
  const code = await run(join(root, 'node_modules/.bin/vitest'), [
    'run',
    '--config',
    'tests/faults/vitest.config.ts',
  ]);
  return code === 0;
});

const passed = results.filter((r) => r.ok).length;
console.log(`\nplatform: ${passed} passed, ${results.length - passed} failed`);
process.exit(passed === results.length ? 0 : 1);
