/**
 * `npm run test:platform` (CI): the whole platform as a user starts it, then the live scenario.
 *  1. `npm start` on the embedded default (fresh ./data in a temp dir) → scenario → Ctrl-C → restart on
 *     the same data (the demo seed is idempotent) → scenario again.
 *  2. `npm start` with PostgreSQL + Redis and CHAT_INSTANCES=2 → scenario with Bob on instance 1 and
 *     Carol on instance 2 (messages cross Redis).
 *  3. The fault tests (tests/faults): kill -9 a chat-api, restart PostgreSQL, stop auth-api for 30 s.
 * Hermetic: every start uses free ports (npm start's AUTH_PORT/CHAT_PORT/WEB_PORT), and the PostgreSQL +
 * Redis round runs on a private PostgreSQL cluster and redis-server (tests/support/infra.ts), never on the
 * machine's shared ones, so it can run beside other test runs.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { freePortRange, startPostgres, startRedis } from '../tests/support/infra.ts';

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

async function waitReady(urls: string[], child: ChildProcess, timeoutMs = 120_000): Promise<void> {
  const started = Date.now();
  for (const url of urls) {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}`);
      if (Date.now() - started > timeoutMs) throw new Error(`${url} not ready within ${timeoutMs} ms`);
      try {
        if ((await fetch(`${url}/ready`)).ok) break;
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
      const platform = startPlatform({
        DATA_DIR: embeddedData,
        AUTH_PORT: String(base),
        CHAT_PORT: String(base + 1),
        WEB_PORT: String(base + 2),
      });
      try {
        await waitReady([authUrl, chatUrl], platform);
        const code = await run(process.execPath, [join(root, 'scripts/scenario.ts')], {
          AUTH_URL: authUrl,
          CHAT_URL: chatUrl,
          SERVICE_CLIENT_SECRET_FILE: join(embeddedData, 'service-client-secret'),
        });
        const web = await fetch(`${webUrl}/`).then(
          (r) => r.ok,
          () => false,
        );
        if (!web) console.error(`     the web client is not served on ${webUrl}`);
        return code === 0 && web;
      } finally {
        const clean = await stopPlatform(platform);
        if (!clean) console.error('     npm start did not exit cleanly on SIGINT');
      }
    });
  }
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
    const platform = startPlatform({
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
    });
    try {
      await waitReady([url(0), url(1), url(2)], platform);
      const code = await run(process.execPath, [join(root, 'scripts/scenario.ts')], {
        AUTH_URL: url(0),
        CHAT_URL: url(1),
        CHAT_URL_CAROL: url(2),
        SERVICE_CLIENT_SECRET: secret,
        DEMO_PASSWORD: password,
      });
      return code === 0;
    } finally {
      await stopPlatform(platform);
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
