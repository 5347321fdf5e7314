/**
 * chat-api's limits, each paired with a proof that someone else is not limited at the same moment.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  DEMO,
  generalGroupId,
  login,
  type Platform,
  startPlatform,
  TestSocket,
  type User,
} from './helpers.ts';

let platform: Platform;
let chatUrl: string;
let wsUrl: string;
let bob: User;
let carol: User;
let mallory: User;
let general: string;

beforeAll(async () => {
  platform = await startPlatform({
    chatEnv: {
      RATE_LIMIT_POSTS_PER_SECOND: '20',
      RATE_LIMIT_POSTS_PER_MINUTE: '600',
      RATE_LIMIT_FAILURES_PER_MINUTE: '8',
      RATE_LIMIT_REACTIONS_PER_MINUTE: '5',
      RATE_LIMIT_SEARCHES_PER_MINUTE: '5',
      WS_MAX_FRAMES_PER_SECOND: '5',
      WS_MAX_QUEUED_FRAMES: '8',
      WS_MAX_CONNECTIONS_PER_USER: '10',
      TRUST_PROXY: '127.0.0.1',
    },
  });
  chatUrl = platform.chats[0]!.url;
  wsUrl = platform.chats[0]!.wsUrl;
  [bob, carol, mallory] = await Promise.all([
    login(platform.auth.url, DEMO.users.bob),
    login(platform.auth.url, DEMO.users.carol),
    login(platform.auth.url, DEMO.users.mallory),
  ]);
  general = await generalGroupId(platform.auth.url, bob);
}, 240_000);
afterAll(async () => {
  await platform?.close();
});

const post = (user: User, content: string, headers: Record<string, string> = {}) =>
  api('POST', `${chatUrl}/api/chat/groups/${general}/messages`, {
    token: user.token,
    body: { content },
    headers,
  });

describe('message posts per user', () => {
  it('10 messages a second for 3 s are never limited', async () => {
    for (let second = 0; second < 3; second++) {
      const started = Date.now();
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => post(bob, `typing ${second}.${i}`)),
      );
      expect(results.map((r) => r.status)).toEqual(Array(10).fill(201));
      await new Promise((r) => setTimeout(r, Math.max(0, 1_000 - (Date.now() - started))));
    }
  });

  it('a flood gets 429 problem+json with Retry-After, while another user posts at the same moment', async () => {
    // Far over 20 per second even on a slow, loaded machine.
    const flood = await Promise.all(Array.from({ length: 150 }, (_, i) => post(bob, `flood ${i}`)));
    const statuses = flood.map((r) => r.status);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
    const refused = flood.find((r) => r.status === 429)!;
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    expect(refused.body).toMatchObject({ status: 429, code: 'rate_limited' });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await post(carol, 'not limited by Bob')).status).toBe(201);
    // Nothing refused was stored: only the accepted ones are in the timeline.
    const page = await api('GET', `${chatUrl}/api/chat/groups/${general}/messages?limit=100`, {
      token: carol.token,
    });
    const stored = page.body.messages.filter((m: { content: string }) =>
      m.content.startsWith('flood '),
    ).length;
    expect(stored).toBe(statuses.filter((s) => s === 201).length);
  });
});

describe('reactions and searches per user', () => {
  it('a sixth reaction in a minute is 429; another user reacts at the same moment', async () => {
    const target = await post(carol, 'react to me');
    expect(target.status).toBe(201);
    const react = (user: User, emoji: string) =>
      api(
        'PUT',
        `${chatUrl}/api/chat/groups/${general}/messages/${target.body.id}/reactions/${encodeURIComponent(emoji)}`,
        { token: user.token },
      );
    const statuses: number[] = [];
    for (const emoji of ['👍', '🎉', '❤️', '👀', '🚀', '🙏'])
      statuses.push((await react(carol, emoji)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    expect((await react(bob, '👍')).status).toBe(200);
  });

  it('a sixth search in a minute is 429; another user searches at the same moment', async () => {
    const search = (user: User) => api('GET', `${chatUrl}/api/chat/search?q=react`, { token: user.token });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await search(carol)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    expect((await search(bob)).status).toBe(200);
  });
});

describe('failed requests per user and address', () => {
  it('a user probing other groups is refused with 429 after the limit; another user is not', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++)
      statuses.push(
        (
          await api('GET', `${chatUrl}/api/chat/groups/${randomUUID()}/messages`, {
            token: mallory.token,
            // A different claimed address each time: chat-api trusts only 127.0.0.1's report, so this is
            // what a proxy would say, one user from many addresses: the per-user limit holds.
            headers: { 'x-forwarded-for': `198.51.100.${i}` },
          })
        ).status,
      );
    expect(statuses.slice(0, 8).every((s) => s === 404)).toBe(true);
    expect(statuses.at(-1)).toBe(429);
    // Mallory is now refused even for a valid request…
    const blocked = await api('GET', `${chatUrl}/api/chat/groups/${general}/messages`, {
      token: mallory.token,
      headers: { 'x-forwarded-for': '198.51.100.200' },
    });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    // …while Carol, at the same moment, reads normally.
    const readable = await api('GET', `${chatUrl}/api/chat/groups/${general}/messages?limit=1`, {
      token: carol.token,
      headers: { 'x-forwarded-for': '198.51.100.201' },
    });
    expect(readable.status).toBe(200);
  });

  it('an address sending bad tokens is refused after the limit; another address is not', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++)
      statuses.push(
        (
          await api('GET', `${chatUrl}/api/chat/groups/${general}/messages`, {
            token: 'not-a-token',
            headers: { 'x-forwarded-for': '203.0.113.50' },
          })
        ).status,
      );
    expect(statuses.slice(0, 8)).toEqual(Array(8).fill(401));
    expect(statuses.at(-1)).toBe(429);
    const sameAddressValidUser = await api('GET', `${chatUrl}/api/chat/groups/${general}/messages?limit=1`, {
      token: carol.token,
      headers: { 'x-forwarded-for': '203.0.113.50' },
    });
    expect(sameAddressValidUser.status).toBe(429);
    const otherAddress = await api('GET', `${chatUrl}/api/chat/groups/${general}/messages?limit=1`, {
      token: carol.token,
      headers: { 'x-forwarded-for': '203.0.113.51' },
    });
    expect(otherAddress.status).toBe(200);
  });
});

describe('WebSocket', () => {
  it('frames faster than allowed close the socket with 1008; another socket of the same user stays', async () => {
    const calm = await TestSocket.connect(wsUrl, bob.token, { 'x-forwarded-for': '192.0.2.30' });
    const noisy = await TestSocket.connect(wsUrl, bob.token, { 'x-forwarded-for': '192.0.2.31' });
    for (let i = 0; i < 30; i++) noisy.send({ type: 'unsubscribe', group_id: general });
    expect((await noisy.closed).code).toBe(1008);
    expect((await calm.subscribe(general)).type).toBe('subscribed');
    calm.close();
  });

  it('at least 10 connections per user; the 11th is closed with 1008; another user still connects', async () => {
    const sockets: TestSocket[] = [];
    for (let i = 0; i < 10; i++) sockets.push(await TestSocket.connect(wsUrl, carol.token));
    const eleventh = await TestSocket.open(wsUrl);
    eleventh.send({ type: 'auth', token: carol.token });
    expect((await eleventh.closed).code).toBe(1008);
    const other = await TestSocket.connect(wsUrl, bob.token, { 'x-forwarded-for': '192.0.2.32' });
    expect((await other.subscribe(general)).type).toBe('subscribed');
    other.close();
    for (const socket of sockets) socket.close();
  });

  it('refused subscribes are limited per user: 429 frames without asking auth-api; another user subscribes', async () => {
    const admin = await login(platform.auth.url, DEMO.users.admin);
    const socket = await TestSocket.connect(wsUrl, admin.token, { 'x-forwarded-for': '192.0.2.10' });
    const answers: number[] = [];
    for (let i = 0; i < 10; i++) {
      answers.push((await socket.subscribe(randomUUID())).status);
      await new Promise((r) => setTimeout(r, 220)); // under the frame rate (5/s here)
    }
    expect(answers.slice(0, 9)).toEqual(Array(9).fill(404));
    expect(answers.at(-1)).toBe(429);
    const carolSocket = await TestSocket.connect(wsUrl, carol.token, { 'x-forwarded-for': '192.0.2.11' });
    expect((await carolSocket.subscribe(general)).type).toBe('subscribed');
    socket.close();
    carolSocket.close();
  });
});

describe('membership cache', () => {
  it('"no such group" answers are kept apart: random ids never evict a real group', async () => {
    const service = platform.chats[0]!.chat.groups;
    const before = service.cacheSizes;
    expect(before.groups).toBeGreaterThan(0);
    const socket = await TestSocket.connect(wsUrl, bob.token, { 'x-forwarded-for': '192.0.2.20' });
    for (let i = 0; i < 5; i++) await socket.subscribe(randomUUID());
    const after = service.cacheSizes;
    expect(after.groups).toBe(before.groups);
    expect(after.missing).toBeGreaterThan(before.missing);
    socket.close();
  });
});
