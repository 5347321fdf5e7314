import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  createGroup,
  DEMO,
  generalGroupId,
  login,
  type Platform,
  startPlatform,
  TestSocket,
  type User,
  usingRedis,
} from './helpers.ts';

const GRACE_MS = 1_000;
const TTL_MS = 1_500;
const HEARTBEAT_MS = 250;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The contract's "Typing and presence", across two chat-api instances (Redis when TEST_REDIS_URL is set). */
describe(`typing and presence across instances (${usingRedis ? 'Redis' : 'in-process'})`, () => {
  let platform: Platform;
  let authUrl: string;
  let wsA: string;
  let wsB: string;
  let urlA: string;
  let urlB: string;
  let bob: User;
  let carol: User;
  let mallory: User;
  let general: string;
  const sockets: TestSocket[] = [];
  const open = async (wsUrl: string, user: User, groupId?: string) => {
    const socket = await TestSocket.connect(wsUrl, user.token);
    sockets.push(socket);
    if (groupId) expect((await socket.subscribe(groupId)).type).toBe('subscribed');
    return socket;
  };
  const presence = (url: string, user: User | null, groupId: string) =>
    api('GET', `${url}/api/chat/groups/${groupId}/presence`, user ? { token: user.token } : {});

  beforeAll(async () => {
    platform = await startPlatform({
      instances: 2,
      chatEnv: {
        PRESENCE_GRACE_MS: String(GRACE_MS),
        PRESENCE_TTL_MS: String(TTL_MS),
        PRESENCE_HEARTBEAT_MS: String(HEARTBEAT_MS),
      },
    });
    authUrl = platform.auth.url;
    [urlA, urlB] = platform.chats.map((c) => c.url) as [string, string];
    [wsA, wsB] = platform.chats.map((c) => c.wsUrl) as [string, string];
    [bob, carol, mallory] = await Promise.all([
      login(authUrl, DEMO.users.bob),
      login(authUrl, DEMO.users.carol),
      login(authUrl, DEMO.users.mallory),
    ]);
    general = await generalGroupId(authUrl, bob);
  });
  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await platform?.close();
  });

  it('forwards typing to the other subscribers on every instance, not to the sender, at most once per 2 s', async () => {
    const carolA = await open(wsA, carol, general);
    const bobB = await open(wsB, bob, general);
    const bobA = await open(wsA, bob, general); // the sender's other socket gets nothing either
    const carolFrom = carolA.frames.length;
    bobB.send({ type: 'typing', group_id: general });
    const first = await carolA.waitFor((f) => f.type === 'typing', 2_000, carolFrom);
    expect(first).toEqual({ type: 'typing', group_id: general, user_id: bob.userId });
    // A burst, from both of Bob's sockets on both instances: dropped silently within the 2 s.
    for (let i = 0; i < 5; i++) {
      bobB.send({ type: 'typing', group_id: general });
      bobA.send({ type: 'typing', group_id: general });
    }
    await sleep(600);
    expect(carolA.frames.slice(carolFrom).filter((f) => f.type === 'typing')).toHaveLength(1);
    expect([...bobA.frames, ...bobB.frames].filter((f) => f.type === 'typing' || f.type === 'error')).toEqual(
      [],
    );
    await sleep(2_000 - 600 + 100);
    bobB.send({ type: 'typing', group_id: general });
    await eventuallyCount(carolA, carolFrom, 2);
    // Carol's notice reaches Bob's sockets on both instances.
    carolA.send({ type: 'typing', group_id: general });
    for (const socket of [bobA, bobB])
      expect(await socket.waitFor((f) => f.type === 'typing', 2_000)).toEqual({
        type: 'typing',
        group_id: general,
        user_id: carol.userId,
      });
    for (const socket of [carolA, bobA, bobB]) socket.close();
  });

  async function eventuallyCount(socket: TestSocket, from: number, count: number) {
    const deadline = Date.now() + 2_000;
    while (socket.frames.slice(from).filter((f) => f.type === 'typing').length < count) {
      if (Date.now() > deadline) throw new Error(`fewer than ${count} typing frames`);
      await sleep(20);
    }
    expect(socket.frames.slice(from).filter((f) => f.type === 'typing')).toHaveLength(count);
  }

  it('refuses typing for a group the socket is not subscribed to, and keeps the connection', async () => {
    const other = await createGroup(authUrl, bob, 'typing-elsewhere', [carol]);
    const carolA = await open(wsA, carol);
    const bobB = await open(wsB, bob, other);
    const bobFrom = bobB.frames.length;
    carolA.send({ type: 'typing', group_id: other });
    expect(await carolA.waitFor((f) => f.type === 'error')).toMatchObject({ group_id: other, status: 400 });
    carolA.send({ type: 'typing', group_id: 'nope' });
    expect(await carolA.waitFor((f) => f.type === 'error' && f.group_id === 'nope')).toMatchObject({
      status: 400,
    });
    const malloryA = await open(wsA, mallory);
    malloryA.send({ type: 'typing', group_id: other });
    expect(await malloryA.waitFor((f) => f.type === 'error')).toMatchObject({ status: 400 });
    await sleep(300);
    expect(bobB.frames.slice(bobFrom).filter((f) => f.type === 'typing')).toEqual([]);
    for (const socket of [carolA, bobB, malloryA]) socket.close();
  });

  it('tracks presence across instances, with a grace that hides a reconnect, and answers GET …/presence', async () => {
    const group = await createGroup(authUrl, bob, 'presence', [carol]);
    expect((await presence(urlA, carol, group)).body).toEqual({ online: [] });
    const carolA = await open(wsA, carol, group);
    const bobB = await open(wsB, bob, group);
    expect(await carolA.waitFor((f) => f.type === 'presence' && f.user_id === bob.userId)).toEqual({
      type: 'presence',
      group_id: group,
      user_id: bob.userId,
      status: 'online',
    });
    for (const url of [urlA, urlB])
      expect((await presence(url, bob, group)).body.online).toEqual([bob.userId, carol.userId].sort());

    // Bob drops and reconnects on the other instance within the grace: no offline, no second online.
    const from = carolA.frames.length;
    bobB.close();
    await sleep(200);
    const bobA = await open(wsA, bob, group);
    await sleep(GRACE_MS + 2 * HEARTBEAT_MS + 300);
    expect(carolA.frames.slice(from).filter((f) => f.type === 'presence')).toEqual([]);
    expect((await presence(urlB, carol, group)).body.online).toContain(bob.userId);

    // Bob leaves for good: still online during the grace, offline after it.
    const leftAt = Date.now();
    bobA.send({ type: 'unsubscribe', group_id: group });
    await sleep(GRACE_MS / 2);
    expect((await presence(urlB, carol, group)).body.online).toContain(bob.userId);
    const offline = await carolA.waitFor((f) => f.type === 'presence' && f.status === 'offline', 5_000, from);
    expect(offline).toEqual({ type: 'presence', group_id: group, user_id: bob.userId, status: 'offline' });
    expect(Date.now() - leftAt).toBeGreaterThanOrEqual(GRACE_MS - 50);
    expect((await presence(urlB, carol, group)).body.online).toEqual([carol.userId]);
    carolA.close();
    bobA.close();
  });

  it('lets a crashed instance’s users go offline by themselves (their entries stop being refreshed)', async () => {
    const group = await createGroup(authUrl, bob, 'presence-crash', [carol]);
    const carolA = await open(wsA, carol, group);
    await open(wsB, bob, group);
    await carolA.waitFor((f) => f.type === 'presence' && f.user_id === bob.userId && f.status === 'online');
    // Instance B "crashes": it stops refreshing presence and never says goodbye.
    const stoppedAt = Date.now();
    platform.chats[1]!.chat.signals.presence.stop();
    const offline = await carolA.waitFor(
      (f) => f.type === 'presence' && f.user_id === bob.userId && f.status === 'offline',
      TTL_MS + 3_000,
    );
    expect(offline.group_id).toBe(group);
    expect(Date.now() - stoppedAt).toBeGreaterThan(TTL_MS - 2 * HEARTBEAT_MS);
    expect((await presence(urlA, carol, group)).body.online).toEqual([carol.userId]);
    platform.chats[1]!.chat.signals.presence.start();
  });

  it('GET …/presence: members only (403), another org’s group 404, bad id 400, no token 401', async () => {
    const notCarols = await createGroup(authUrl, bob, 'presence-private');
    const forbidden = await presence(urlA, carol, notCarols);
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers.get('content-type')).toContain('application/problem+json');
    expect((await presence(urlA, mallory, general)).status).toBe(404);
    expect((await presence(urlA, carol, 'not-a-uuid')).status).toBe(400);
    expect((await presence(urlA, null, general)).status).toBe(401);
  });
});
