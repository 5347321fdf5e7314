/**
 * `npm run test:platform` (CI): the whole platform as a user starts it, then the live scenario.
 *  1. `npm start` on the embedded default (fresh ./data in a temp dir) → scenario → Ctrl-C → restart on
 *     the same data (the demo seed is idempotent) → scenario again.
 *  2. `npm start` with PostgreSQL + Redis and CHAT_INSTANCES=2 → scenario with Bob on instance 1 and
 *     Carol on instance 2 (messages cross Redis).
 *  3. The fault tests (tests/faults): kill -9 a chat-api, restart PostgreSQL, stop auth-api for 30 s.
 * Needs PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379 (as .ci/run ensures).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';

const root = resolve(import.meta.dirname, '..');
const PG_URL = process.env.PLATFORM_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.PLATFORM_REDIS_URL ?? 'redis://127.0.0.1:6379';
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

async function dropDatabase(name: string): Promise<void> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  await client.query(`drop database if exists "${name}" with (force)`);
  await client.end();
}

async function createDatabase(name: string): Promise<string> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  await client.query(`drop database if exists "${name}" with (force)`);
  await client.query(`create database "${name}"`);
  await client.end();
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

const embeddedData = mkdtempSync(join(tmpdir(), 'groupchat-embedded-'));
try {
  for (const round of ['first start', 'restart on the same data']) {
    await check(`embedded default (${round}): npm start + scenario`, async () => {
      const platform = startPlatform({ DATA_DIR: embeddedData });
      try {
        await waitReady(['http://127.0.0.1:8000', 'http://127.0.0.1:8001'], platform);
        const code = await run(process.execPath, [join(root, 'scripts/scenario.ts')], {
          SERVICE_CLIENT_SECRET_FILE: join(embeddedData, 'service-client-secret'),
        });
        const web = await fetch('http://127.0.0.1:8080/').then(
          (r) => r.ok,
          () => false,
        );
        if (!web) console.error('     the web client is not served on :8080');
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
  'PostgreSQL + Redis, two chat-api instances: npm start + scenario (Bob on :8001, Carol on :8002)',
  async () => {
    const suffix = Date.now().toString(36);
    const secret = `ci-${suffix}-${'x'.repeat(40)}`;
    const databases = [`platform_auth_${suffix}`, `platform_chat_${suffix}`] as const;
    const platform = startPlatform({
      AUTH_DATABASE_URL: await createDatabase(databases[0]),
      CHAT_DATABASE_URL: await createDatabase(databases[1]),
      REDIS_URL,
      CHAT_INSTANCES: '2',
      SERVICE_CLIENT_SECRET: secret,
    });
    try {
      await waitReady(['http://127.0.0.1:8000', 'http://127.0.0.1:8001', 'http://127.0.0.1:8002'], platform);
      const code = await run(process.execPath, [join(root, 'scripts/scenario.ts')], {
        CHAT_URL: 'http://127.0.0.1:8001',
        CHAT_URL_CAROL: 'http://127.0.0.1:8002',
        SERVICE_CLIENT_SECRET: secret,
      });
      return code === 0;
    } finally {
      await stopPlatform(platform);
      for (const name of databases) await dropDatabase(name);
    }
  },
);

await check('fault tests: kill -9 chat-api, restart PostgreSQL, auth-api down 30 s', async () => {
  const code = await run(
    join(root, 'node_modules/.bin/vitest'),
    ['run', '--config', 'tests/faults/vitest.config.ts'],
    {
      FAULTS_PG_URL: PG_URL,
      FAULTS_REDIS_URL: REDIS_URL,
    },
  );
  return code === 0;
});

const passed = results.filter((r) => r.ok).length;
console.log(`\nplatform: ${passed} passed, ${results.length - passed} failed`);
process.exit(passed === results.length ? 0 : 1);
