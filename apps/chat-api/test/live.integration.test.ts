import { uuidv7 } from '@groupchat/service-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessageDto } from '../src/messages/schema.ts';
import {
  api,
  createGroup,
  DEMO,
  eventually,
  generalGroupId,
  login,
  type Platform,
  removeMember,
  startPlatform,
  TestSocket,
  type User,
  usingRedis,
} from './helpers.ts';

/** The WebSocket protocol, against the real auth-api, on two chat-api instances sharing one database. */
describe(`chat-api live delivery (${usingRedis ? 'Redis' : 'shared in-process'} bus)`, () => {
  let platform: Platform;
  let authUrl: string;
  let urlA: string;
  let urlB: string;
  let wsA: string;
  let wsB: string;
  let bob: User;
  let carol: User;
  let mallory: User;
  let general: string;
  const sockets: TestSocket[] = [];
  const open = async (wsUrl: string, user: User) => {
    const socket = await TestSocket.connect(wsUrl, user.token);
    sockets.push(socket);
    return socket;
  };
  const post = (url: string, user: User, groupId: string, content: string) =>
    api('POST', `${url}/api/chat/groups/${groupId}/messages`, { token: user.token, body: { content } });

  beforeAll(async () => {
    platform = await startPlatform({
      instances: 2,
      chatEnv: {
        WS_AUTH_TIMEOUT_MS: '400',
        WS_PING_INTERVAL_MS: '300',
        WS_MAX_BUFFERED_BYTES: '262144',
        WS_SLOW_CONSUMER_GRACE_MS: '300',
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

  it('authenticates with the first frame and delivers a new message within 1 s', async () => {
    const socket = await TestSocket.open(wsA);
    sockets.push(socket);
    socket.send({ type: 'auth', token: carol.token });
    expect(await socket.waitFor((f) => f.type === 'ready')).toEqual({ type: 'ready', user_id: carol.userId });
    expect(await socket.subscribe(general)).toEqual({
      type: 'subscribed',
      group_id: general,
      cursor: expect.stringMatching(/^[0-9]+$/),
    });
    const started = performance.now();
    const sent = await post(urlA, bob, general, 'live hello');
    expect(sent.status).toBe(201);
    const [message] = await socket.waitForMessages(general, 1, 1_000);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(message).toEqual(sent.body);
  });

  it('delivers across instances in order, without gaps or duplicates', async () => {
    const group = await createGroup(authUrl, bob, `fanout-${uuidv7()}`, [carol]);
    const onA = await open(wsA, carol);
    const onB = await open(wsB, carol);
    await onA.subscribe(group);
    await onB.subscribe(group);
    // Posts alternate between the instances and overlap in time.
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => post(i % 2 ? urlA : urlB, i % 3 ? bob : carol, group, `m${i}`)),
    );
    expect(results.every((r) => r.status === 201)).toBe(true);
    const expected = results.map((r) => r.body as MessageDto).sort((x, y) => x.seq - y.seq);
    for (const socket of [onA, onB]) {
      const received = await socket.waitForMessages(group, 40, 3_000);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(socket.messages(group).map((m) => m.id)).toEqual(expected.map((m) => m.id));
      expect(received.map((m) => m.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    }
  });

  it('resumes after a disconnect with every missed message once, then live', async () => {
    const group = await createGroup(authUrl, bob, `resume-${uuidv7()}`, [carol]);
    const first = await open(wsB, carol);
    await first.subscribe(group);
    for (let i = 0; i < 5; i++) await post(urlA, bob, group, `before ${i}`);
    const seen = await first.waitForMessages(group, 5);
    first.close();
    await first.closed;
    const missed: string[] = [];
    for (let i = 0; i < 12; i++) missed.push((await post(urlA, bob, group, `missed ${i}`)).body.id);
    // Reconnect (to the other instance) and resume; a message posted during the catch-up is not lost.
    const second = await open(wsA, carol);
    const subscribing = second.subscribe(group, seen.at(-1).id);
    const during = post(urlB, bob, group, 'during resume');
    await subscribing;
    const live = (await during).body.id;
    const after = (await post(urlB, bob, group, 'after resume')).body.id;
    const received = await second.waitForMessages(group, 14);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(second.messages(group).map((m) => m.id)).toEqual([...missed, live, after]);
    expect(received.map((m) => m.content)).toEqual([
      ...missed.map((_, i) => `missed ${i}`),
      'during resume',
      'after resume',
    ]);
  });

  it('answers reset when the gap is too large to replay', async () => {
    const group = await createGroup(authUrl, bob, `reset-${uuidv7()}`, [carol]);
    const oldest = (await post(urlA, bob, group, 'oldest')).body.id;
    const socket = await open(wsA, carol);
    // WS_RESUME_MAX_GAP is 500 by default; an unknown id is also beyond replay.
    await socket.subscribe(group, uuidv7());
    expect(await socket.waitFor((f) => f.type === 'reset')).toEqual({
      type: 'reset',
      group_id: group,
      cursor: expect.stringMatching(/^[0-9]+$/),
    });
    await socket.subscribe(group, oldest);
    expect(socket.frames.filter((f) => f.type === 'reset')).toHaveLength(1);
  });

  it('refuses subscriptions of non-members (403) and other orgs (404), keeping the connection', async () => {
    const privateGroup = await createGroup(authUrl, bob, `ws-private-${uuidv7()}`);
    const socket = await open(wsA, carol);
    expect(await socket.subscribe(privateGroup)).toMatchObject({
      type: 'error',
      group_id: privateGroup,
      status: 403,
    });
    const intruder = await open(wsB, mallory);
    expect(await intruder.subscribe(general)).toMatchObject({
      type: 'error',
      group_id: general,
      status: 404,
      detail: expect.any(String),
    });
    expect(await intruder.subscribe(uuidv7())).toMatchObject({ type: 'error', status: 404 });
    expect(await socket.subscribe(general)).toEqual({
      type: 'subscribed',
      group_id: general,
      cursor: expect.stringMatching(/^[0-9]+$/),
    });
  });

  it('answers invalid frames with error 400 and keeps the connection', async () => {
    const socket = await open(wsA, carol);
    const bad = [
      'not json',
      '[]',
      '42',
      '{}',
      '{"type":"dance"}',
      '{"type":"subscribe"}',
      '{"type":"subscribe","group_id":"nope"}',
      '{"type":"subscribe","group_id":"' + general + '","after":"x"}',
      '{"type":"unsubscribe"}',
    ];
    for (const frame of bad) {
      const from = socket.frames.length;
      socket.send(frame);
      expect(await socket.waitFor((f) => f.type === 'error', 2_000, from), frame).toMatchObject({
        type: 'error',
        status: 400,
        detail: expect.any(String),
      });
    }
    expect(await socket.subscribe(general)).toEqual({
      type: 'subscribed',
      group_id: general,
      cursor: expect.stringMatching(/^[0-9]+$/),
    });
    socket.send({ type: 'unsubscribe', group_id: general });
    await socket.waitFor((f) => f.type === 'unsubscribed');
    await post(urlA, bob, general, 'not for the unsubscribed');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(socket.messages(general).map((m) => m.content)).not.toContain('not for the unsubscribed');
  });

  it('closes with 4401 on a bad token, a non-auth first frame, or no auth in time', async () => {
    const badToken = await TestSocket.open(wsA);
    badToken.send({ type: 'auth', token: 'garbage' });
    expect((await badToken.closed).code).toBe(4401);
    const serviceToken = await TestSocket.open(wsA);
    const service = await api('POST', `${authUrl}/oauth/token`, {
      raw: 'grant_type=client_credentials&resource=chat-api',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${DEMO.serviceClientId}:${DEMO.serviceClientSecret}`).toString('base64')}`,
      },
    });
    serviceToken.send({ type: 'auth', token: service.body.access_token });
    expect((await serviceToken.closed).code).toBe(4401);
    const eager = await TestSocket.open(wsA);
    eager.send({ type: 'subscribe', group_id: general });
    expect((await eager.closed).code).toBe(4401);
    const silent = await TestSocket.open(wsA);
    expect((await silent.closed).code).toBe(4401); // WS_AUTH_TIMEOUT_MS=400 here; 10 s by default
  });

  it('a removed member gets error 403 within 1 s and no further messages', async () => {
    const group = await createGroup(authUrl, bob, `ws-removal-${uuidv7()}`, [carol]);
    const carolSocket = await open(wsB, carol);
    const bobSocket = await open(wsA, bob);
    await carolSocket.subscribe(group);
    await bobSocket.subscribe(group);
    await post(urlA, bob, group, 'before removal');
    await carolSocket.waitForMessages(group, 1);
    const started = performance.now();
    await removeMember(authUrl, bob, group, carol);
    expect(await carolSocket.waitFor((f) => f.type === 'error' && f.group_id === group, 1_000)).toMatchObject(
      { status: 403 },
    );
    expect(performance.now() - started).toBeLessThan(1_000);
    await post(urlA, bob, group, 'after removal');
    await bobSocket.waitForMessages(group, 2);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(carolSocket.messages(group).map((m) => m.content)).toEqual(['before removal']);
    // She may not subscribe again either.
    expect(await carolSocket.subscribe(group)).toMatchObject({ type: 'error', status: 403 });
  });

  it('disconnects the sockets of an ended session within 5 s', async () => {
    const session = await login(authUrl, DEMO.users.bob);
    const socket = await open(wsB, session);
    const other = await open(wsB, bob);
    await socket.subscribe(general);
    const started = performance.now();
    expect((await api('POST', `${authUrl}/api/auth/logout`, { token: session.token })).status).toBe(204);
    expect((await socket.closed).code).toBe(4401);
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(other.socket.readyState).toBe(other.socket.OPEN);
  });

  it('pings: a client that answers stays, one that does not is cut off', async () => {
    const alive = await open(wsA, carol);
    const mute = await TestSocket.open(wsA, { autoPong: false });
    mute.send({ type: 'auth', token: carol.token });
    await mute.waitFor((f) => f.type === 'ready');
    await eventually(() => mute.socket.readyState === mute.socket.CLOSED, 3_000, 'dead client cut off');
    expect(alive.socket.readyState).toBe(alive.socket.OPEN);
  });

  it('closes a slow consumer whose outgoing queue exceeds its bound with 1008, without stalling the others', async () => {
    const group = await createGroup(authUrl, bob, `slow-${uuidv7()}`, [carol]);
    const slow = await open(wsA, carol);
    const fast = await open(wsA, bob);
    await slow.subscribe(group);
    await fast.subscribe(group);
    const hub = platform.chats[0]!.chat.hub;
    const connected = hub.connectionCount;
    // Stop reading: once the kernel buffers are full, the server's send buffer for this socket grows.
    (slow.socket as unknown as { _socket: { pause(): void } })._socket.pause();
    const base = (await post(urlA, bob, group, 'start')).body as MessageDto;
    await fast.waitForMessages(group, 1);
    // Large messages announced straight into the hub (as if stored), paced so that a reader keeps up:
    // megabytes without a database round trip each.
    const big = 'x'.repeat(256 * 1024);
    let sent = 0;
    while (hub.connectionCount === connected && sent < 400) {
      sent += 1;
      const seq = base.seq + sent;
      hub.announce([
        { type: 'message', cursor: String(seq), message: { ...base, id: uuidv7(), seq, content: big } },
      ]);
      await new Promise((resolve) => setTimeout(resolve, 3));
    }
    expect(hub.connectionCount).toBe(connected - 1);
    // Reading again, the slow client takes what was queued, then the close frame: 1008, the contract's
    // code for a socket that queued more than the server will hold (before the server cuts it off).
    (slow.socket as unknown as { _socket: { resume(): void } })._socket.resume();
    const closed = await slow.closed;
    expect(closed.code).toBe(1008);
    expect(closed.reason).toContain('outgoing queue');
    const received = await fast.waitForMessages(group, sent + 1, 10_000);
    expect(received.map((m) => m.seq)).toEqual(Array.from({ length: sent + 1 }, (_, i) => base.seq + i));
    expect(fast.socket.readyState).toBe(fast.socket.OPEN);
  });
});
