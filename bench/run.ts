/**
 * `npm run bench [-- --quick] [-- --cpu-prof] [-- --only=token,group-read,login,chat]`
 *
 * Measures the platform on this machine and prints each figure beside a baseline measured in the same
 * run (see bench/README.md). Servers run as their own processes on fresh PostgreSQL databases and a
 * private Redis; load comes from other processes; everything is stopped and dropped at exit, Ctrl-C too.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type BenchContext, FULL_PLAN, type PhaseOutcome, QUICK_PLAN, quickChanges } from './lib/context.ts';
import { createDatabase, postgresInfo, startRedis } from './lib/infra.ts';
import { progress } from './lib/log.ts';
import { describePinning } from './lib/pinning.ts';
import { cleanupAll, freePort, installSignalCleanup, ROOT, runJsonChild, stopping } from './lib/processes.ts';
import { type Row, renderTable } from './lib/table.ts';
import type { Argon2Ceiling, CeilingInput, Es256Ceiling } from './load/ceilings.ts';
import { groupRead, loginRate, tokenIssuance } from './phases/auth.ts';
import {
  chatApiMissing,
  chatPhases,
  chatSendOnly,
  embeddedSend,
  resumeReplay,
  wideDelivery,
} from './phases/chat.ts';
import { readSearchPhases } from './phases/read-search.ts';

const PHASES = [
  'token',
  'group-read',
  'login',
  'chat',
  'chat-send',
  'read-search',
  'embedded',
  'delivery-wide',
  'resume',
] as const;
type PhaseName = (typeof PHASES)[number];

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'cpu-prof': { type: 'boolean', default: false },
    only: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log(`usage: npm run bench [-- --quick] [-- --cpu-prof] [-- --only=${PHASES.join(',')}]
  --quick     shorter runs (same load shapes); prints what it changed
  --cpu-prof  servers run with --cpu-prof; a summary of each profile is printed, files kept under bench/results/
  --only      run only these phases (the ceilings always run)`);
  process.exit(0);
}
const only = new Set((args.only ?? PHASES.join(',')).split(',').map((s) => s.trim()));
for (const name of only)
  if (!(PHASES as readonly string[]).includes(name)) {
    console.error(`unknown phase "${name}" (known: ${PHASES.join(', ')})`);
    process.exit(2);
  }

installSignalCleanup();
const started = new Date();
const runId = started.toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '_').toLowerCase();
const resultsDir = join(ROOT, 'bench/results');
const plan = args.quick ? QUICK_PLAN : FULL_PLAN;
const cpuProfDir = args['cpu-prof'] ? join(resultsDir, `${runId}-profiles`) : undefined;
if (cpuProfDir) mkdirSync(cpuProfDir, { recursive: true });

const machine = {
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model ?? '?',
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  loadAverageAtStart: loadavg().map((l) => Number(l.toFixed(2))),
};

async function main(): Promise<void> {
  progress(
    `${args.quick ? 'QUICK' : 'full'} run ${runId} on ${machine.cpus} × ${machine.cpuModel}, Node ${machine.node}, ` +
      `load average ${machine.loadAverageAtStart.join(' ')}`,
  );
  if (args.quick) for (const change of quickChanges()) progress(`quick mode: ${change}`);
  if (cpuProfDir) progress(`profiling servers (--cpu-prof): figures include the profiler's overhead`);
  progress(describePinning());
  const redis = await startRedis();
  const pg = await postgresInfo();
  progress(
    `PostgreSQL ${pg.server_version} (synchronous_commit=${pg.synchronous_commit}, fsync=${pg.fsync}); Redis ${redis.url}`,
  );
  const ctx: BenchContext = {
    plan,
    quick: args.quick,
    profiles: {},
    redisPid: redis.pid,
    ceilings: {},
    settings: {
      redisUrl: redis.url,
      authDatabaseUrl: await createDatabase('auth', runId),
      chatDatabaseUrl: await createDatabase('chat', runId),
      authPort: await freePort(),
      serviceClientSecret: randomBytes(32).toString('base64url'),
      cpuProfDir,
    },
  };

  progress('ceilings: ES256 signing and Argon2id, each in its own process');
  const es256 = await runJsonChild<Es256Ceiling>(
    'ceiling-es256',
    'bench/load/ceilings.ts',
    {
      kind: 'es256',
      seconds: plan.ceilingSeconds,
    } satisfies CeilingInput,
    { role: 'server' },
  );
  progress(`ES256: ${Math.round(es256.opsPerSec)} signatures/s (${es256.microsPerOp.toFixed(1)} µs each)`);
  const argon2 = await runJsonChild<Argon2Ceiling>(
    'ceiling-argon2',
    'bench/load/ceilings.ts',
    {
      kind: 'argon2',
      seconds: plan.ceilingSeconds,
      concurrency: plan.argon2Concurrency,
    } satisfies CeilingInput,
    { role: 'server' },
  );
  progress(
    `Argon2id: ${argon2.msPerHash.toFixed(1)} ms per verification, ${Math.round(argon2.concurrentPerSec)}/s with ${argon2.concurrency} in flight`,
  );
  ctx.ceilings = { es256, argon2 };

  const phases: [PhaseName, string, (c: BenchContext) => Promise<PhaseOutcome>][] = [
    ['token', '1 token issuance', tokenIssuance],
    ['group-read', '2 group read', groupRead],
    ['login', '3 login', loginRate],
    ['chat', '4–6 chat send, delivery, calls to auth-api', chatPhases],
    ['chat-send', '4 chat send only (no delivery)', chatSendOnly],
    ['read-search', '7–8 unread counts and search over 1,000,000 messages', readSearchPhases],
    ['embedded', '9 chat send on the embedded default', embeddedSend],
    ['delivery-wide', '10 delivery to 10,000 subscribers over 1,000 groups', wideDelivery],
    ['resume', '11 resume over 10,000 missed messages', resumeReplay],
  ];
  const rows: Row[] = [];
  const data: Record<string, unknown> = {};
  const failures: Record<string, string> = {};
  for (const [name, label, run] of phases) {
    if (!only.has(name)) continue;
    if (stopping()) break;
    progress(`── ${label}`);
    try {
      const outcome = await run(ctx);
      rows.push(...outcome.rows);
      Object.assign(data, outcome.data);
    } catch (error) {
      const message = (error as Error).message;
      failures[name] = message;
      progress(`${label} failed: ${message}`);
      rows.push({
        benchmark: label,
        result: `not measured: ${message.split('\n')[0]!.slice(0, 120)}`,
        baseline: '',
        target: '',
        verdict: 'not run',
      });
    }
  }

  const finished = new Date();
  const header = [
    '',
    `Benchmark ${runId} (${args.quick ? 'QUICK' : 'full'}${cpuProfDir ? ', servers under --cpu-prof' : ''}), ` +
      `${Math.round((finished.getTime() - started.getTime()) / 1000)} s; ${machine.cpus} × ${machine.cpuModel}, ` +
      `${machine.memoryGiB} GiB, Node ${machine.node}, PostgreSQL ${pg.server_version}; load average ` +
      `${machine.loadAverageAtStart.join(' ')} at start, ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')} at end`,
    ...(args.quick ? [`quick mode changed: ${quickChanges().join('; ')}`] : []),
    describePinning(),
    'PostgreSQL and Redis (and anyone else on the machine) share these cores: see bench/README.md on reading the figures.',
    '',
  ];
  console.log(header.join('\n'));
  console.log(renderTable(rows));

  const file = join(resultsDir, `${runId}${args.quick ? '-quick' : ''}.json`);
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(
    file,
    `${JSON.stringify(
      {
        runId,
        mode: args.quick ? 'quick' : 'full',
        quickChanges: args.quick ? quickChanges() : [],
        startedAt: started.toISOString(),
        finishedAt: finished.toISOString(),
        machine: { ...machine, loadAverageAtEnd: loadavg() },
        postgres: pg,
        redis: { privateServer: redis.privateServer },
        plan,
        pinning: describePinning(),
        ceilings: ctx.ceilings,
        results: data,
        failures,
        table: rows,
        profiles: ctx.profiles,
        chatApiMissing: chatApiMissing() ?? null,
      },
      null,
      2,
    )}\n`,
  );
  console.log(
    `\nresults: ${file.slice(ROOT.length + 1)}${cpuProfDir ? `\nprofiles: ${cpuProfDir.slice(ROOT.length + 1)}/` : ''}`,
  );
}

try {
  await main();
} catch (error) {
  console.error(`benchmark failed: ${(error as Error).stack ?? error}`);
  process.exitCode = 1;
} finally {
  await cleanupAll();
}
