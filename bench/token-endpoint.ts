/**
 * Load test of auth-api's token endpoint (POST /oauth/token, client_credentials), rerunnable:
 *
 *   node bench/token-endpoint.ts [--backend pglite|postgres|both] [--duration 10] [--warmup 3]
 *        [--connections 16] [--auth basic|post] [--scope "groups:read members:read"]
 *        [--log-level info|warn] [--redis redis://127.0.0.1:6379] [--cpu-prof]
 *
 * One auth-api process, started as production starts it (`node apps/auth-api/src/main.ts`), on a fresh
 * database (PGlite in a temp dir, or a new database on BENCH_DATABASE_URL / TEST_DATABASE_URL, default
 * postgres://postgres@127.0.0.1:5432/postgres), rate limits raised through the environment. The load
 * comes from autocannon in a separate process (keep-alive connections, closed loop; warm-up discarded).
 * Beside req/s and latency it prints who used the CPU during the run (/proc), the Argon2id cost of one
 * secret verification (what every request would cost without the verified-secret cache) and the raw ES256
 * signing rate (a token costs at least one signature). With --cpu-prof the server runs under V8's
 * profiler and the top self-time functions are printed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { hash, verify } from '@node-rs/argon2';
import pg from 'pg';
import { derToJoseSignature } from '../apps/auth-api/src/tokens/issuer.ts';

const root = resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'both' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '16' },
    auth: { type: 'string', default: 'basic' },
    scope: { type: 'string', default: 'groups:read members:read' },
    'log-level': { type: 'string', default: 'info' },
    redis: { type: 'string' },
    'cpu-prof': { type: 'boolean', default: false },
  },
});
const backends = values.backend === 'both' ? ['pglite', 'postgres'] : [values.backend!];
const PG_URL =
  process.env.BENCH_DATABASE_URL ??
  process.env.TEST_DATABASE_URL ??
  'postgres://postgres@127.0.0.1:5432/postgres';
const CLIENT_ID = 'chat-api-service';
const SECRET = randomBytes(32).toString('base64url');
const UNLIMITED = '1000000000';

/** The part of autocannon's --json report we read. */
interface AutocannonReport {
  requests: { average: number; total: number };
  latency: { p50: number; p90: number; p99: number; max: number; mean: number };
  non2xx: number;
  errors: number;
}

interface RunResult {
  backend: string;
  reqPerSec: number;
  latency: { p50: number; p90: number; p99: number; max: number; mean: number };
  requests: number;
  non2xx: number;
  errors: number;
  cpu: Record<string, number>;
  profile?: string[];
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => done(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** utime + stime of a process (and all its threads), in seconds. */
function cpuSeconds(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

function postgresCpuSeconds(): number {
  let total = 0;
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'postgres')
          total += cpuSeconds(Number(entry));
      } catch {}
    }
  } catch {}
  return total;
}

function machineBusySeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
  return (user! + nice! + system! + irq! + softirq! + steal!) / 100;
}

async function startAuthApi(backend: string, profileDir: string | null) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let cleanup = async () => {};
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    PORT: String(port),
    HOST: '127.0.0.1',
    ISSUER: url,
    LOG_LEVEL: values['log-level']!,
    SERVICE_CLIENT_ID: CLIENT_ID,
    SERVICE_CLIENT_SECRET: SECRET,
    SEED_DEMO_DATA: 'false',
    RATE_LIMIT_TOKEN_PER_CLIENT: UNLIMITED,
    RATE_LIMIT_TOKEN_PER_IP: UNLIMITED,
    RATE_LIMIT_CLIENT_AUTH_PER_IP: UNLIMITED,
  };
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  if (values.redis) env.REDIS_URL = values.redis;
  if (backend === 'postgres') {
    const name = `bench_token_${Date.now().toString(36)}`;
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`create database "${name}"`);
    await admin.end();
    const dbUrl = new URL(PG_URL);
    dbUrl.pathname = `/${name}`;
    env.DATABASE_URL = dbUrl.toString();
    cleanup = async () => {
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      await client.query(`drop database if exists "${name}" with (force)`);
      await client.end();
    };
  } else {
    const dir = await mkdtemp(join(tmpdir(), 'bench-token-'));
    env.DATA_DIR = dir;
    cleanup = () => rm(dir, { recursive: true, force: true });
  }
  const nodeArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const child = spawn(process.execPath, [...nodeArgs, join(root, 'apps/auth-api/src/main.ts')], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`auth-api exited: ${stderr}`);
    try {
      if ((await fetch(`${url}/ready`)).ok) break;
    } catch {}
    if (Date.now() > deadline) throw new Error('auth-api did not become ready');
    await new Promise((done) => setTimeout(done, 100));
  }
  return {
    url,
    child,
    async stop() {
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGINT');
      await exited;
      await cleanup();
    },
  };
}

