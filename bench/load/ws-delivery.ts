/**
 * The load process of the delivery benchmark: subscribers and the sender in one process (so send and
 * receipt times come from one clock), separate from the servers.
 *
 * 1. Opens `subscribers` WebSockets to chat-api, spread evenly over `groupIds` and over the users whose
 *    tokens it is given; each authenticates (`auth` → `ready`) and subscribes to one group.
 * 2. Sends `ratePerSec` messages per second over REST for `warmupSeconds` + `durationSeconds`, open
 *    loop (paced by the clock, not by the answers), round-robin over the groups. Each message's content
 *    carries its sequence number and the time it was sent. Latencies, CPU and the profile window cover
 *    the messages after the warm-up; losses are counted over every message.
 * 3. Waits until every subscriber has every acknowledged message of its group (or `drainSeconds`).
 *
 * Delivery latency = receipt time − the send time written in the content. A message is lost for a
 * subscriber when it was acknowledged (201) and that subscriber never received it.
 *
 * Started by bench/run.ts with its input as JSON on stdin; progress on stderr, one JSON result on stdout.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import WebSocket from 'ws';
import { cpuCores, cpuSnapshot } from '../lib/cpu.ts';
import { childInput, sleep } from '../lib/processes.ts';
import { monotonicMicros } from '../lib/profile.ts';
import { type Percentiles, percentiles } from '../lib/stats.ts';

export interface DeliveryInput {
  chatUrl: string;
  /** User access tokens; subscribers and sends alternate between them. */
  tokens: string[];
  groupIds: string[];
  subscribers: number;
  ratePerSec: number;
  /** Sent at the same rate before the measured messages (JIT, caches, connection pools warm up). */
  warmupSeconds: number;
  durationSeconds: number;
  drainSeconds: number;
  /** Keep-alive connections the sender may use for REST sends. */
  senderConnections: number;
  /** Processes whose CPU use is measured while sending (label → pid). */
  watch: Record<string, number>;
  /** The server whose resident memory is sampled (VmRSS, every 250 ms from the first connection on). */
  rssPid?: number;
}

export interface DeliveryResult {
  subscribers: number;
  groups: number;
  connectSeconds: number;
  /** Sends attempted (warm-up included), acknowledged with 201, and failed (status or transport error). */
  sent: number;
  warmupMessages: number;
  acked: number;
  sendFailures: Record<string, number>;
  achievedRatePerSec: number;
  /** How late the sender was against its schedule (its own event loop, not the server). */
  senderLagMs: Percentiles;
  /** REST: from the request to its 201. */
  ackLatencyMs: Percentiles;
  expectedDeliveries: number;
  delivered: number;
  lost: number;
  duplicates: number;
  /** Frames of a message the subscriber's group was not sent (must be 0). */
  strays: number;
  /** Frames other than `message` after subscribing (error, reset…), by type: expected none. */
  otherFrames: Record<string, number>;
  deliveryLatencyMs: Percentiles;
  /** p99 and max delivery latency of the messages sent in each measured second (where the tail comes from). */
  perSecond: { p99: number; max: number }[];
  drainSeconds: number;
  /** From the first send to the end of draining: the window cpuCores covers. */
  sendAndDrainSeconds: number;
  socketsClosedDuringRun: number;
  /** This process's event-loop delay during the run: what the measurement itself adds. */
  loadProcessLoopDelayMs: { p50: number; p99: number; max: number };
  /** Sending and draining on the monotonic clock (µs), to cut server profiles to it. */
  windowUs: [number, number];
  /** Cores used while sending and draining, per watched process, PostgreSQL, this process, the rest. */
  cpuCores: Record<string, number>;
  /** Highest resident set size of `rssPid` seen, in MiB (0 when not sampled). */
  serverRssMaxMiB: number;
}

const input = childInput<DeliveryInput>();
const say = (line: string) => process.stderr.write(`${line}\n`);
const wsUrl = `${input.chatUrl.replace(/^http/, 'ws')}/api/chat/ws`;
const groupCount = input.groupIds.length;
const CONTENT_PATTERN = /^delivery-bench seq=(\d+) sent_at=([\d.]+)$/;
const now = () => performance.timeOrigin + performance.now();

interface Subscriber {
  socket: WebSocket;
  groupIndex: number;
  seen: Set<number>;
}

const subscribers: Subscriber[] = [];
const subscribersPerGroup = new Uint32Array(groupCount);
const latencies: number[] = [];
const bySecond: number[][] = [];
let duplicates = 0;
let strays = 0;
/** Frames other than `message` after subscribing (`error`, `reset`…), by type. */
const otherFrames: Record<string, number> = {};
let delivered = 0;
let running = false;
let closedDuringRun = 0;
// Per sequence number: received count and whether it was acknowledged.
const warmupCount = Math.floor(input.ratePerSec * input.warmupSeconds);
const total = warmupCount + Math.floor(input.ratePerSec * input.durationSeconds);
const capacity = total + 1;
const receivedCount = new Uint32Array(capacity);
const acked = new Uint8Array(capacity);

