/**
 * Phases 4–6, chat-api in front of auth-api: durable sends (spread over many groups, then one hot
 * group), delivery latency to 1,000 WebSocket subscribers, and the calls chat-api makes to auth-api
 * meanwhile. One auth-api serves all three; chat-api is started fresh for sends and again for
 * delivery, so delivery starts from cold membership caches and its auth-api calls are all counted.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  addMember,
  createGroup,
  groupsOf,
  inParallel,
  type LoggedIn,
  login,
  type MetricSnapshot,
  metricDelta,
  requestsByRoute,
  scrapeMetrics,
} from '../lib/api.ts';
import { type HttpLoadResult, type RequestVariant, runHttpLoad } from '../lib/autocannon.ts';
import { type BenchContext, type PhaseOutcome, watchPids, withServer } from '../lib/context.ts';
import { formatCores, serverCpuMicrosPer } from '../lib/cpu.ts';
import { progress } from '../lib/log.ts';
import { freePort, ROOT, runJsonChild } from '../lib/processes.ts';
import { markMeasuredWindow } from '../lib/profile.ts';
import { type Server, startAuthApi, startChatApi, startEmbeddedPlatform } from '../lib/services.ts';
import { fmtInt, fmtMs, type Row } from '../lib/table.ts';
import type { DeliveryInput, DeliveryResult } from '../load/ws-delivery.ts';
import type { ResumeInput, ResumeResult } from '../load/ws-resume.ts';
import { loadNotes } from './auth.ts';

export const CHAT_TARGETS = {
  sendPerSec: 5_000,
  sendP99Ms: 20,
  hotGroupPerSec: 3_000,
  deliveryP99Ms: 25,
  /** 10,000 subscribers over 1,000 groups. */
  wideDeliveryP99Ms: 50,
  wideDeliveryRssMiB: 600,
  embeddedSendPerSec: 1_500,
  embeddedSendP99Ms: 50,
  resumeMs: 500,
};

export function chatApiMissing(): string | undefined {
  return existsSync(join(ROOT, 'apps/chat-api/src/main.ts'))
    ? undefined
    : 'apps/chat-api/src/main.ts does not exist yet';
}

function sendVariants(users: LoggedIn[], groupIds: string[]): RequestVariant[] {
  // Ordered user-major so consecutive requests go to different groups.
  return users.flatMap((user) =>
    groupIds.map((groupId) => ({
      path: `/api/chat/groups/${groupId}/messages`,
      headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ content: 'benchmark message [<id>]', client_message_id: '[<id>]' }),
    })),
  );
}

/** chat-api's group-commit statements and the messages in them, over one load (warm-up included). */
interface CommitBatches {
  statements: number;
  messages: number;
}

async function measuringBatches<T>(
  chatUrl: string,
  run: () => Promise<T>,
): Promise<[T, CommitBatches | null]> {
  const sum = (snapshot: MetricSnapshot | undefined, suffix: string) => {
    let total = 0;
    for (const [key, value] of snapshot ?? [])
      if (key.startsWith(`chat_message_commit_batch_size_${suffix}`)) total += value;
    return total;
  };
  const before = await tryScrape(chatUrl);
  const result = await run();
  const after = await tryScrape(chatUrl);
  if (!before || !after?.size) return [result, null];
  return [
    result,
    {
      statements: sum(after, 'count') - sum(before, 'count'),
      messages: sum(after, 'sum') - sum(before, 'sum'),
    },
  ];
}

function batchNote(label: string, batches: CommitBatches | null): string[] {
  if (!batches) return [];
  if (batches.statements === 0)
    return [`${label}: no group-commit statements (chat_message_commit_batch_size)`];
  return [
    `${label}: group commit ${fmtInt(batches.messages)} messages in ${fmtInt(batches.statements)} statements ` +
      `(${(batches.messages / batches.statements).toFixed(1)} per statement, warm-up included)`,
  ];
}