function requestShape() {
  const params = new URLSearchParams({ grant_type: 'client_credentials', scope: values.scope! });
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (values.auth === 'post') {
    params.set('client_id', CLIENT_ID);
    params.set('client_secret', SECRET);
  } else {
    headers.authorization = `Basic ${Buffer.from(`${CLIENT_ID}:${SECRET}`).toString('base64')}`;
  }
  return { headers, body: params.toString() };
}

/** autocannon in its own process; resolves with its --json report. */
function autocannon(
  url: string,
  seconds: number,
): Promise<{ report: AutocannonReport; child: ChildProcess }> & { child: ChildProcess } {
  const { headers, body } = requestShape();
  const args = [
    join(root, 'node_modules/autocannon/autocannon.js'),
    '--json',
    '-c',
    values.connections!,
    '-d',
    String(seconds),
    '-m',
    'POST',
    ...Object.entries(headers).flatMap(([name, value]) => ['-H', `${name}=${value}`]),
    '-b',
    body,
    `${url}/oauth/token`,
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  child.stdout?.on('data', (chunk) => {
    out += chunk;
  });
  const done = new Promise<{ report: AutocannonReport; child: ChildProcess }>((ok, fail) => {
    child.once('exit', (code) => {
      try {
        ok({ report: JSON.parse(out), child });
      } catch {
        fail(new Error(`autocannon failed (${code}): ${out.slice(0, 300)}`));
      }
    });
  });
  return Object.assign(done, { child });
}

async function runBackend(backend: string): Promise<RunResult> {
  const profileDir = values['cpu-prof'] ? await mkdtemp(join(tmpdir(), 'bench-token-prof-')) : null;
  log(`[${backend}] starting auth-api…`);
  const server = await startAuthApi(backend, profileDir);
  try {
    // A sanity check: a token is issued, and it is what we think it is.
    const { headers, body } = requestShape();
    const check = await fetch(`${server.url}/oauth/token`, { method: 'POST', headers, body });
    if (check.status !== 200) throw new Error(`token request failed: ${check.status} ${await check.text()}`);
    log(`[${backend}] warm-up ${values.warmup} s…`);
    await autocannon(server.url, Number(values.warmup));
    log(`[${backend}] measuring ${values.duration} s with ${values.connections} connections…`);
    const run = autocannon(server.url, Number(values.duration));
    const loadPid = run.child.pid;
    const before = {
      server: cpuSeconds(server.child.pid),
      load: cpuSeconds(loadPid),
      postgres: postgresCpuSeconds(),
      machine: machineBusySeconds(),
      at: performance.now(),
    };
    await new Promise((done) => setTimeout(done, Number(values.duration) * 1000 - 300));
    const after = {
      server: cpuSeconds(server.child.pid),
      load: cpuSeconds(loadPid),
      postgres: postgresCpuSeconds(),
      machine: machineBusySeconds(),
      at: performance.now(),
    };
    const { report } = await run;
    const wall = (after.at - before.at) / 1000;
    const cores = (from: number, to: number) => Math.round(((to - from) / wall) * 100) / 100;
    return {
      backend,
      reqPerSec: report.requests.average,
      latency: {
        p50: report.latency.p50,
        p90: report.latency.p90,
        p99: report.latency.p99,
        max: report.latency.max,
        mean: report.latency.mean,
      },
      requests: report.requests.total,
      non2xx: report.non2xx,
      errors: report.errors,
      cpu: {
        'auth-api': cores(before.server, after.server),
        autocannon: cores(before.load, after.load),
        ...(backend === 'postgres' ? { postgres: cores(before.postgres, after.postgres) } : {}),
        machine: cores(before.machine, after.machine),
      },
    };
  } finally {
    await server.stop();
    if (profileDir) {
      const files = (await readdir(profileDir)).filter((file) => file.endsWith('.cpuprofile'));
      if (files[0]) {
        const profilePath = join(profileDir, files[0]);
        log(`[${backend}] CPU profile: ${profilePath}`);
        lastProfile = summarizeProfile(JSON.parse(await readFile(profilePath, 'utf8')));
      }
    }
  }
}

let lastProfile: string[] | undefined;

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

/** Top functions by self time, and a rough split by area (crypto, database, HTTP, logging, …). */
function summarizeProfile(profile: {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}): string[] {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  let total = 0;
  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  for (const [id, micros] of self) {
    const frame = nodes.get(id)!.callFrame;
    const name = frame.functionName || '(anonymous)';
    if (name === '(idle)') continue;
    total += micros;
    const url = frame.url.replace(/^.*node_modules\//, '').replace(`file://${root}/`, '');
    const key = `${name} ${url ? `${url}:${frame.lineNumber + 1}` : ''}`.trim();
    byFunction.set(key, (byFunction.get(key) ?? 0) + micros);
    const area = /pglite|^wasm:/.test(url)
      ? 'database (PGlite)'
      : /^pg|kysely|postgres-/.test(url)
        ? 'database client (pg, kysely)'
        : /crypto|sign|argon2/i.test(url + name)
          ? 'crypto'
          : /pino|sonic-boom/.test(url)
            ? 'logging'
            : /fastify|find-my-way|avvio|light-my-request|fast-json|fast-querystring|_http|node:net|stream/.test(
                  url,
                )
              ? 'HTTP (node, fastify)'
              : /writev|writeUtf8String|writeBuffer/.test(name)
                ? 'socket writes'
                : /garbage collector/.test(name)
                  ? 'GC'
                  : /apps\//.test(url)
                    ? 'auth-api code'
                    : 'other';
    byArea.set(area, (byArea.get(area) ?? 0) + micros);
  }
  const pct = (micros: number) => `${((micros / total) * 100).toFixed(1).padStart(5)}%`;
  return [
    `busy CPU in profile: ${(total / 1e6).toFixed(2)} s`,
    ...[...byArea].sort((a, b) => b[1] - a[1]).map(([area, micros]) => `  ${pct(micros)}  ${area}`),
    'top functions (self time):',
    ...[...byFunction]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 20)
      .map(([key, micros]) => `  ${pct(micros)}  ${key}`),
  ];
}

/** What one Argon2id verification of a client secret costs (the cost the cache removes). */
async function argon2Cost(): Promise<number> {
  const options = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;
  const stored = await hash('x'.repeat(43), options);
  const rounds = 20;
  const t0 = performance.now();
  for (let i = 0; i < rounds; i++) await verify(stored, 'x'.repeat(43));
  return (performance.now() - t0) / rounds;
}

/** Raw ES256 signatures per second in one process, signed as the issuer signs: a token costs one. */
function es256Rate(): number {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const input = Buffer.from('x'.repeat(400));
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < 1000) {
    derToJoseSignature(sign('sha256', input, privateKey));
    n += 1;
  }
  return n / ((performance.now() - t0) / 1000);
}

