/**
 * Phases 4–6, chat-api in front of auth-api: durable sends (spread over many groups, then one hot
 * group), delivery latency to 1,000 WebSocket subscribers, and the calls chat-api makes to auth-api
 * meanwhile. One auth-api serves all three; chat-api is started fresh for sends and again for
 * delivery, so delivery starts from cold membership caches and its auth-api calls are all counted.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  addMember,
  createGroup,
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
import { type Server, startAuthApi, startChatApi } from '../lib/services.ts';
import { fmtInt, fmtMs, type Row } from '../lib/table.ts';
import type { DeliveryInput, DeliveryResult } from '../load/ws-delivery.ts';
import { loadNotes } from './auth.ts';

export const CHAT_TARGETS = { sendPerSec: 5_000, deliveryP99Ms: 25 };

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
  const spread = await runHttpLoad({
    ...load,
    title: `chat-send/${groupIds.length}-groups`,
    variants: sendVariants(users, groupIds.slice(0, plan.chatSendGroups)),
  });
  const hot = await runHttpLoad({
    ...load,
    title: 'chat-send/hot-group',
    variants: sendVariants(users, groupIds.slice(0, 1)),
  });
  return { spread, hot };
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

export async function chatPhases(ctx: BenchContext): Promise<PhaseOutcome> {
  const { plan, settings } = ctx;
  const data: Record<string, unknown> = {};
  const rows: Row[] = [];
  const missing = chatApiMissing();
  if (missing) throw new Error(missing);

  await withServer(ctx, await startAuthApi(settings, 'auth-api.chat'), async (auth) => {
    const bob = await login(auth.url, 'bob@acme.example');
    const carol = await login(auth.url, 'carol@acme.example');
    const users = [bob, carol];
    const groupCount = Math.max(plan.delivery.groups, plan.chatSendGroups);
    progress(`creating ${groupCount} groups as bob, each with carol`);
    const groupIds = await inParallel(
      Array.from({ length: groupCount }, (_, i) => i),
      8,
      async (i) => {
        const id = await createGroup(auth.url, bob.token, `bench-${String(i).padStart(3, '0')}`);
        await addMember(auth.url, bob.token, id, carol.userId);
        return id;
      },
    );

    // 4. chat send
    const chatPort = await freePort();
    const sendAuthBefore = await scrapeMetrics(auth.url);
    const send = await withServer(ctx, await startChatApi(settings, 'chat-api.send', chatPort), (chat) =>
      chatSend(ctx, chat, auth, users, groupIds),
    );
    const sendCalls = authCalls(sendAuthBefore, await scrapeMetrics(auth.url), undefined, undefined);
    data.chatSend = { ...send, authCalls: sendCalls };
    const sendRow = (label: string, r: HttpLoadResult, target: boolean): Row => ({
      benchmark: `4 chat send, ${label}`,
      result: `${fmtInt(r.reqPerSec)} msg/s, p50 ${fmtMs(r.latencyMs.p50)}, p99 ${fmtMs(r.latencyMs.p99)}`,
      baseline: '',
      target: target ? `≥ ${fmtInt(CHAT_TARGETS.sendPerSec)} msg/s` : '(context: per-group ordering)',
      verdict: target
        ? r.reqPerSec >= CHAT_TARGETS.sendPerSec && r.unexpected === 0
          ? 'met'
          : 'MISSED'
        : '',
      notes: loadNotes('chat-api', r),
    });
    rows.push(sendRow(`${plan.chatSendGroups} groups, 2 users`, send.spread, true));
    rows.push(sendRow('1 hot group, 2 users', send.hot, false));

    // 5. delivery, 6. calls to auth-api during it
    const authBefore = await scrapeMetrics(auth.url);
    const deliveryPort = await freePort();
    const { delivery, calls } = await withServer(
      ctx,
      await startChatApi(settings, 'chat-api.delivery', deliveryPort),
      async (chat) => {
        const chatBefore = await tryScrape(chat.url);
        const input: DeliveryInput = {
          chatUrl: chat.url,
          tokens: users.map((u) => u.token),
          groupIds: groupIds.slice(0, plan.delivery.groups),
          subscribers: plan.delivery.subscribers,
          ratePerSec: plan.delivery.ratePerSec,
          warmupSeconds: plan.delivery.warmupSeconds,
          durationSeconds: plan.delivery.durationSeconds,
          drainSeconds: plan.delivery.drainSeconds,
          senderConnections: plan.delivery.senderConnections,
          watch: watchPids(ctx, chat, auth),
        };
        progress(
          `delivery: ${input.subscribers} WebSocket subscribers over ${input.groupIds.length} groups, ` +
            `${input.ratePerSec} msg/s for ${input.warmupSeconds} s warm-up + ${input.durationSeconds} s measured`,
        );
        const result = await runJsonChild<DeliveryResult>('ws-delivery', 'bench/load/ws-delivery.ts', input);
        markMeasuredWindow(result.windowUs);
        return {
          delivery: result,
          calls: authCalls(authBefore, await scrapeMetrics(auth.url), chatBefore, await tryScrape(chat.url)),
        };
      },
    );
    data.delivery = delivery;
    data.authCallsDuringDelivery = calls;
    const d = delivery;
    const notes = [
      `${fmtInt(d.subscribers)} subscribers / ${d.groups} groups, ${fmtInt(d.sent)} sent (${fmtInt(d.warmupMessages)} warm-up, ` +
        `latencies over the rest) at ${fmtInt(d.achievedRatePerSec)}/s, ` +
        `${fmtInt(d.acked)} acknowledged, ${fmtInt(d.delivered)}/${fmtInt(d.expectedDeliveries)} deliveries, ` +
        `201 p99 ${fmtMs(d.ackLatencyMs.p99)}`,
      `${formatCores(d.cpuCores)}; chat-api CPU ${fmtInt(serverCpuMicrosPer(d.cpuCores, (d.sent - d.warmupMessages) / d.sendAndDrainSeconds))} µs per message sent`,
      `load process: event-loop delay p99 ${fmtMs(d.loadProcessLoopDelayMs.p99)}, sender lag p99 ${fmtMs(d.senderLagMs.p99)}` +
        (d.duplicates || d.strays ? `; DUPLICATES ${d.duplicates}, STRAYS ${d.strays}` : '') +
        (Object.keys(d.otherFrames).length ? `; other frames ${JSON.stringify(d.otherFrames)}` : '') +
        (d.socketsClosedDuringRun ? `; ${d.socketsClosedDuringRun} sockets closed during the run` : '') +
        (Object.keys(d.sendFailures).length ? `; send failures ${JSON.stringify(d.sendFailures)}` : ''),
    ];
    const deliveryMet =
      d.deliveryLatencyMs.p99 <= CHAT_TARGETS.deliveryP99Ms && d.lost === 0 && d.acked === d.sent;
    rows.push({
      benchmark: '5 delivery latency (send → WebSocket receipt)',
      result: `p50 ${fmtMs(d.deliveryLatencyMs.p50)}, p99 ${fmtMs(d.deliveryLatencyMs.p99)}, max ${fmtMs(d.deliveryLatencyMs.max)}; lost ${fmtInt(d.lost)}`,
      baseline: '',
      target: `p99 ≤ ${CHAT_TARGETS.deliveryP99Ms} ms, 0 lost`,
      verdict: deliveryMet ? 'met' : 'MISSED',
      notes,
    });
    const perThousand = d.sent > 0 ? (1000 * calls.groupLookups) / d.sent : 0;
    rows.push({
      benchmark: '6 calls to auth-api by chat-api during 5',
      result: `${fmtInt(calls.tokenRequests)} token requests, ${fmtInt(calls.groupLookups)} group lookups`,
      baseline: `${perThousand.toFixed(1)} lookups per 1,000 messages; during 4: ${fmtInt(sendCalls.tokenRequests)} tokens, ${fmtInt(sendCalls.groupLookups)} lookups`,
      target: '',
      verdict: '',
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
