/**
 * Property-based tests over every WebSocket client frame (auth, subscribe, unsubscribe, typing) and
 * what is not one: near-valid frames of each type, arbitrary JSON, text that is not JSON, binary
 * frames. For every frame: the server stays up and answers in protocol (frames of the contract's types,
 * errors with a 4xx status, never a 5xx), the connection stays open except where the contract closes it
 * (a bad token in an `auth` frame: 4401), and nothing stored changes (no frame stores anything).
 */
import { FUZZ_RUNS, valueFor } from '@groupchat/testkit/fuzz';
import fc from 'fast-check';
import { afterAll, expect, it } from 'vitest';
import { DEMO, generalGroupId, login, startPlatform, storedState, TestSocket } from '../helpers.ts';

const platform = await startPlatform();
afterAll(() => platform.close());
const chat = platform.chats[0]!;
const [bob, carol] = await Promise.all(
  [DEMO.users.bob, DEMO.users.carol].map((email) => login(platform.auth.url, email)),
);
const general = await generalGroupId(platform.auth.url, bob!);

/** Frames the server may send (the contract's, plus the acknowledgements chat-api documents). */
const SERVER_FRAMES = new Set([
  'ready',
  'subscribed',
  'unsubscribed',
  'message',
  'message_updated',
  'reset',
  'error',
  'typing',
  'presence',
  'read',
]);
/** chat-api's default WS_MAX_PAYLOAD_BYTES. */
const MAX_PAYLOAD = 16 * 1024;
/** The answer to this frame marks the end of everything the fuzzed frame before it caused. */
const PROBE_GROUP = '00000000-0000-7000-8000-000000000000';

const groupIds = fc.oneof(
  { weight: 4, arbitrary: fc.constant(general) },
  { weight: 2, arbitrary: fc.constant(general.toUpperCase()) },
  { weight: 2, arbitrary: fc.uuid() },
  { weight: 2, arbitrary: valueFor({ type: 'string', format: 'uuid' }) },
);
const cursors = fc.oneof(
  fc.nat().map(String),
  fc.constantFrom('0', '00', '-1', '1e3', '9'.repeat(19), '9007199254740993', '', ' 1'),
  valueFor({ type: 'string' }),
);
const tokens = fc.oneof(
  { weight: 3, arbitrary: fc.constant(bob!.token) },
  { weight: 1, arbitrary: fc.constant(carol!.token) },
  {
    weight: 2,
    arbitrary: fc.constantFrom('', 'garbage', `${bob!.token}x`, bob!.token.split('.').slice(0, 2).join('.')),
  },
  { weight: 1, arbitrary: valueFor({ type: 'string' }) },
);

/** A frame of one of the protocol's types with each member right, wrong, missing or extra. */
const shapedFrame = fc
  .record(
    {
      type: fc.oneof(
        { weight: 8, arbitrary: fc.constantFrom('auth', 'subscribe', 'unsubscribe', 'typing') },
        { weight: 1, arbitrary: fc.constantFrom('message', 'ready', 'AUTH', '', 'subscribe ', 'toString') },
        { weight: 1, arbitrary: valueFor({ type: 'string' }) },
      ),
      group_id: groupIds,
      after: fc.oneof(groupIds, valueFor({ type: 'string' })),
      cursor: cursors,
      token: tokens,
      extra: valueFor({}),
    },
    { requiredKeys: ['type'] },
  )
  .map((frame) => JSON.stringify(frame));

/** Right frames too, in between: the state they leave (subscriptions, a fresh token) is what later ones meet. */
const rightFrame = fc
  .oneof(
    fc.constant({ type: 'subscribe', group_id: general }),
    fc.nat({ max: 20 }).map((n) => ({ type: 'subscribe', group_id: general, cursor: String(n) })),
    fc.constant({ type: 'unsubscribe', group_id: general }),
    fc.constant({ type: 'typing', group_id: general }),
    fc.constant({ type: 'auth', token: bob!.token }),
  )
  .map((frame) => JSON.stringify(frame));

