import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ApiResponse,
  api,
  createGroup,
  DEMO,
  generalGroupId,
  login,
  type Platform,
  removeMember,
  startPlatform,
  TestSocket,
  type User,
  usingPostgres,
  usingRedis,
} from './helpers.ts';

const UNKNOWN_ID = '0190f3a0-0000-7000-8000-000000000000';

/** The contract's "Read state, unread counts, receipts", on two chat-api instances sharing a database. */
describe(`read state (${usingPostgres ? 'PostgreSQL' : 'PGlite'}, ${usingRedis ? 'Redis' : 'in-process'})`, () => {
  let platform: Platform;
  let authUrl: string;
  let urlA: string;
  let urlB: string;
  let bob: User;
  let carol: User;
  let mallory: User;
  const sockets: TestSocket[] = [];

  const post = async (user: User, groupId: string, content: string, mentions?: string[]): Promise<string> => {
    const response = await api('POST', `${urlA}/api/chat/groups/${groupId}/messages`, {
      token: user.token,
      body: mentions ? { content, mentions } : { content },
    });
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    return response.body.id;
  };
  const remove = async (user: User, groupId: string, messageId: string) => {
    const response = await api('DELETE', `${urlB}/api/chat/groups/${groupId}/messages/${messageId}`, {
      token: user.token,
    });
    expect(response.status).toBe(204);
  };
  const markRead = (url: string, user: User, groupId: string, messageId: unknown) =>
    api('PUT', `${url}/api/chat/groups/${groupId}/read`, {
      token: user.token,
      body: { message_id: messageId },
    });
  const unreadOf = async (url: string, user: User, groupId: string) => {
    const response = await api('GET', `${url}/api/chat/unread`, { token: user.token });
    expect(response.status).toBe(200);
    return response.body.groups.find((g: { group_id: string }) => g.group_id === groupId);
  };
  const db = () => platform.chats[0]!.chat.database.db;

  beforeAll(async () => {
    platform = await startPlatform({ instances: 2 });
    authUrl = platform.auth.url;
    [urlA, urlB] = platform.chats.map((c) => c.url) as [string, string];
    [bob, carol, mallory] = await Promise.all([
      login(authUrl, DEMO.users.bob),
      login(authUrl, DEMO.users.carol),
      login(authUrl, DEMO.users.mallory),
    ]);
  });
  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await platform?.close();
  });

  it('counts others’ messages after the marker, moves the marker only forward, on every instance', async () => {
    const group = await createGroup(authUrl, bob, 'read-counts', [carol]);
    const m1 = await post(bob, group, 'one');
    const m2 = await post(bob, group, 'two');
    await post(bob, group, 'three');
    await post(carol, group, 'carol’s own');
    const m5 = await post(bob, group, 'five');

    // No marker yet: all of the others' messages are unread; one's own never are.
    expect(await unreadOf(urlA, carol, group)).toEqual({
      group_id: group,
      last_read_message_id: null,
      unread_count: 4,
      mention_count: 0,
    });
    expect(await unreadOf(urlB, bob, group)).toMatchObject({ unread_count: 1 });
    // Every group the caller belongs to is listed, general included; nobody else's.
    const carols = await api('GET', `${urlB}/api/chat/unread`, { token: carol.token });
    const ids = carols.body.groups.map((g: { group_id: string }) => g.group_id);
    expect(ids).toContain(await generalGroupId(authUrl, carol));
    const mallorys = await api('GET', `${urlB}/api/chat/unread`, { token: mallory.token });
    expect(mallorys.body.groups.map((g: { group_id: string }) => g.group_id)).not.toContain(group);

    const marked = await markRead(urlA, carol, group, m2);
    expect(marked.status, JSON.stringify(marked.body)).toBe(200);
    expect(marked.body).toEqual({
      group_id: group,
      last_read_message_id: m2,
      unread_count: 2,
      mention_count: 0,
    });
    // Backwards: 200 with the marker where it was.
    const older = await markRead(urlB, carol, group, m1);
    expect(older.status).toBe(200);
    expect(older.body).toEqual(marked.body);
    expect(await unreadOf(urlB, carol, group)).toEqual(marked.body);

    expect((await markRead(urlB, carol, group, m5)).body).toMatchObject({
      last_read_message_id: m5,
      unread_count: 0,
    });
    const m6 = await post(bob, group, 'six');
    expect(await unreadOf(urlA, carol, group)).toMatchObject({ last_read_message_id: m5, unread_count: 1 });
    // Marking one's own message read works the same way.
    const own = await post(carol, group, 'seven, carol’s');
    expect((await markRead(urlA, carol, group, own)).body).toMatchObject({ unread_count: 0 });
    expect(m6).toBeTruthy();
  });

  it('sends the `read` frame to every socket of the user on every instance when the marker moves', async () => {
    const group = await createGroup(authUrl, bob, 'read-frames', [carol]);
    const first = await post(bob, group, 'a');
    const second = await post(bob, group, 'b');
    const onA = await TestSocket.connect(platform.chats[0]!.wsUrl, carol.token);
    const onB = await TestSocket.connect(platform.chats[1]!.wsUrl, carol.token);
    const bobs = await TestSocket.connect(platform.chats[1]!.wsUrl, bob.token);
    sockets.push(onA, onB, bobs);
    await new Promise((resolve) => setTimeout(resolve, 100));

    expect((await markRead(urlA, carol, group, first)).status).toBe(200);
    const expected = {
      type: 'read',
      group_id: group,
      last_read_message_id: first,
      unread_count: 1,
      mention_count: 0,
    };
    expect(await onA.waitFor((f) => f.type === 'read')).toEqual(expected);
    expect(await onB.waitFor((f) => f.type === 'read')).toEqual(expected);

    // Not moved (an older message): no frame. Moved again: one more on each.
    expect((await markRead(urlB, carol, group, first)).status).toBe(200);
    expect((await markRead(urlB, carol, group, second)).status).toBe(200);
    for (const socket of [onA, onB]) {
      await socket.waitFor((f) => f.type === 'read' && f.last_read_message_id === second);
      expect(socket.frames.filter((f) => f.type === 'read')).toHaveLength(2);
    }
    expect(bobs.frames.filter((f) => f.type === 'read')).toEqual([]);
  });

  it('leaves deleted messages out of unread, and counts mentions of the caller after the marker', async () => {
    const group = await createGroup(authUrl, bob, 'read-mentions', [carol]);
    const m1 = await post(bob, group, 'hello');
    const m2 = await post(bob, group, 'hey @carol', [carol.userId]);
    const m3 = await post(bob, group, 'and @carol again', [carol.userId]);
    await post(carol, group, '@carol talks to herself', [carol.userId]);
    expect(await unreadOf(urlA, carol, group)).toMatchObject({ unread_count: 3, mention_count: 2 });
    expect(await unreadOf(urlA, bob, group)).toMatchObject({ unread_count: 1, mention_count: 0 });
    await remove(bob, group, m3);
    expect(await unreadOf(urlB, carol, group)).toMatchObject({ unread_count: 2, mention_count: 1 });
    expect((await markRead(urlA, carol, group, m2)).body).toMatchObject({
      unread_count: 0,
      mention_count: 0,
    });
    // Deleting a message before the marker changes nothing.
    await remove(bob, group, m1);
    expect(await unreadOf(urlB, carol, group)).toMatchObject({ unread_count: 0, mention_count: 0 });
    const m5 = await post(bob, group, 'later');
    expect(await unreadOf(urlB, carol, group)).toMatchObject({ unread_count: 1 });
    // A deleted message can still be where a marker points (a tombstone keeps its place).
    expect((await markRead(urlB, carol, group, m3)).body).toMatchObject({
      last_read_message_id: m3,
      unread_count: 1,
    });
    expect((await markRead(urlB, carol, group, m5)).body).toMatchObject({ unread_count: 0 });
  });

  it('lists the current members’ receipts, newest first', async () => {
    const group = await createGroup(authUrl, bob, 'receipts', [carol]);
    const m1 = await post(bob, group, 'first');
    const m2 = await post(carol, group, 'second');
    expect(
      (await api('GET', `${urlA}/api/chat/groups/${group}/receipts`, { token: bob.token })).body,
    ).toEqual({
      receipts: [],
    });
    await markRead(urlA, carol, group, m1);
    await new Promise((resolve) => setTimeout(resolve, 5));
    await markRead(urlB, bob, group, m2);
    const receipts = await api('GET', `${urlB}/api/chat/groups/${group}/receipts`, { token: carol.token });
    expect(receipts.status).toBe(200);
    expect(receipts.body.receipts).toEqual([
      { user_id: bob.userId, last_read_message_id: m2, read_at: expect.stringMatching(/Z$/) },
      { user_id: carol.userId, last_read_message_id: m1, read_at: expect.stringMatching(/Z$/) },
    ]);
    await removeMember(authUrl, bob, group, carol);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const after = await api('GET', `${urlA}/api/chat/groups/${group}/receipts`, { token: bob.token });
    expect(after.body.receipts.map((r: { user_id: string }) => r.user_id)).toEqual([bob.userId]);
  });

  it('isolates tenants and members: another org 404, a non-member 403, bad input 400, nothing stored', async () => {
    const group = await createGroup(authUrl, bob, 'read-private');
    const message = await post(bob, group, 'private');
    const other = await createGroup(authUrl, bob, 'read-other', [carol]);
    const otherMessage = await post(bob, other, 'elsewhere');
    const expectProblem = (response: ApiResponse, status: number, code?: string) => {
      expect(response.status, JSON.stringify(response.body)).toBe(status);
      expect(response.headers.get('content-type')).toContain('application/problem+json');
      if (code) expect(response.body.code).toBe(code);
    };
    expectProblem(await markRead(urlA, mallory, group, message), 404, 'group_not_found');
    expectProblem(await markRead(urlA, carol, group, message), 403);
    expectProblem(
      await api('GET', `${urlA}/api/chat/groups/${group}/receipts`, { token: mallory.token }),
      404,
    );
    expectProblem(await api('GET', `${urlA}/api/chat/groups/${group}/receipts`, { token: carol.token }), 403);
    // A message of another group, or none at all.
    expectProblem(await markRead(urlA, bob, group, otherMessage), 404, 'message_not_found');
    expectProblem(await markRead(urlA, bob, group, UNKNOWN_ID), 404, 'message_not_found');
    for (const bad of ['nope', 5, null, `${message}x`])
      expectProblem(await markRead(urlA, bob, group, bad), 400);
    expectProblem(
      await api('PUT', `${urlA}/api/chat/groups/${group}/read`, { token: bob.token, body: {} }),
      400,
    );
    expectProblem(
      await api('PUT', `${urlA}/api/chat/groups/${group}/read`, { token: bob.token, raw: '{' }),
      400,
    );
    expectProblem(await markRead(urlA, bob, 'not-a-group', message), 400);
    expectProblem(await api('GET', `${urlA}/api/chat/groups/nope/receipts`, { token: bob.token }), 400);
    expectProblem(await api('GET', `${urlA}/api/chat/unread`), 401);
    expectProblem(
      await api('PUT', `${urlA}/api/chat/groups/${group}/read`, { body: { message_id: message } }),
      401,
    );
    // Nothing of the refused calls was stored.
    const markers = await sql<{
      n: number;
    }>`SELECT count(*)::int AS n FROM read_markers WHERE group_id = ${group}`.execute(db());
    expect(markers.rows[0]!.n).toBe(0);
  });
});