const results: RunResult[] = [];
for (const backend of backends) {
  try {
    const result = await runBackend(backend);
    result.profile = lastProfile;
    lastProfile = undefined;
    results.push(result);
  } catch (error) {
    log(`[${backend}] failed: ${(error as Error).message}`);
  }
}
const argon2Ms = await argon2Cost();
const es256 = es256Rate();

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
console.log(
  `\nPOST /oauth/token, client_credentials, client_secret_${values.auth}, scope "${values.scope}", ` +
    `${values.connections} connections, ${values.duration} s (after ${values.warmup} s warm-up), ` +
    `LOG_LEVEL=${values['log-level']}${values.redis ? ', Redis rate limiter' : ', in-memory rate limiter'}; ` +
    `${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), node ${process.version}\n`,
);
console.log(
  'backend    req/s    p50 ms  p90 ms  p99 ms  max ms  non-2xx  CPU cores used (auth-api / autocannon / postgres / machine)',
);
for (const r of results) {
  console.log(
    `${r.backend.padEnd(9)} ${fmt(r.reqPerSec).padStart(7)}  ${fmt(r.latency.p50, 1).padStart(6)}  ${fmt(r.latency.p90, 1).padStart(6)}  ` +
      `${fmt(r.latency.p99, 1).padStart(6)}  ${fmt(r.latency.max, 0).padStart(6)}  ${String(r.non2xx + r.errors).padStart(7)}  ` +
      `${r.cpu['auth-api']} / ${r.cpu.autocannon} / ${r.cpu.postgres ?? '-'} / ${r.cpu.machine}` +
      `   (${fmt(((r.cpu['auth-api'] ?? 0) * 1e6) / Math.max(1, r.reqPerSec))} µs auth-api CPU per token)`,
  );
}
console.log(
  `\nreference: one Argon2id verification (19 MiB, t=2) = ${fmt(argon2Ms, 1)} ms → ≈ ${fmt(1000 / argon2Ms)} /s per thread ` +
    `(the token endpoint's bound if every request verified the hash); raw ES256 signing = ${fmt(es256)} /s in one process`,
);
for (const r of results) {
  if (!r.profile) continue;
  console.log(`\n[${r.backend}] CPU profile of auth-api:`);
  for (const line of r.profile) console.log(line);
}
