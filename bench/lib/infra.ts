/**
 * What the services need besides themselves: fresh PostgreSQL databases (dropped at exit) and a Redis.
 * The benchmark starts its own throw-away redis-server when one is installed, so its event bus traffic
 * (thousands of messages a second) and rate-limit counters never reach other people's processes on the
 * shared Redis, and theirs never reach ours.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createConnection } from 'node:net';
import pg from 'pg';
import { progress } from './log.ts';
import { freePort, onCleanup, sleep } from './processes.ts';

export const PG_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function admin<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/** Creates an empty database, registered to be dropped (connections forced closed) at exit. */
export async function createDatabase(prefix: string, runId: string): Promise<string> {
  const name = `bench_${prefix}_${runId}`;
  await admin((client) => client.query(`create database "${name}"`));
  onCleanup(`database ${name}`, async () => {
    await admin((client) => client.query(`drop database if exists "${name}" with (force)`));
  });
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** PostgreSQL's version and the settings that matter for durable writes, for the report's header. */
export async function postgresInfo(): Promise<Record<string, string>> {
  return admin(async (client) => {
    const info: Record<string, string> = {};
    const version = await client.query<{ server_version: string }>('show server_version');
    info.server_version = version.rows[0]?.server_version ?? '?';
    for (const setting of ['synchronous_commit', 'fsync', 'max_connections', 'shared_buffers']) {
      const row = await client.query(`show ${setting}`);
      info[setting] = String(Object.values(row.rows[0] ?? {})[0]);
    }
    return info;
  });
}

function pingRedis(port: number): Promise<boolean> {
  return new Promise((resolvePing) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => socket.write('PING\r\n'));
    socket.setTimeout(1_000, () => socket.destroy());
    socket.once('data', (data) => {
      resolvePing(String(data).startsWith('+PONG'));
      socket.destroy();
    });
    socket.once('error', () => resolvePing(false));
    socket.once('close', () => resolvePing(false));
  });
}

/**
 * A private redis-server (no persistence) on a free port, stopped at exit; BENCH_REDIS_URL, or
 * redis-server missing, falls back to a shared Redis.
 */
export async function startRedis(): Promise<{ url: string; privateServer: boolean; pid?: number }> {
  const shared = process.env.BENCH_REDIS_URL;
  const binary = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => existsSync(p));
  if (shared || !binary) {
    const url = shared ?? 'redis://127.0.0.1:6379';
    progress(`using the shared Redis at ${url}`);
    return { url, privateServer: false };
  }
  const port = await freePort();
  const child = spawn(
    binary,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--loglevel',
      'warning',
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise((r) => child.once('exit', r));
  onCleanup('redis-server', async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
  });
  for (let i = 0; i < 100; i++) {
    if (await pingRedis(port))
      return { url: `redis://127.0.0.1:${port}`, privateServer: true, pid: child.pid };
    if (child.exitCode !== null) break;
    await sleep(50);
  }
  throw new Error(`redis-server on port ${port} did not start`);
}