function onFrame(subscriber: Subscriber, data: WebSocket.RawData): void {
  const frame = JSON.parse(String(data)) as { type: string; message?: { content: string; group_id: string } };
  if (frame.type !== 'message' || !frame.message) {
    otherFrames[frame.type] = (otherFrames[frame.type] ?? 0) + 1;
    return;
  }
  const receivedAt = now();
  const match = CONTENT_PATTERN.exec(frame.message.content);
  if (!match) return;
  const seq = Number(match[1]);
  if (
    frame.message.group_id !== input.groupIds[subscriber.groupIndex] ||
    seq % groupCount !== subscriber.groupIndex
  ) {
    strays += 1;
    return;
  }
  if (subscriber.seen.has(seq)) {
    duplicates += 1;
    return;
  }
  subscriber.seen.add(seq);
  receivedCount[seq] = (receivedCount[seq] ?? 0) + 1;
  delivered += 1;
  if (seq >= warmupCount) {
    const latency = receivedAt - Number(match[2]);
    latencies.push(latency);
    const second = Math.floor((seq - warmupCount) / input.ratePerSec);
    bySecond[second] ??= [];
    bySecond[second].push(latency);
  }
}

function connect(index: number): Promise<void> {
  const groupIndex = index % groupCount;
  const token = input.tokens[Math.floor(index / groupCount) % input.tokens.length]!;
  const groupId = input.groupIds[groupIndex]!;
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(wsUrl, { perMessageDeflate: false });
    const subscriber: Subscriber = { socket, groupIndex, seen: new Set() };
    const timer = setTimeout(() => {
      socket.terminate();
      reject(new Error(`subscriber ${index} was not subscribed after 20 s`));
    }, 20_000);
    socket.on('open', () => socket.send(JSON.stringify({ type: 'auth', token })));
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('close', (code) => {
      if (running) closedDuringRun += 1;
      clearTimeout(timer);
      reject(new Error(`subscriber ${index} closed with ${code} before it was subscribed`));
    });
    const setup = (data: WebSocket.RawData) => {
      const frame = JSON.parse(String(data)) as { type: string; group_id?: string; status?: number };
      if (frame.type === 'ready') socket.send(JSON.stringify({ type: 'subscribe', group_id: groupId }));
      else if (frame.type === 'subscribed' && frame.group_id === groupId) {
        clearTimeout(timer);
        socket.off('message', setup);
        socket.on('message', (payload) => onFrame(subscriber, payload));
        subscribers.push(subscriber);
        subscribersPerGroup[groupIndex] = (subscribersPerGroup[groupIndex] ?? 0) + 1;
        resolve();
      } else if (frame.type === 'error') {
        clearTimeout(timer);
        reject(new Error(`subscriber ${index}: ${String(data)}`));
      }
    };
    socket.on('message', setup);
  });
}

