/** What every phase gets: the mode's durations and load shapes, the server settings, collected profiles. */
import type { Argon2Ceiling, Es256Ceiling } from '../load/ceilings.ts';
import { progress } from './log.ts';
import {
  formatProfile,
  measuredWindowsBetween,
  monotonicMicros,
  type ProfileSummary,
  summarizeProfile,
} from './profile.ts';
import type { Server, ServerSettings } from './services.ts';
import type { Row } from './table.ts';

export interface Plan {
  /** autocannon: discarded warm-up, then the measured run, per HTTP benchmark. */
  warmupSeconds: number;
  durationSeconds: number;
  /** Per ceiling measurement (ES256 signing, Argon2id). */
  ceilingSeconds: number;
  connections: { token: number; groupRead: number; login: number; chatSend: number; embeddedSend: number };
  delivery: {
    subscribers: number;
    groups: number;
    ratePerSec: number;
    /** Sent at the same rate first; excluded from latencies, included in the loss count. */
    warmupSeconds: number;
    durationSeconds: number;
    drainSeconds: number;
    senderConnections: number;
  };
  /** The wide delivery benchmark: 10,000 subscribers over 1,000 groups. */
  wideDelivery: Plan['delivery'];
  /** Missed messages one socket replays on resume, and how many times it is measured. */
  resume: { events: number; rounds: number };
  /** Groups the chat-send benchmark spreads over (the delivery groups). */
  chatSendGroups: number;
  /** Argon2id verifications kept in flight for the ceiling: libuv's default pool size. */
  argon2Concurrency: number;
}

export const FULL_PLAN: Plan = {
  warmupSeconds: 5,
  durationSeconds: 20,
  ceilingSeconds: 4,
  connections: { token: 16, groupRead: 32, login: 16, chatSend: 32, embeddedSend: 50 },
  delivery: {
    subscribers: 1000,
    groups: 100,
    ratePerSec: 1000,
    warmupSeconds: 5,
    durationSeconds: 30,
    drainSeconds: 10,
    senderConnections: 32,
  },
  wideDelivery: {
    subscribers: 10_000,
    groups: 1_000,
    ratePerSec: 1000,
    warmupSeconds: 5,
    durationSeconds: 30,
    drainSeconds: 10,
    senderConnections: 32,
  },
  resume: { events: 10_000, rounds: 5 },
  chatSendGroups: 100,
  argon2Concurrency: 4,
};

/** --quick: shorter runs only; every load shape (connections, subscribers, groups, rate) is the full one. */
export const QUICK_PLAN: Plan = {
  ...FULL_PLAN,
  warmupSeconds: 2,
  durationSeconds: 5,
  ceilingSeconds: 2,
  delivery: { ...FULL_PLAN.delivery, warmupSeconds: 2, durationSeconds: 10 },
  wideDelivery: { ...FULL_PLAN.wideDelivery, warmupSeconds: 2, durationSeconds: 10 },
  resume: { ...FULL_PLAN.resume, rounds: 3 },
};

/** Human-readable list of what --quick changes against the full run (printed, and kept in the JSON). */
export function quickChanges(): string[] {
  const f = FULL_PLAN;
  const q = QUICK_PLAN;
  const changes: string[] = [];
  if (q.warmupSeconds !== f.warmupSeconds || q.durationSeconds !== f.durationSeconds)
    changes.push(
      `HTTP runs ${q.warmupSeconds} s warm-up + ${q.durationSeconds} s measured (full: ${f.warmupSeconds} s + ${f.durationSeconds} s)`,
    );
  if (
    q.delivery.durationSeconds !== f.delivery.durationSeconds ||
    q.delivery.warmupSeconds !== f.delivery.warmupSeconds
  )
    changes.push(
      `delivery ${q.delivery.warmupSeconds} s warm-up + ${q.delivery.durationSeconds} s measured = ` +
        `${q.delivery.durationSeconds * q.delivery.ratePerSec} measured messages (full: ${f.delivery.warmupSeconds} s + ${f.delivery.durationSeconds} s)`,
    );
  if (q.ceilingSeconds !== f.ceilingSeconds)
    changes.push(`ceilings measured ${q.ceilingSeconds} s each (full: ${f.ceilingSeconds} s)`);
  if (q.delivery.subscribers !== f.delivery.subscribers || q.delivery.ratePerSec !== f.delivery.ratePerSec)
    changes.push(`delivery load ${q.delivery.subscribers} subscribers at ${q.delivery.ratePerSec} msg/s`);
  return changes;
}

export interface BenchContext {
  plan: Plan;
  quick: boolean;
  settings: ServerSettings;
  profiles: Record<string, ProfileSummary>;
  /** The private redis-server, when the run started one (its CPU is reported). */
  redisPid: number | undefined;
  ceilings: { es256?: Es256Ceiling; argon2?: Argon2Ceiling };
}

export interface PhaseOutcome {
  rows: Row[];
  data: Record<string, unknown>;
}

/** The processes whose CPU a run reports: these servers and the private Redis. */
export function watchPids(ctx: BenchContext, ...servers: Server[]): Record<string, number> {
  const watch: Record<string, number> = {};
  for (const server of servers) if (server.proc.child.pid) watch[server.proc.name] = server.proc.child.pid;
  if (ctx.redisPid) watch.redis = ctx.redisPid;
  return watch;
}

/** Runs `work` against a started server and always stops it; with --cpu-prof, reads the profile it wrote. */
export async function withServer<T>(
  ctx: BenchContext,
  server: Server,
  work: (server: Server) => Promise<T>,
): Promise<T> {
  const since = monotonicMicros();
  try {
    return await work(server);
  } finally {
    await server.stop();
    if (server.profilePath) {
      const summary = summarizeProfile(server.profilePath, measuredWindowsBetween(since, monotonicMicros()));
      if (summary) {
        ctx.profiles[server.proc.name] = summary;
        progress(formatProfile(server.proc.name, summary));
      } else progress(`${server.proc.name}: no profile written (did it exit cleanly on SIGTERM?)`);
    }
  }
}