async function chatSend(
  ctx: BenchContext,
  chat: Server,
  auth: Server,
  users: LoggedIn[],
  groupIds: string[],
) {
  const { plan } = ctx;
  const load = {
    url: chat.url,
    watch: watchPids(ctx, chat, auth),
    method: 'POST' as const,
    connections: plan.connections.chatSend,
    durationSeconds: plan.durationSeconds,
    warmupSeconds: plan.warmupSeconds,
    expectStatus: [201],
  };
  const [spread, spreadBatches] = await measuringBatches(chat.url, () =>
    runHttpLoad({
      ...load,
      title: `chat-send/${groupIds.length}-groups`,
      variants: sendVariants(users, groupIds.slice(0, plan.chatSendGroups)),
    }),
  );
  const [hot, hotBatches] = await measuringBatches(chat.url, () =>
    runHttpLoad({
      ...load,
      title: 'chat-send/hot-group',
      variants: sendVariants(users, groupIds.slice(0, 1)),
    }),
  );
  return { spread, hot, spreadBatches, hotBatches };
}

interface AuthCalls {
  byRoute: Record<string, number>;
  tokenRequests: number;
  groupLookups: number;
  /** chat-api's own counters about auth-api, when it exposes any. */
  chatApiCounters: Record<string, number>;
}

function authCalls(
  authBefore: MetricSnapshot,
  authAfter: MetricSnapshot,
  chatBefore: MetricSnapshot | undefined,
  chatAfter: MetricSnapshot | undefined,
): AuthCalls {
  const byRoute = requestsByRoute(authBefore, authAfter);
  delete byRoute['GET /metrics'];
  let tokenRequests = 0;
  let groupLookups = 0;
  for (const [route, count] of Object.entries(byRoute)) {
    if (route.endsWith('/oauth/token')) tokenRequests += count;
    else if (route.includes('/api/auth/groups')) groupLookups += count;
  }
  const chatApiCounters: Record<string, number> = {};
  if (chatAfter)
    for (const [key, change] of metricDelta(chatBefore ?? new Map(), chatAfter, (n) =>
      /auth_api|service_token/.test(n),
    ))
      chatApiCounters[key] = change;
  return { byRoute, tokenRequests, groupLookups, chatApiCounters };
}

async function tryScrape(url: string): Promise<MetricSnapshot | undefined> {
  try {
    return await scrapeMetrics(url);
  } catch {
    return undefined;
  }
}

interface DeliveryShape {
  subscribers: number;
  groups: number;
  ratePerSec: number;
  warmupSeconds: number;
  durationSeconds: number;
  drainSeconds: number;
  senderConnections: number;
}

/** A fresh chat-api (cold caches), the delivery load against it, and the calls it made to auth-api. */
async function measureDelivery(
  ctx: BenchContext,
  auth: Server,
  users: LoggedIn[],
  groupIds: string[],
  shape: DeliveryShape,
  label: string,
  options: { authBefore: MetricSnapshot },
): Promise<{ delivery: DeliveryResult; calls: AuthCalls }> {
  const port = await freePort();
  return withServer(ctx, await startChatApi(ctx.settings, label, port), async (chat) => {
    const chatBefore = await tryScrape(chat.url);
    const input: DeliveryInput = {
      chatUrl: chat.url,
      tokens: users.map((u) => u.token),
      groupIds: groupIds.slice(0, shape.groups),
      subscribers: shape.subscribers,
      ratePerSec: shape.ratePerSec,
      warmupSeconds: shape.warmupSeconds,
      durationSeconds: shape.durationSeconds,
      drainSeconds: shape.drainSeconds,
      senderConnections: shape.senderConnections,
      watch: watchPids(ctx, chat, auth),
      ...(chat.proc.child.pid ? { rssPid: chat.proc.child.pid } : {}),
    };
    progress(
      `delivery: ${input.subscribers} WebSocket subscribers over ${input.groupIds.length} groups, ` +
        `${input.ratePerSec} msg/s for ${input.warmupSeconds} s warm-up + ${input.durationSeconds} s measured`,
    );
    const result = await runJsonChild<DeliveryResult>('ws-delivery', 'bench/load/ws-delivery.ts', input);
    markMeasuredWindow(result.windowUs);
    return {
      delivery: result,
      calls: authCalls(
        options.authBefore,
        await scrapeMetrics(auth.url),
        chatBefore,
        await tryScrape(chat.url),
      ),
    };
  });
}

