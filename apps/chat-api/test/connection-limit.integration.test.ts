/**
 * "Connections per user (at least 10 allowed)" holds across chat-api instances: the sockets of a user
 * are counted in the shared expiring sets (Redis on TEST_REDIS_URL, as in production; one in-process
 * store for both instances otherwise), so spreading them over two instances does not double the limit.
 * Paired with another user connecting on both instances at the same moment.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  DEMO,
  eventually,
  generalGroupId,
  login,
  type Platform,
  startPlatform,
  TestSocket,
  type User,
  usingRedis,
} from './helpers.ts';

let platform: Platform;
let bob: User;
let carol: User;
let general: string;
const open: TestSocket[] = [];

beforeAll(async () => {
  platform = await startPlatform({ instances: 2, chatEnv: { WS_MAX_CONNECTIONS_PER_USER: '10' } });
  [bob, carol] = await Promise.all([
    login(platform.auth.url, DEMO.users.bob),
    login(platform.auth.url, DEMO.users.carol),
  ]);
  general = await generalGroupId(platform.auth.url, bob);
}, 240_000);
afterAll(async () => {
  for (const socket of open) socket.close();
  await platform?.close();
});

const connect = async (instance: number, user: User) => {
  const socket = await TestSocket.connect(platform.chats[instance]!.wsUrl, user.token);
  open.push(socket);
  return socket;
};

/** An auth frame on a fresh socket: the answer is `ready`, or a close. */
const attempt = async (instance: number, user: User) => {
  const socket = await TestSocket.open(platform.chats[instance]!.wsUrl);
  open.push(socket);
  socket.send({ type: 'auth', token: user.token });
  const outcome = await Promise.race([
    socket.waitFor((f) => f.type === 'ready').then(() => 'ready' as const),
    socket.closed.then((closed) => closed.code),
  ]);
  return { socket, outcome };
};

it(`10 sockets of a user over two instances (${usingRedis ? 'Redis' : 'in-process'}): the 11th is refused with 1008 on either, while another user connects on both; a closed socket frees its slot everywhere`, async () => {
  const carols: TestSocket[] = [];
  for (let i = 0; i < 10; i++) carols.push(await connect(i % 2, carol));
  // Each instance holds 5 of Carol's sockets: counted per instance, both would take more.
  for (const instance of [0, 1])
    expect((await attempt(instance, carol)).outcome, `instance ${instance}`).toBe(1008);

  // Bob, at the same moment, on both instances: not limited by Carol's count.
  const [bobA, bobB] = await Promise.all([connect(0, bob), connect(1, bob)]);
  expect((await bobA.subscribe(general)).type).toBe('subscribed');
  expect((await bobB.subscribe(general)).type).toBe('subscribed');
  // Carol's ten still work.
  expect((await carols[9]!.subscribe(general)).type).toBe('subscribed');

  // One of hers closes on instance A: the slot is free on instance B too.
  carols[0]!.close();
  await carols[0]!.closed;
  await eventually(
    async () => (await attempt(1, carol)).outcome === 'ready',
    5_000,
    'a freed slot taken on B',
  );
  expect((await attempt(0, carol)).outcome).toBe(1008);
}, 60_000);
