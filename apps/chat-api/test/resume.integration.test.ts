/**
 * Resume by cursor across chat-api instances (Redis fan-out when TEST_REDIS_URL is set): a subscriber
 * that drops and comes back with its last cursor, while messages are posted, replied to, edited,
 * reacted to and deleted on the other instance, ends with exactly the server's state, having
 * received every event once, in order.
 */
import { uuidv7 } from '@groupchat/service-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  createGroup,
  DEMO,
  eventually,
  login,
  type Platform,
  startPlatform,
  TestSocket,
  type User,
} from './helpers.ts';

describe('resume by cursor across instances', () => {
  let platform: Platform;
  let bob: User;
  let carol: User;

  beforeAll(async () => {
    platform = await startPlatform({ instances: 2 });
    [bob, carol] = await Promise.all([
      login(platform.auth.url, DEMO.users.bob),
      login(platform.auth.url, DEMO.users.carol),
    ]);
  });
  afterAll(async () => {
    await platform?.close();
  });

  it('drops and resumes with its last cursor: every event once, in order, and the final state equals the server’s', async () => {
    const [a, b] = platform.chats as [(typeof platform.chats)[0], (typeof platform.chats)[0]];
    const group = await createGroup(platform.auth.url, bob, `resume-${uuidv7()}`, [carol]);
    const on = (path: string) => `${b.url}/api/chat/groups/${group}${path}`;
    const call = async (user: User, method: string, path: string, body?: unknown) => {
      const result = await api(method, on(path), { token: user.token, ...(body ? { body } : {}) });
      expect(result.status, `${method} ${path}: ${JSON.stringify(result.body)}`).toBeLessThan(300);
      return result.body;
    };

    // A first message before the subscriber: it must not be replayed (it is before the cursor).
    await call(bob, 'POST', '/messages', { content: 'before anyone listens' });

    const received: { type: string; cursor: string; message: any }[] = [];
    let socket = await TestSocket.connect(a.wsUrl, carol.token);
    const first = await socket.subscribe(group);
    expect(first).toMatchObject({ type: 'subscribed', cursor: expect.stringMatching(/^[0-9]+$/) });
    const startCursor = first.cursor as string;
    let taken = 0;
    const collect = () => {
      const frames = socket.frames.filter((f) => f.type === 'message' || f.type === 'message_updated');
      received.push(...frames.slice(taken));
      taken = frames.length;
    };

    // The writer: everything on instance B, by both users.
    let writing = true;
    const writer = (async () => {
      const ids: string[] = [];
      for (let i = 0; i < 40; i++) {
        const root = await call(i % 2 ? bob : carol, 'POST', '/messages', {
          content: `message ${i}`,
          client_message_id: `cm-${i}`,
          mentions: [bob.userId],
        });
        ids.push(root.id);
        if (i % 3 === 0)
          await call(bob, 'POST', '/messages', { content: `reply to ${i}`, thread_root_id: root.id });
        if (i % 4 === 1)
          await call(bob, 'PATCH', `/messages/${root.id}`, { content: `message ${i}, edited` });
        if (i % 2 === 0)
          await call(carol, 'PUT', `/messages/${ids[i]}/reactions/${encodeURIComponent('👍')}`);
        if (i % 5 === 4)
          await call(bob, 'DELETE', `/messages/${ids[i - 2]}/reactions/${encodeURIComponent('👍')}`);
        if (i % 6 === 5) await call(bob, 'DELETE', `/messages/${ids[i - 1]}`); // owner deletes Carol's
        if (i % 7 === 6)
          await call(bob, 'POST', '/messages', { content: `message ${i}`, client_message_id: `cm-${i}` }); // a resend: no event
      }
      writing = false;
    })();

    // Drop three times, resuming with the last cursor seen, on A, then B, then A.
    for (const target of [a, b, a]) {
      await eventually(() => socket.frames.length > taken + 5 || !writing, 10_000, 'some events');
      collect();
      socket.close();
      await socket.closed;
      const last = received.at(-1)?.cursor ?? startCursor;
      await new Promise((resolve) => setTimeout(resolve, 150)); // events keep coming meanwhile
      socket = await TestSocket.connect(target.wsUrl, carol.token);
      taken = 0;
      socket.send({ type: 'subscribe', group_id: group, cursor: last });
      expect(await socket.waitFor((f) => f.type === 'subscribed')).toEqual({
        type: 'subscribed',
        group_id: group,
      });
    }
    await writer;

    const server = await api(
      'GET',
      `${a.url}/api/chat/groups/${group}/events?limit=500&cursor=${startCursor}`,
      {
        token: carol.token,
      },
    );
    expect(server.status).toBe(200);
    expect(server.body.next_cursor).toBeNull();
    const serverCursors: string[] = server.body.events.map((e: any) => e.cursor);
    await eventually(
      () => {
        collect();
        return received.at(-1)?.cursor === serverCursors.at(-1);
      },
      10_000,
      'the last event',
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    collect();
    socket.close();

    // Every event once, in order: exactly the server's log after the starting cursor.
    expect(received.map((e) => e.cursor)).toEqual(serverCursors);
    expect(received.map((e) => e.type)).toEqual(server.body.events.map((e: any) => e.type));
    expect(received.some((e) => e.type === 'message_updated')).toBe(true);

    // The state built from the events is the server's state.
    const state = new Map<string, any>();
    for (const event of received) state.set(event.message.id, event.message);
    for (const [id, message] of state) {
      const now = await api('GET', `${a.url}/api/chat/groups/${group}/messages/${id}`, {
        token: carol.token,
      });
      expect(now.body).toEqual(message);
    }
    const ids = new Set(server.body.events.map((e: any) => e.message.id));
    expect(new Set(state.keys())).toEqual(ids);
    expect([...state.values()].filter((m) => m.deleted_at !== null).length).toBeGreaterThan(0);
    expect([...state.values()].filter((m) => m.edited_at !== null).length).toBeGreaterThan(0);
    expect([...state.values()].filter((m) => m.reply_count > 0).length).toBeGreaterThan(0);
  });

  it('a cursor too old to replay gets reset; a bad cursor an error 400, and the connection stays', async () => {
    const group = await createGroup(platform.auth.url, bob, `reset-${uuidv7()}`, [carol]);
    const [a] = platform.chats;
    const socket = await TestSocket.connect(a!.wsUrl, carol.token);
    socket.send({ type: 'subscribe', group_id: group, cursor: 'x1' });
    expect(await socket.waitFor((f) => f.type === 'error')).toMatchObject({ status: 400, group_id: group });
    socket.send({ type: 'subscribe', group_id: group, cursor: '5', after: uuidv7() });
    expect(await socket.waitFor((f) => f.type === 'error', 5_000, 1)).toMatchObject({ status: 400 });
    // Beyond the group's head: reset, with the cursor to continue from.
    socket.send({ type: 'subscribe', group_id: group, cursor: '77' });
    expect(await socket.waitFor((f) => f.type === 'reset')).toEqual({
      type: 'reset',
      group_id: group,
      cursor: '0',
    });
    socket.close();
  });
});