function deliveryRow(benchmark: string, d: DeliveryResult, p99Ms: number, rssMiB?: number): Row {
  const notes = [
    `${fmtInt(d.subscribers)} subscribers / ${d.groups} groups, ${fmtInt(d.sent)} sent (${fmtInt(d.warmupMessages)} warm-up, ` +
      `latencies over the rest) at ${fmtInt(d.achievedRatePerSec)}/s, ` +
      `${fmtInt(d.acked)} acknowledged, ${fmtInt(d.delivered)}/${fmtInt(d.expectedDeliveries)} deliveries, ` +
      `201 p99 ${fmtMs(d.ackLatencyMs.p99)}, chat-api RSS max ${fmtInt(d.serverRssMaxMiB)} MiB`,
    `${formatCores(d.cpuCores)}; chat-api CPU ${fmtInt(serverCpuMicrosPer(d.cpuCores, (d.sent - d.warmupMessages) / d.sendAndDrainSeconds))} µs per message sent`,
    `load process: event-loop delay p99 ${fmtMs(d.loadProcessLoopDelayMs.p99)}, sender lag p99 ${fmtMs(d.senderLagMs.p99)}` +
      (d.duplicates || d.strays ? `; DUPLICATES ${d.duplicates}, STRAYS ${d.strays}` : '') +
      (Object.keys(d.otherFrames).length ? `; other frames ${JSON.stringify(d.otherFrames)}` : '') +
      (d.socketsClosedDuringRun ? `; ${d.socketsClosedDuringRun} sockets closed during the run` : '') +
      (Object.keys(d.sendFailures).length ? `; send failures ${JSON.stringify(d.sendFailures)}` : ''),
  ];
  const met =
    d.deliveryLatencyMs.p99 <= p99Ms &&
    d.lost === 0 &&
    d.acked === d.sent &&
    (rssMiB === undefined || (d.serverRssMaxMiB > 0 && d.serverRssMaxMiB <= rssMiB));
  return {
    benchmark,
    result:
      `p50 ${fmtMs(d.deliveryLatencyMs.p50)}, p99 ${fmtMs(d.deliveryLatencyMs.p99)}, max ${fmtMs(d.deliveryLatencyMs.max)}; ` +
      `lost ${fmtInt(d.lost)}${rssMiB !== undefined ? `; chat-api RSS ${fmtInt(d.serverRssMaxMiB)} MiB` : ''}`,
    baseline: '',
    target: `p99 ≤ ${p99Ms} ms, 0 lost${rssMiB !== undefined ? `, chat-api RSS ≤ ${rssMiB} MB` : ''}`,
    verdict: met ? 'met' : 'MISSED',
    notes,
  };
}

/** bob (owner) creates `count` groups and adds carol to each. */
async function benchGroups(auth: Server, bob: LoggedIn, carol: LoggedIn, count: number): Promise<string[]> {
  progress(`creating ${count} groups as bob, each with carol`);
  return inParallel(
    Array.from({ length: count }, (_, i) => i),
    8,
    async (i) => {
      const id = await createGroup(auth.url, bob.token, `bench-${String(i).padStart(4, '0')}`);
      await addMember(auth.url, bob.token, id, carol.userId);
      return id;
    },
  );
}

