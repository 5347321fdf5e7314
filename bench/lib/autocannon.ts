/**
 * The autocannon wrapper: every HTTP load run happens in a separate process (bench/load/http-load.ts),
 * so the load generator never shares an event loop with the orchestrator or a server.
 */
import { formatCores } from './cpu.ts';
import { progress } from './log.ts';
import { runJsonChild } from './processes.ts';
import { markMeasuredWindow } from './profile.ts';
import type { Percentiles } from './stats.ts';

export interface RequestVariant {
  path: string;
  headers: Record<string, string>;
  /** `[<id>]` is replaced by a fresh UUID in each request. */
  body?: string;
}

export interface HttpLoadInput {
  title: string;
  url: string;
  method: 'GET' | 'POST';
  connections: number;
  durationSeconds: number;
  warmupSeconds: number;
  /** Used round-robin over all connections (one variant: a fixed request, the cheapest for the generator). */
  variants: RequestVariant[];
  /** Responses with these statuses count as served; anything else is reported. */
  expectStatus: number[];
  /** Processes whose CPU use is measured over the run (label → pid). */
  watch: Record<string, number>;
  /**
   * A steady offered load (requests per second over all connections) instead of a closed loop at
   * full speed: the latency one request sees on a server that is not saturated.
   */
  ratePerSec?: number;
}

export interface HttpLoadResult {
  title: string;
  connections: number;
  durationSeconds: number;
  requests: number;
  ok: number;
  unexpected: number;
  /** Responses with an expected status per second of the measured run. */
  reqPerSec: number;
  latencyMs: Percentiles;
  statusCounts: Record<string, number>;
  errors: number;
  timeouts: number;
  /** The measured run on the monotonic clock (µs), to cut server profiles to it. */
  windowUs: [number, number];
  /** Cores used during the measured run, per watched process, PostgreSQL, the generator, the rest. */
  cpuCores: Record<string, number>;
}

export async function runHttpLoad(input: HttpLoadInput): Promise<HttpLoadResult> {
  progress(
    `${input.title}: ${input.method} ${input.variants[0]?.path}${input.variants.length > 1 ? ` (+${input.variants.length - 1} variants)` : ''}, ` +
      `${input.connections} connections${input.ratePerSec ? ` at ${input.ratePerSec} req/s` : ''}, ${input.warmupSeconds} s warm-up + ${input.durationSeconds} s measured`,
  );
  const result = await runJsonChild<HttpLoadResult>('autocannon', 'bench/load/http-load.ts', input);
  markMeasuredWindow(result.windowUs);
  progress(`${input.title}: ${formatCores(result.cpuCores)}`);
  const statuses = Object.entries(result.statusCounts)
    .map(([status, count]) => `${status}×${count}`)
    .join(' ');
  progress(
    `${input.title}: ${result.reqPerSec.toFixed(0)} req/s, p50 ${result.latencyMs.p50.toFixed(2)} ms, ` +
      `p99 ${result.latencyMs.p99.toFixed(2)} ms (${statuses}${result.errors ? `, ${result.errors} errors` : ''})`,
  );
  return result;
}