let rssMaxKiB = 0;
function sampleRss(): void {
  if (!input.rssPid) return;
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${input.rssPid}/status`, 'utf8'));
    if (match) rssMaxKiB = Math.max(rssMaxKiB, Number(match[1]));
  } catch {}
}
const rssTimer = setInterval(sampleRss, 250);

say(`connecting ${input.subscribers} subscribers over ${groupCount} groups`);
const connectStarted = performance.now();
for (let i = 0; i < input.subscribers; i += 50) {
  const batch = [];
  for (let j = i; j < Math.min(i + 50, input.subscribers); j++) batch.push(connect(j));
  await Promise.all(batch);
}
const connectSeconds = (performance.now() - connectStarted) / 1000;
say(`${subscribers.length} subscribers ready in ${connectSeconds.toFixed(1)} s`);

// ---- sending ----
const agent = new Agent({ keepAlive: true, maxSockets: input.senderConnections });
const chat = new URL(input.chatUrl);
const sendFailures: Record<string, number> = {};
const ackLatencies: number[] = [];
const senderLags: number[] = [];
let sent = 0;
let ackedCount = 0;
let inFlight = 0;

function send(seq: number): void {
  const groupIndex = seq % groupCount;
  const token = input.tokens[Math.floor(seq / groupCount) % input.tokens.length]!;
  const sentAt = now();
  const body = JSON.stringify({
    content: `delivery-bench seq=${seq} sent_at=${sentAt.toFixed(3)}`,
    client_message_id: randomUUID(),
  });
  inFlight += 1;
  const fail = (reason: string) => {
    sendFailures[reason] = (sendFailures[reason] ?? 0) + 1;
  };
  const req = request(
    {
      agent,
      host: chat.hostname,
      port: chat.port,
      method: 'POST',
      path: `/api/chat/groups/${input.groupIds[groupIndex]}/messages`,
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
      },
    },
    (response) => {
      response.resume();
      response.on('end', () => {
        inFlight -= 1;
        if (response.statusCode === 201) {
          acked[seq] = 1;
          ackedCount += 1;
          if (seq >= warmupCount) ackLatencies.push(now() - sentAt);
        } else fail(String(response.statusCode));
      });
    },
  );
  req.on('error', (error) => {
    inFlight -= 1;
    fail(error.message);
  });
  req.end(body);
}

const loopDelay = monitorEventLoopDelay({ resolution: 1 });
running = true;
say(
  `sending ${input.ratePerSec} messages/s: ${input.warmupSeconds} s warm-up, then ${input.durationSeconds} s measured`,
);
const sendStarted = performance.now();
// Set when the first measured message goes out.
let measuredStarted = 0;
let windowStart = 0;
let cpuBefore = cpuSnapshot(input.watch);
let lastReport = sendStarted;
while (sent < total) {
  const elapsed = performance.now() - sendStarted;
  const due = Math.min(total, Math.floor((elapsed * input.ratePerSec) / 1000) + 1);
  while (sent < due) {
    if (sent === warmupCount) {
      measuredStarted = performance.now();
      windowStart = monotonicMicros();
      cpuBefore = cpuSnapshot(input.watch);
      loopDelay.enable();
    }
    if (sent >= warmupCount) senderLags.push(Math.max(0, elapsed - (sent * 1000) / input.ratePerSec));
    send(sent);
    sent += 1;
  }
  if (performance.now() - lastReport >= 5_000) {
    lastReport = performance.now();
    say(`sent ${sent}, acknowledged ${ackedCount}, in flight ${inFlight}, deliveries ${delivered}`);
  }
  await sleep(1);
}
const measuredSendSeconds = (performance.now() - measuredStarted) / 1000;
while (inFlight > 0) await sleep(5);

function expectedDeliveries(): number {
  let expected = 0;
  for (let seq = 0; seq < sent; seq++) if (acked[seq]) expected += subscribersPerGroup[seq % groupCount]!;
  return expected;
}
function receivedOfAcked(): number {
  let received = 0;
  for (let seq = 0; seq < sent; seq++) if (acked[seq]) received += receivedCount[seq]!;
  return received;
}
const expected = expectedDeliveries();
say(`all sends answered; draining (expecting ${expected} deliveries, have ${delivered})`);
const drainStarted = performance.now();
while (receivedOfAcked() < expected && performance.now() - drainStarted < input.drainSeconds * 1000)
  await sleep(20);
const drainSeconds = (performance.now() - drainStarted) / 1000;
running = false;
loopDelay.disable();
const cpu = cpuCores(cpuBefore, cpuSnapshot(input.watch));
sampleRss();
clearInterval(rssTimer);

const receivedAcked = receivedOfAcked();
const result: DeliveryResult = {
  subscribers: subscribers.length,
  groups: groupCount,
  connectSeconds,
  sent,
  warmupMessages: warmupCount,
  acked: ackedCount,
  sendFailures,
  achievedRatePerSec: (total - warmupCount) / measuredSendSeconds,
  senderLagMs: percentiles(senderLags),
  ackLatencyMs: percentiles(ackLatencies),
  expectedDeliveries: expected,
  delivered,
  lost: expected - receivedAcked,
  duplicates,
  strays,
  otherFrames,
  deliveryLatencyMs: percentiles(latencies),
  perSecond: Array.from(bySecond, (samples) => {
    const { p99, max } = percentiles(samples ?? []);
    return { p99: Math.round(p99 * 10) / 10, max: Math.round(max * 10) / 10 };
  }),
  drainSeconds,
  sendAndDrainSeconds: (performance.now() - measuredStarted) / 1000,
  socketsClosedDuringRun: closedDuringRun,
  windowUs: [windowStart, monotonicMicros()],
  cpuCores: cpu,
  serverRssMaxMiB: Math.round(rssMaxKiB / 1024),
  loadProcessLoopDelayMs: {
    p50: loopDelay.percentile(50) / 1e6,
    p99: loopDelay.percentile(99) / 1e6,
    max: loopDelay.max / 1e6,
  },
};
say(
  `delivered ${receivedAcked}/${expected}, lost ${result.lost}, p50 ${result.deliveryLatencyMs.p50.toFixed(1)} ms, ` +
    `p99 ${result.deliveryLatencyMs.p99.toFixed(1)} ms, max ${result.deliveryLatencyMs.max.toFixed(1)} ms`,
);
for (const subscriber of subscribers) subscriber.socket.terminate();
agent.destroy();
process.stdout.write(JSON.stringify(result));
process.exit(0);
