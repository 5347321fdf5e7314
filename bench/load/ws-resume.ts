/**
 * The load process of the resume benchmark: one WebSocket that missed `expected` messages of a group
 * resumes with Part 1's `after` (the id of the last message it saw) and must receive every missed one,
 * in order, none twice. Time = from sending `subscribe` to the last missed message's frame. Repeated
 * `rounds` times, each on a fresh socket (the server's JIT and page cache warm up on the first).
 *
 * Started by bench/run.ts with its input as JSON on stdin; one JSON result on stdout.
 */
import WebSocket from 'ws';
import { childInput } from '../lib/processes.ts';
import { monotonicMicros } from '../lib/profile.ts';

export interface ResumeInput {
  chatUrl: string;
  token: string;
  groupId: string;
  afterId: string;
  expected: number;
  rounds: number;
}

export interface ResumeRound {
  ms: number;
  received: number;
  /** Frames out of order or seen twice, and `reset`/`error` frames: expected none. */
  outOfOrder: number;
  otherFrames: Record<string, number>;
}

export interface ResumeResult {
  rounds: ResumeRound[];
  /** The rounds on the monotonic clock (µs), to cut server profiles to them. */
  windowUs: [number, number];
}

const input = childInput<ResumeInput>();
const wsUrl = `${input.chatUrl.replace(/^http/, 'ws')}/api/chat/ws`;

function round(): Promise<ResumeRound> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(wsUrl, { perMessageDeflate: false });
    let started = 0;
    let received = 0;
    let lastSeq = -1;
    let outOfOrder = 0;
    const otherFrames: Record<string, number> = {};
    const timer = setTimeout(() => {
      socket.terminate();
      resolve({ ms: Number.POSITIVE_INFINITY, received, outOfOrder, otherFrames });
    }, 30_000);
    socket.on('open', () => socket.send(JSON.stringify({ type: 'auth', token: input.token })));
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data)) as { type: string; message?: { seq?: number } };
      if (frame.type === 'ready') {
        started = performance.now();
        socket.send(JSON.stringify({ type: 'subscribe', group_id: input.groupId, after: input.afterId }));
        return;
      }
      if (frame.type === 'subscribed') return;
      if (frame.type !== 'message') {
        otherFrames[frame.type] = (otherFrames[frame.type] ?? 0) + 1;
        if (frame.type === 'reset' || frame.type === 'error') {
          clearTimeout(timer);
          socket.terminate();
          resolve({ ms: Number.POSITIVE_INFINITY, received, outOfOrder, otherFrames });
        }
        return;
      }
      const seq = frame.message?.seq ?? 0;
      if (seq <= lastSeq) outOfOrder += 1;
      lastSeq = seq;
      received += 1;
      if (received === input.expected) {
        const ms = performance.now() - started;
        clearTimeout(timer);
        socket.terminate();
        resolve({ ms, received, outOfOrder, otherFrames });
      }
    });
  });
}

const rounds: ResumeRound[] = [];
const windowStart = monotonicMicros();
for (let i = 0; i < input.rounds; i++) {
  const result = await round();
  rounds.push(result);
  process.stderr.write(`round ${i + 1}: ${result.received} messages in ${result.ms.toFixed(1)} ms\n`);
}
process.stdout.write(
  JSON.stringify({ rounds, windowUs: [windowStart, monotonicMicros()] } satisfies ResumeResult),
);
process.exit(0);
