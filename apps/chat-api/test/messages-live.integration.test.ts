/**
 * Contract Part 2 "messages that live", row by row, against the real auth-api over HTTP: threads,
 * the roots-only timeline with tombstones, one message, replies, edits, deletions, reactions,
 * mentions and the change log, with every permission (sender, other member, group owner, group
 * admin, same-org non-member, other org) and the bad inputs.
 */
import { uuidv7 } from '@groupchat/service-kit';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  createGroup,
  DEMO,
  generalGroupId,
  login,
  type Platform,
  startPlatform,
  type User,
} from './helpers.ts';

describe('chat-api Part 2: threads, edits, deletions, reactions, mentions, change log', () => {
  let platform: Platform;
  let chatUrl: string;
  let authUrl: string;
  /** Bob: owner of the group. Dave: its admin. Carol: the sender. Erin: another member. */
  let bob: User;
  let carol: User;
  let dave: User;
  let erin: User;
  /** Same org, not in the group. */
  let frank: User;
  let mallory: User;
  let group: string;
  let other: string;

  const msgs = (g: string) => `${chatUrl}/api/chat/groups/${g}/messages`;
  const post = (user: User, body: unknown, g = group) => api('POST', msgs(g), { token: user.token, body });
  const get = (user: User, path: string, g = group) => api('GET', `${msgs(g)}${path}`, { token: user.token });
  const patch = (user: User, id: string, body: unknown, g = group) =>
    api('PATCH', `${msgs(g)}/${id}`, { token: user.token, body });
  const del = (user: User, id: string, g = group) => api('DELETE', `${msgs(g)}/${id}`, { token: user.token });
  const react = (user: User, method: 'PUT' | 'DELETE', id: string, emoji: string, g = group) =>
    api(method, `${msgs(g)}/${id}/reactions/${encodeURIComponent(emoji)}`, { token: user.token });
  const events = (user: User, query = '', g = group) =>
    api('GET', `${chatUrl}/api/chat/groups/${g}/events${query}`, { token: user.token });
  const send = async (user: User, content: string, extra: Record<string, unknown> = {}) => {
    const result = await post(user, { content, ...extra });
    expect(result.status, JSON.stringify(result.body)).toBe(201);
    return result.body;
  };
  const expectProblem = (
    result: { status: number; headers: Headers; body: any },
    status: number,
    code?: string,
  ) => {
    expect(result.status, JSON.stringify(result.body)).toBe(status);
    expect(result.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(result.body).toMatchObject({ status, title: expect.any(String), detail: expect.any(String) });
    if (code) expect(result.body.code).toBe(code);
  };

  async function orgUser(name: string): Promise<User> {
    const email = `${name}-${uuidv7().slice(-8)}@acme.example`;
    const created = await api('POST', `${authUrl}/api/auth/orgs/${bob.orgId}/users`, {
      token: bob.token,
      body: { email, password: DEMO.password, display_name: name },
    });
    if (created.status !== 201)
      throw new Error(`create ${name}: ${created.status} ${JSON.stringify(created.body)}`);
    return login(authUrl, email);
  }

  async function addMember(user: User, role?: string): Promise<void> {
    const added = await api('POST', `${authUrl}/api/auth/groups/${group}/members`, {
      token: bob.token,
      body: role ? { user_id: user.userId, role } : { user_id: user.userId },
    });
    if (added.status !== 201) throw new Error(`add member: ${added.status} ${JSON.stringify(added.body)}`);
  }

  beforeAll(async () => {
    platform = await startPlatform();
    chatUrl = platform.chats[0]!.url;
    authUrl = platform.auth.url;
    [bob, carol, mallory] = await Promise.all([
      login(authUrl, DEMO.users.bob),
      login(authUrl, DEMO.users.carol),
      login(authUrl, DEMO.users.mallory),
    ]);
    [dave, erin, frank] = [await orgUser('dave'), await orgUser('erin'), await orgUser('frank')];
    group = await createGroup(authUrl, bob, `part2-${uuidv7()}`);
    await addMember(carol);
    await addMember(dave, 'admin');
    await addMember(erin);
    other = await generalGroupId(authUrl, bob);
  });
  afterAll(async () => {
    await platform?.close();
  });

  it('posts replies with thread_root_id; the root counts them; the timeline lists roots only', async () => {
    const root = await send(carol, 'a root');
    expect(root).toMatchObject({
      thread_root_id: null,
      reply_count: 0,
      last_reply_at: null,
      seq: expect.any(Number),
    });
    const reply = await send(erin, 'a reply', { thread_root_id: root.id });
    expect(reply).toMatchObject({ thread_root_id: root.id, reply_count: 0, last_reply_at: null });
    const second = await send(bob, 'another reply', { thread_root_id: root.id.toUpperCase() });
    expect(second.thread_root_id).toBe(root.id);
    const now = (await get(carol, `/${root.id}`)).body;
    expect(now).toMatchObject({ reply_count: 2, last_reply_at: second.created_at });
    // Timeline: roots only.
    const timeline = (await get(carol, '?limit=100')).body.messages.map((m: any) => m.id);
    expect(timeline).toContain(root.id);
    expect(timeline).not.toContain(reply.id);
    expect(timeline).not.toContain(second.id);
    // Replies: oldest first, paged by `after`.
    const page1 = await get(dave, `/${root.id}/replies?limit=1`);
    expect(page1.status).toBe(200);
    expect(page1.body).toEqual({ messages: [reply], next_cursor: reply.id });
    const page2 = await get(dave, `/${root.id}/replies?limit=1&after=${reply.id}`);
    expect(page2.body.messages.map((m: any) => m.id)).toEqual([second.id]);
    expect(page2.body.next_cursor).toBeNull();
    expect((await get(dave, `/${root.id}/replies`)).body.messages.map((m: any) => m.content)).toEqual([
      'a reply',
      'another reply',
    ]);
  });

  it('refuses a reply to a reply, to a deleted root, to another group’s message or to nothing: 400', async () => {
    const root = await send(carol, 'root for refusals');
    const reply = await send(carol, 'reply', { thread_root_id: root.id });
    const elsewhere = (await post(bob, { content: 'in general' }, other)).body;
    const gone = await send(carol, 'to be deleted');
    expect((await del(carol, gone.id)).status).toBe(204);
    const before = (await events(bob, '?limit=500')).body.events.length;
    for (const thread_root_id of [reply.id, gone.id, elsewhere.id, uuidv7()]) {
      expectProblem(await post(carol, { content: 'nope', thread_root_id }), 400, 'invalid_thread_root');
    }
    expectProblem(await post(carol, { content: 'nope', thread_root_id: 'not-a-uuid' }), 400);
    // Nothing stored, no event, the root's count unchanged.
    expect((await events(bob, '?limit=500')).body.events.length).toBe(before);
    expect((await get(carol, `/${root.id}`)).body.reply_count).toBe(1);
  });

  it('reads one message (404 when not in that group); replies of an unknown root: 404', async () => {
    const message = await send(carol, 'one message');
    expect((await get(erin, `/${message.id}`)).body).toEqual(message);
    expectProblem(await get(bob, `/${message.id}`, other), 404, 'message_not_found');
    expectProblem(await get(erin, `/${uuidv7()}`), 404, 'message_not_found');
    expectProblem(await get(erin, `/${uuidv7()}/replies`), 404);
    expectProblem(await get(erin, '/not-a-uuid'), 400);
    expectProblem(await get(erin, `/${message.id}/replies?limit=0`), 400);
    expectProblem(await get(erin, `/${message.id}/replies?after=${uuidv7()}`), 400, 'invalid_cursor');
  });

  it('other org: 404 and same-org non-member: 403 on every endpoint', async () => {
    const message = await send(carol, 'guarded');
    const calls: [string, string, unknown?][] = [
      ['GET', `${msgs(group)}/${message.id}`],
      ['GET', `${msgs(group)}/${message.id}/replies`],
      ['GET', `${msgs(group)}/${message.id}/versions`],
      ['PATCH', `${msgs(group)}/${message.id}`, { content: 'x' }],
      ['DELETE', `${msgs(group)}/${message.id}`],
      ['PUT', `${msgs(group)}/${message.id}/reactions/%F0%9F%91%8D`],
      ['DELETE', `${msgs(group)}/${message.id}/reactions/%F0%9F%91%8D`],
      ['GET', `${chatUrl}/api/chat/groups/${group}/events`],
      ['POST', msgs(group), { content: 'x', thread_root_id: message.id }],
    ];
    for (const [method, url, body] of calls) {
      const options = body === undefined ? {} : { body };
      expectProblem(await api(method, url, { token: mallory.token, ...options }), 404, 'group_not_found');
      expectProblem(await api(method, url, { token: frank.token, ...options }), 403, 'not_group_member');
      expect((await api(method, url, options)).status).toBe(401);
    }
    expect((await get(carol, `/${message.id}`)).body).toEqual(message);
  });

  it('PATCH: the sender only (others 403, owner and admin too); earlier versions kept; deleted: 409', async () => {
    const message = await send(carol, 'frist draft');
    for (const user of [erin, bob, dave])
      expectProblem(await patch(user, message.id, { content: 'hijacked' }), 403, 'not_message_sender');
    for (const content of ['', '   ', 'x'.repeat(4001), 'nul\u0000'])
      expectProblem(await patch(carol, message.id, { content }), 400);
    expectProblem(await patch(carol, message.id, { content: 7 }), 400);
    expectProblem(await patch(carol, message.id, {}), 400);
    expectProblem(await patch(carol, uuidv7(), { content: 'where' }), 404, 'message_not_found');
    expect((await get(erin, `/${message.id}`)).body).toEqual(message);

    const edited = await patch(carol, message.id, { content: ' first draft ' });
    expect(edited.status).toBe(200);
    expect(edited.body).toMatchObject({
      id: message.id,
      content: 'first draft',
      seq: message.seq,
      created_at: message.created_at,
    });
    expect(edited.body.edited_at).toEqual(expect.any(String));
    expect(Date.parse(edited.body.edited_at)).toBeGreaterThanOrEqual(Date.parse(message.created_at));
    const again = await patch(carol, message.id, { content: 'final draft' });
    expect(again.body.content).toBe('final draft');
    expect((await get(erin, `/${message.id}`)).body).toEqual(again.body);
    // Earlier versions: for the sender and moderators only.
    const versions = await get(carol, `/${message.id}/versions`);
    expect(versions.body.versions.map((v: any) => v.content)).toEqual(['frist draft', 'first draft']);
    expect((await get(dave, `/${message.id}/versions`)).status).toBe(200);
    expect((await get(bob, `/${message.id}/versions`)).status).toBe(200);
    expectProblem(await get(erin, `/${message.id}/versions`), 403);

    expect((await del(carol, message.id)).status).toBe(204);
    expectProblem(await patch(carol, message.id, { content: 'back' }), 409, 'message_deleted');
  });

  it('DELETE: sender, group admin or owner (204, again 204); another member 403; content and versions erased from storage', async () => {
    const byCarol = await send(carol, 'secret one');
    await patch(carol, byCarol.id, { content: 'secret two' });
    await react(erin, 'PUT', byCarol.id, '👀');
    const root = await send(carol, 'root of a deleted reply');
    const reply = await send(erin, 'reply to delete', { thread_root_id: root.id });
    const byErin = await send(erin, 'erin writes');
    const another = await send(erin, 'erin again');

    expectProblem(await del(erin, byCarol.id), 403, 'not_allowed_to_delete');
    expectProblem(await del(frank, byCarol.id), 403);
    expectProblem(await del(mallory, byCarol.id), 404);
    expectProblem(await del(carol, uuidv7()), 404, 'message_not_found');
    expectProblem(await del(carol, 'nope'), 400);

    expect((await del(carol, byCarol.id)).status).toBe(204);
    expect((await del(carol, byCarol.id)).status).toBe(204);
    expect((await del(dave, byErin.id)).status).toBe(204);
    expect((await del(bob, another.id)).status).toBe(204);
    expect((await del(erin, reply.id)).status).toBe(204);

    const tombstone = (await get(erin, `/${byCarol.id}`)).body;
    expect(tombstone).toEqual({
      ...byCarol,
      content: '',
      reactions: [],
      mentions: [],
      edited_at: null,
      deleted_at: expect.any(String),
    });
    // Tombstones stay in the timeline; the deleted reply no longer counts.
    const timeline = (await get(erin, '?limit=100')).body.messages;
    expect(timeline.find((m: any) => m.id === byCarol.id)).toEqual(tombstone);
    expect((await get(erin, `/${root.id}`)).body.reply_count).toBe(0);
    expect((await get(erin, `/${root.id}/replies`)).body.messages).toEqual([
      expect.objectContaining({ id: reply.id, content: '', deleted_at: expect.any(String) }),
    ]);
    expect((await get(carol, `/${byCarol.id}/versions`)).body).toEqual({ versions: [] });

    // Storage itself: no row anywhere holds the text any more.
    const db = platform.chats[0]!.chat.database.db;
    const found = await sql<{ n: string | number }>`
      SELECT (SELECT count(*) FROM messages WHERE content LIKE '%secret%')
        + (SELECT count(*) FROM message_versions WHERE content LIKE '%secret%') AS n`.execute(db);
    expect(Number(found.rows[0]!.n)).toBe(0);
    const stored = await db
      .selectFrom('messages')
      .selectAll()
      .where('id', '=', byCarol.id)
      .executeTakeFirstOrThrow();
    expect(stored).toMatchObject({ content: '', mentions: [], reactions: [] });
  });

  it('reactions: PUT/DELETE idempotent, counted once per user, in first-added order, 20 distinct at most (409)', async () => {
    const message = await send(carol, 'react to me');
    const put = async (user: User, emoji: string) => {
      const result = await react(user, 'PUT', message.id, emoji);
      expect(result.status, JSON.stringify(result.body)).toBe(200);
      return result.body;
    };
    await put(erin, '👍');
    await put(erin, '👍');
    await put(bob, '🎉');
    const family = '👩‍👩‍👧‍👦'; // one emoji, seven code points
    await put(dave, family);
    let now = await put(bob, '👍');
    expect(now.reactions).toEqual([
      { emoji: '👍', count: 2, user_ids: [erin.userId, bob.userId] },
      { emoji: '🎉', count: 1, user_ids: [bob.userId] },
      { emoji: family, count: 1, user_ids: [dave.userId] },
    ]);
    const removed = await react(erin, 'DELETE', message.id, '👍');
    expect(removed.status).toBe(200);
    expect(removed.body.reactions[0]).toEqual({ emoji: '👍', count: 1, user_ids: [bob.userId] });
    expect((await react(erin, 'DELETE', message.id, '👍')).body).toEqual(removed.body);
    expect((await react(erin, 'DELETE', message.id, 'never-added')).status).toBe(200);
    now = (await react(bob, 'DELETE', message.id, '🎉')).body;
    expect(now.reactions.map((r: any) => r.emoji)).toEqual(['👍', family]);

    // Bad emoji: empty, too long, spaces, control characters.
    for (const emoji of ['x'.repeat(65), 'a b', '\u0007', ' ']) {
      expectProblem(await react(erin, 'PUT', message.id, emoji), 400, 'invalid_emoji');
    }
    expect((await react(erin, 'PUT', message.id, 'y'.repeat(64))).status).toBe(200);
    expect(
      (await api('PUT', `${msgs(group)}/${message.id}/reactions/`, { token: erin.token })).status,
    ).toBeGreaterThanOrEqual(400);
    expectProblem(await react(erin, 'PUT', uuidv7(), '👍'), 404, 'message_not_found');

    // Up to 20 distinct emoji; the 21st is a conflict, and an existing one still takes more users.
    for (let i = (await get(erin, `/${message.id}`)).body.reactions.length; i < 20; i++)
      await put(erin, `e${i}`);
    expectProblem(await react(erin, 'PUT', message.id, 'one-too-many'), 409, 'too_many_reactions');
    expect((await put(carol, 'e10')).reactions).toHaveLength(20);
    expect(
      (await get(erin, `/${message.id}`)).body.reactions.some((r: any) => r.emoji === 'one-too-many'),
    ).toBe(false);

    await del(carol, message.id);
    expectProblem(await react(erin, 'PUT', message.id, '👍'), 409, 'message_deleted');
  });

  it('mentions: members only, deduplicated, 50 at most', async () => {
    const message = await send(carol, '@erin @frank @mallory look', {
      mentions: [erin.userId, frank.userId, mallory.userId, erin.userId.toUpperCase(), uuidv7(), dave.userId],
    });
    expect(message.mentions).toEqual([erin.userId, dave.userId]);
    expectProblem(
      await post(carol, { content: 'too many', mentions: Array.from({ length: 51 }, () => uuidv7()) }),
      400,
    );
    expectProblem(await post(carol, { content: 'bad', mentions: ['erin'] }), 400);
    expectProblem(await post(carol, { content: 'bad', mentions: 'erin' }), 400);
    expect(
      (await post(carol, { content: 'fifty', mentions: Array.from({ length: 50 }, () => uuidv7()) })).body
        .mentions,
    ).toEqual([]);
    // An edit can replace them; without `mentions` it keeps them.
    const edited = await patch(carol, message.id, {
      content: 'only @bob now',
      mentions: [bob.userId, frank.userId],
    });
    expect(edited.body.mentions).toEqual([bob.userId]);
    expect((await patch(carol, message.id, { content: 'still @bob' })).body.mentions).toEqual([bob.userId]);
  });

  it('GET events: the change log after a cursor, oldest first, cursor paging, 1..500', async () => {
    const fresh = await createGroup(authUrl, bob, `events-${uuidv7()}`, [carol]);
    const m1 = (await post(carol, { content: 'one' }, fresh)).body;
    const r1 = (await post(bob, { content: 'reply', thread_root_id: m1.id }, fresh)).body;
    await patch(carol, m1.id, { content: 'one, edited' }, fresh);
    await react(bob, 'PUT', m1.id, '🔥', fresh);
    await react(bob, 'PUT', m1.id, '🔥', fresh); // no change: no event
    const m2 = (await post(bob, { content: 'two' }, fresh)).body;
    await del(bob, m2.id, fresh);
    await del(bob, m2.id, fresh); // no change: no event

    const all = await events(carol, '', fresh);
    expect(all.status).toBe(200);
    expect(all.body.next_cursor).toBeNull();
    const list = all.body.events;
    expect(list.map((e: any) => [e.type, e.message.id])).toEqual([
      ['message', m1.id],
      ['message', r1.id],
      ['message_updated', m1.id], // reply_count
      ['message_updated', m1.id], // edit
      ['message_updated', m1.id], // reaction
      ['message', m2.id],
      ['message_updated', m2.id], // deletion
    ]);
    const cursors = list.map((e: any) => e.cursor);
    for (const cursor of cursors) expect(cursor).toMatch(/^[0-9]+$/);
    for (let i = 1; i < cursors.length; i++)
      expect(BigInt(cursors[i])).toBeGreaterThan(BigInt(cursors[i - 1]));
    // Messages as they are now: the deleted one is a tombstone in every event.
    expect(list[5].message).toMatchObject({ id: m2.id, content: '', deleted_at: expect.any(String) });
    expect(JSON.stringify(list)).not.toContain('"two"');
    expect(m1.seq).toBe(Number(cursors[0]));

    const page = await events(carol, '?limit=3', fresh);
    expect(page.body.events.map((e: any) => e.cursor)).toEqual(cursors.slice(0, 3));
    expect(page.body.next_cursor).toBe(cursors[2]);
    const rest = await events(carol, `?cursor=${page.body.next_cursor}&limit=500`, fresh);
    expect(rest.body.events.map((e: any) => e.cursor)).toEqual(cursors.slice(3));
    expect((await events(carol, `?cursor=${cursors.at(-1)}`, fresh)).body).toEqual({
      events: [],
      next_cursor: null,
    });
    expect((await events(carol, '?cursor=0', fresh)).body.events).toHaveLength(cursors.length);

    for (const query of [
      '?limit=0',
      '?limit=501',
      '?limit=1.5',
      '?limit=abc',
      '?cursor=abc',
      '?cursor=-1',
      '?cursor=01',
      `?cursor=${'9'.repeat(30)}`,
    ]) {
      expectProblem(await events(carol, query, fresh), 400);
    }
  });

  it('bad bodies and paths: 400 problem+json, never 500, nothing stored', async () => {
    const before = (await events(bob, '?limit=500')).body.events.length;
    for (const raw of [
      '{',
      '[]',
      '{"content":null}',
      '{"content":"x","thread_root_id":5}',
      '{"content":"x","mentions":[1]}',
    ]) {
      const result = await api('POST', msgs(group), { token: carol.token, raw });
      expect(result.status).toBe(400);
    }
    const message = await send(carol, 'target');
    for (const raw of ['{', '{"content":5}', 'null']) {
      expect((await api('PATCH', `${msgs(group)}/${message.id}`, { token: carol.token, raw })).status).toBe(
        400,
      );
    }
    expect(
      (
        await api('PATCH', `${msgs(group)}/${message.id}`, {
          token: carol.token,
          raw: 'x',
          headers: { 'content-type': 'text/plain' },
        })
      ).status,
    ).toBe(415);
    expect((await events(bob, '?limit=500')).body.events.length).toBe(before + 1);
  });
});