const frames = fc.oneof(
  { weight: 10, arbitrary: shapedFrame.map((text) => ({ text })) },
  { weight: 3, arbitrary: rightFrame.map((text) => ({ text })) },
  {
    weight: 1,
    arbitrary: fc.jsonValue({ maxDepth: 3 }).map((value) => ({ text: JSON.stringify(value) ?? 'null' })),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }).map((text) => ({ text })) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      { text: '' },
      { text: '{' },
      { text: `${'['.repeat(3_000)}${']'.repeat(3_000)}` },
      { text: JSON.stringify({ type: 'subscribe', group_id: general, pad: 'x'.repeat(60_000) }) },
      { text: '{"type":"subscribe","group_id":"x","__proto__":{"type":"auth"}}' },
    ),
  },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ binary: Buffer.from(bytes) })) },
);

let socket: TestSocket | null = null;
async function connected(): Promise<TestSocket> {
  if (socket && socket.socket.readyState === socket.socket.OPEN) return socket;
  socket = await TestSocket.connect(chat.wsUrl, bob!.token);
  return socket;
}

it('every client frame: an answer in protocol, never a 5xx, closed only by a bad auth frame, nothing stored', async () => {
  const outcomes = new Map<string, number>();
  const count = (key: string) => outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
  await fc.assert(
    fc.asyncProperty(frames, async (frame) => {
      const conn = await connected();
      const before = await storedState(chat);
      const from = conn.frames.length;
      if ('binary' in frame) conn.socket.send(frame.binary, { binary: true });
      else conn.send(frame.text);
      conn.send({ type: 'unsubscribe', group_id: PROBE_GROUP });
      const what = 'binary' in frame ? `binary ${frame.binary.toString('hex')}` : frame.text.slice(0, 300);
      let closedBy: { code: number } | null = null;
      try {
        await conn.waitFor((f) => f.type === 'unsubscribed' && f.group_id === PROBE_GROUP, 5_000, from);
      } catch (error) {
        closedBy = await Promise.race([
          conn.closed,
          new Promise<null>((r) => setTimeout(() => r(null), 500)),
        ]);
        if (!closedBy) throw new Error(`${what}: no answer and not closed (${(error as Error).message})`);
      }
      const answers = conn.frames.slice(from);
      for (const answer of answers) {
        expect(SERVER_FRAMES.has(answer.type), `${what}: unknown frame ${JSON.stringify(answer)}`).toBe(true);
        if (answer.type === 'error') {
          expect(answer.status, `${what}: ${JSON.stringify(answer)}`).toBeGreaterThanOrEqual(400);
          expect(answer.status, `${what}: ${JSON.stringify(answer)}`).toBeLessThan(500);
          expect(typeof answer.detail, what).toBe('string');
        }
      }
      if (closedBy) {
        const size = 'binary' in frame ? frame.binary.length : Buffer.byteLength(frame.text);
        if (closedBy.code === 1009) {
          // RFC 6455 "message too big": over the frame size the server takes (WS_MAX_PAYLOAD_BYTES).
          expect(size, what).toBeGreaterThan(MAX_PAYLOAD);
          count('closed 1009');
        } else {
          // Else only the contract's reason to close: an auth frame whose token is bad, or another user's.
          const parsed =
            'text' in frame ? (JSON.parse(safeJson(frame.text)) as { type?: unknown } | null) : null;
          expect(parsed?.type, `${what}: closed with ${closedBy.code}`).toBe('auth');
          expect(closedBy.code, what).toBe(4401);
          count('closed 4401');
        }
      } else
        count(
          answers.length > 1
            ? answers[0].type === 'error'
              ? `error ${answers[0].status}`
              : answers[0].type
            : 'silent',
        );
      expect(await storedState(chat), `${what} changed data`).toEqual(before);
    }),
    { numRuns: FUZZ_RUNS * 2, endOnFailure: true },
  );
  // The generator reached every kind of outcome: accepted frames, refusals and closes.
  const seen = JSON.stringify([...outcomes]);
  expect(outcomes.get('subscribed') ?? 0, seen).toBeGreaterThan(0);
  expect(outcomes.get('error 400') ?? 0, seen).toBeGreaterThan(0);
  expect(outcomes.get('closed 4401') ?? 0, seen).toBeGreaterThan(0);
  socket?.close();
}, 120_000);

function safeJson(text: string): string {
  try {
    JSON.parse(text);
    return text;
  } catch {
    return 'null';
  }
}