/** 10. Delivery to 10,000 subscribers over 1,000 groups, with chat-api's resident memory. */
export async function wideDelivery(ctx: BenchContext): Promise<PhaseOutcome> {
  const missing = chatApiMissing();
  if (missing) throw new Error(missing);
  const shape = ctx.plan.wideDelivery;
  return withServer(ctx, await startAuthApi(ctx.settings, 'auth-api.delivery-wide'), async (auth) => {
    const bob = await login(auth.url, 'bob@acme.example');
    const carol = await login(auth.url, 'carol@acme.example');
    const groupIds = await benchGroups(auth, bob, carol, shape.groups);
    const { delivery } = await measureDelivery(
      ctx,
      auth,
      [bob, carol],
      groupIds,
      shape,
      'chat-api.delivery-wide',
      {
        authBefore: await scrapeMetrics(auth.url),
      },
    );
    return {
      rows: [
        deliveryRow(
          `10 delivery latency, ${fmtInt(delivery.subscribers)} subscribers / ${delivery.groups} groups`,
          delivery,
          CHAT_TARGETS.wideDeliveryP99Ms,
          CHAT_TARGETS.wideDeliveryRssMiB,
        ),
      ],
      data: { wideDelivery: delivery },
    };
  });
}

/** POSTs `count` messages to one group, `parallel` at a time; returns the ids in order of creation. */
async function postMessages(
  chatUrl: string,
  token: string,
  groupId: string,
  count: number,
  parallel: number,
) {
  const ids: string[] = new Array(count);
  await inParallel(
    Array.from({ length: count }, (_, i) => i),
    parallel,
    async (i) => {
      const response = await fetch(`${chatUrl}/api/chat/groups/${groupId}/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ content: `resume-bench ${i}`, client_message_id: randomUUID() }),
      });
      if (response.status !== 201)
        throw new Error(`POST message: ${response.status} ${await response.text()}`);
      ids[i] = ((await response.json()) as { id: string }).id;
    },
  );
  return ids;
}

/** 11. One socket resuming with `after` over 10,000 missed messages. */
export async function resumeReplay(ctx: BenchContext): Promise<PhaseOutcome> {
  const missing = chatApiMissing();
  if (missing) throw new Error(missing);
  const { events, rounds } = ctx.plan.resume;
  return withServer(ctx, await startAuthApi(ctx.settings, 'auth-api.resume'), async (auth) => {
    const bob = await login(auth.url, 'bob@acme.example');
    const carol = await login(auth.url, 'carol@acme.example');
    const [groupId] = await benchGroups(auth, bob, carol, 1);
    // The replay bound is configuration (WS_RESUME_MAX_GAP, default 500); the target asks for 10,000.
    const chatServer = await startChatApi(ctx.settings, 'chat-api.resume', await freePort(), {
      WS_RESUME_MAX_GAP: String(events),
    });
    return withServer(ctx, chatServer, async (chat) => {
      const [anchor] = await postMessages(chat.url, bob.token, groupId!, 1, 1);
      progress(`resume: posting ${fmtInt(events)} messages to one group`);
      await postMessages(chat.url, carol.token, groupId!, events, 32);
      const result = await runJsonChild<ResumeResult>('ws-resume', 'bench/load/ws-resume.ts', {
        chatUrl: chat.url,
        token: bob.token,
        groupId: groupId!,
        afterId: anchor!,
        expected: events,
        rounds,
      } satisfies ResumeInput);
      markMeasuredWindow(result.windowUs);
      const times = result.rounds.map((r) => r.ms).sort((a, b) => a - b);
      const median = times[Math.floor(times.length / 2)] ?? Number.POSITIVE_INFINITY;
      const clean = result.rounds.every(
        // Presence or typing frames may arrive meanwhile; only a reset or an error spoils a replay.
        (r) => r.received === events && r.outOfOrder === 0 && !r.otherFrames.reset && !r.otherFrames.error,
      );
      return {
        rows: [
          {
            benchmark: `11 resume: one socket replaying ${fmtInt(events)} missed messages (subscribe with after)`,
            result: `median ${fmtMs(median)} (${result.rounds.length} rounds: ${times.map((t) => fmtMs(t)).join(', ')})`,
            baseline: '',
            target: `≤ ${CHAT_TARGETS.resumeMs} ms, every message once, in order`,
            verdict: clean && median <= CHAT_TARGETS.resumeMs ? 'met' : 'MISSED',
            notes: [
              `WS_RESUME_MAX_GAP=${events}; per round: ${result.rounds
                .map(
                  (r) =>
                    `${fmtInt(r.received)} received${r.outOfOrder ? `, ${r.outOfOrder} OUT OF ORDER` : ''}` +
                    (Object.keys(r.otherFrames).length ? `, frames ${JSON.stringify(r.otherFrames)}` : ''),
                )
                .join('; ')}`,
            ],
          },
        ],
        data: { resume: result },
      };
    });
  });
}

/** 9. Chat send on the embedded default (what `npm start` runs), 50 connections on one group. */
export async function embeddedSend(ctx: BenchContext): Promise<PhaseOutcome> {
  const platform = await startEmbeddedPlatform(ctx.settings, 'platform.embedded');
  return withServer(ctx, platform, async () => {
    const bob = await login(platform.authUrl, 'bob@acme.example');
    const carol = await login(platform.authUrl, 'carol@acme.example');
    const general = (await groupsOf(platform.authUrl, bob.token)).find((g) => g.name === 'general');
    if (!general) throw new Error('bob has no group "general" (demo data)');
    const [result, batches] = await measuringBatches(platform.chatUrl, () =>
      runHttpLoad({
        title: 'chat-send/embedded',
        url: platform.chatUrl,
        watch: watchPids(ctx, platform),
        method: 'POST',
        connections: ctx.plan.connections.embeddedSend,
        durationSeconds: ctx.plan.durationSeconds,
        warmupSeconds: ctx.plan.warmupSeconds,
        variants: sendVariants([bob, carol], [general.id]),
        expectStatus: [201],
      }),
    );
    const met =
      result.reqPerSec >= CHAT_TARGETS.embeddedSendPerSec &&
      result.latencyMs.p99 <= CHAT_TARGETS.embeddedSendP99Ms &&
      result.unexpected === 0;
    return {
      rows: [
        {
          benchmark: `9 chat send, embedded default (npm start: PGlite), ${result.connections} connections, group general`,
          result: `${fmtInt(result.reqPerSec)} msg/s, p50 ${fmtMs(result.latencyMs.p50)}, p99 ${fmtMs(result.latencyMs.p99)}`,
          baseline: '',
          target: `≥ ${fmtInt(CHAT_TARGETS.embeddedSendPerSec)} msg/s, p99 ≤ ${CHAT_TARGETS.embeddedSendP99Ms} ms`,
          verdict: met ? 'met' : 'MISSED',
          notes: [
            ...loadNotes('platform (all services, unpinned)', result),
            ...batchNote('chat-api', batches),
          ],
        },
      ],
      data: { embeddedSend: { ...result, batches } },
    };
  });
}

/** Rows 4 alone (`--only=chat-send`): the send rows without delivery, to compare send-path changes. */
export function chatSendOnly(ctx: BenchContext): Promise<PhaseOutcome> {
  return chatPhases(ctx, { delivery: false });
}

export async function chatPhases(
  ctx: BenchContext,
  options: { delivery: boolean } = { delivery: true },
): Promise<PhaseOutcome> {
  const { plan, settings } = ctx;
  const data: Record<string, unknown> = {};
  const rows: Row[] = [];
  const missing = chatApiMissing();
  if (missing) throw new Error(missing);

  await withServer(ctx, await startAuthApi(settings, 'auth-api.chat'), async (auth) => {
    const bob = await login(auth.url, 'bob@acme.example');
    const carol = await login(auth.url, 'carol@acme.example');
    const users = [bob, carol];
    const groupIds = await benchGroups(auth, bob, carol, Math.max(plan.delivery.groups, plan.chatSendGroups));

    // 4. chat send
    const chatPort = await freePort();
    const sendAuthBefore = await scrapeMetrics(auth.url);
    const send = await withServer(ctx, await startChatApi(settings, 'chat-api.send', chatPort), (chat) =>
      chatSend(ctx, chat, auth, users, groupIds),
    );
    const sendCalls = authCalls(sendAuthBefore, await scrapeMetrics(auth.url), undefined, undefined);
    data.chatSend = { ...send, authCalls: sendCalls };
    const sendRow = (
      label: string,
      r: HttpLoadResult,
      batches: CommitBatches | null,
      perSec: number,
      p99Ms?: number,
    ): Row => ({
      benchmark: `4 chat send, durable on PostgreSQL, ${label}`,
      result: `${fmtInt(r.reqPerSec)} msg/s, p50 ${fmtMs(r.latencyMs.p50)}, p99 ${fmtMs(r.latencyMs.p99)}`,
      baseline: '',
      target: `≥ ${fmtInt(perSec)} msg/s${p99Ms ? `, p99 ≤ ${p99Ms} ms` : ''}`,
      verdict:
        r.reqPerSec >= perSec && (p99Ms === undefined || r.latencyMs.p99 <= p99Ms) && r.unexpected === 0
          ? 'met'
          : 'MISSED',
      notes: [...loadNotes('chat-api', r), ...batchNote('chat-api', batches)],
    });
    rows.push(
      sendRow(
        `${plan.chatSendGroups} groups, 2 users`,
        send.spread,
        send.spreadBatches,
        CHAT_TARGETS.sendPerSec,
        CHAT_TARGETS.sendP99Ms,
      ),
    );
    rows.push(sendRow('1 hot group, 2 users', send.hot, send.hotBatches, CHAT_TARGETS.hotGroupPerSec));
    if (!options.delivery) return;

    // 5. delivery, 6. calls to auth-api during it
    const authBefore = await scrapeMetrics(auth.url);
    const { delivery: d, calls } = await measureDelivery(
      ctx,
      auth,
      users,
      groupIds,
      plan.delivery,
      'chat-api.delivery',
      {
        authBefore,
      },
    );
    data.delivery = d;
    data.authCallsDuringDelivery = calls;
    rows.push(
      deliveryRow(
        `5 delivery latency (send → WebSocket receipt), ${fmtInt(d.subscribers)} subscribers / ${d.groups} groups`,
        d,
        CHAT_TARGETS.deliveryP99Ms,
      ),
    );
    const perThousand = d.sent > 0 ? (1000 * calls.groupLookups) / d.sent : 0;
    rows.push({
      benchmark: '6 calls to auth-api by chat-api during 5',
      result: `${fmtInt(calls.tokenRequests)} token requests, ${fmtInt(calls.groupLookups)} group lookups`,
      baseline: `${perThousand.toFixed(1)} lookups per 1,000 messages; during 4: ${fmtInt(sendCalls.tokenRequests)} tokens, ${fmtInt(sendCalls.groupLookups)} lookups`,
      target:
        'no call per message: lookups at cold start and TTL refresh only (< 1 per 10 messages), ≤ 2 tokens',
      verdict: calls.tokenRequests <= 2 && calls.groupLookups * 10 < d.sent ? 'met' : 'MISSED',
      notes: [
        `by route: ${
          Object.entries(calls.byRoute)
            .map(([route, n]) => `${route} ×${n}`)
            .join(', ') || 'none'
        }`,
        ...(Object.keys(calls.chatApiCounters).length
          ? [
              `chat-api counters: ${Object.entries(calls.chatApiCounters)
                .map(([k, v]) => `${k} +${v}`)
                .join(', ')}`,
            ]
          : []),
      ],
    });
  });
  return { rows, data };
}
