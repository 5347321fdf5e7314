/**
 * The HTTP load generator: one autocannon instance in this process (never in the server's), closed loop,
 * N keep-alive connections, no pipelining (or, with `ratePerSec`, that many requests per second over them). A warm-up run (discarded) lets the server's JIT and caches
 * settle; the measured run follows at once on the same settings.
 *
 * Latencies are recorded from autocannon's `response` events at sub-millisecond resolution (its own
 * histogram keeps whole milliseconds, too coarse for p50s of 1–2 ms).
 *
 * Started by bench/lib/autocannon.ts with its input as JSON on stdin; prints one JSON result on stdout.
 */
import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';
import type { HttpLoadInput, HttpLoadResult } from '../lib/autocannon.ts';
import { cpuCores, cpuSnapshot } from '../lib/cpu.ts';
import { childInput } from '../lib/processes.ts';
import { monotonicMicros } from '../lib/profile.ts';
import { percentiles } from '../lib/stats.ts';

const input = childInput<HttpLoadInput>();

function requestsOption(): autocannon.Request[] | undefined {
  const variants = input.variants;
  const needsSetup = variants.length > 1 || variants.some((v) => v.body?.includes('[<id>]'));
  if (!needsSetup) return undefined;
  // One shared counter: consecutive requests, whichever connection sends them, go to different variants.
  let next = 0;
  return [
    {
      setupRequest: (request) => {
        const variant = variants[next++ % variants.length]!;
        return {
          ...request,
          path: variant.path,
          headers: { ...request.headers, ...variant.headers },
          body: variant.body?.replaceAll('[<id>]', randomUUID()),
        };
      },
    },
  ];
}

function run(durationSeconds: number, record: boolean) {
  const first = input.variants[0]!;
  const latencies: number[] = [];
  const statusCounts: Record<string, number> = {};
  const requests = requestsOption();
  let finish!: (result: autocannon.Result) => void;
  let fail!: (error: Error) => void;
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  const instance = autocannon(
    {
      url: input.url + first.path,
      connections: input.connections,
      duration: durationSeconds,
      method: input.method,
      headers: first.headers,
      ...(first.body !== undefined ? { body: first.body } : {}),
      ...(requests ? { requests } : {}),
      ...(input.ratePerSec ? { overallRate: input.ratePerSec } : {}),
      timeout: 10,
    },
    (error, result) => (error ? fail(error) : finish(result)),
  );
  if (record) {
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      latencies.push(responseTime);
      statusCounts[statusCode] = (statusCounts[statusCode] ?? 0) + 1;
    });
    let seconds = 0;
    let lastTotal = 0;
    instance.on('tick', () => {
      seconds += 1;
      if (seconds % 5 === 0) {
        const total = latencies.length;
        process.stderr.write(`${seconds}s: ${Math.round((total - lastTotal) / 5)} req/s\n`);
        lastTotal = total;
      }
    });
  }
  return { done, latencies, statusCounts };
}

if (input.warmupSeconds > 0) {
  await run(input.warmupSeconds, false).done;
}
const windowStart = monotonicMicros();
const cpuBefore = cpuSnapshot(input.watch);
const measured = run(input.durationSeconds, true);
const result = await measured.done;
const cpu = cpuCores(cpuBefore, cpuSnapshot(input.watch));
const windowUs: [number, number] = [windowStart, monotonicMicros()];

const ok = input.expectStatus.reduce((sum, status) => sum + (measured.statusCounts[status] ?? 0), 0);
const total = measured.latencies.length;
const output: HttpLoadResult = {
  title: input.title,
  connections: input.connections,
  durationSeconds: result.duration,
  requests: total,
  ok,
  unexpected: total - ok,
  reqPerSec: ok / result.duration,
  latencyMs: percentiles(measured.latencies),
  statusCounts: measured.statusCounts,
  errors: result.errors,
  timeouts: result.timeouts,
  windowUs,
  cpuCores: cpu,
};
process.stdout.write(JSON.stringify(output));
