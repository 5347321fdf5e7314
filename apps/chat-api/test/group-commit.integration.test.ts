/**
 * Group commit seen from outside: concurrent POSTs land in fewer transactions (statements) than
 * requests, each answered only once its message is committed, with per-group cursors that stay
 * unique and gap-free across two chat-api instances on one database, the change log in cursor order,
 * every event delivered live exactly once, idempotency keys deduplicated inside a batch and across
 * instances, and a poisoned message failing alone. On PGlite, or on PostgreSQL with TEST_DATABASE_URL.
 */
import { Channels, type ChatMessageEvent } from '@groupchat/contract';
import { uuidv7 } from '@groupchat/service-kit';
import { sql } from 'kysely';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ApiResponse,
  api,
  createGroup,
  DEMO,
  login,
  type Platform,
  startPlatform,
  TestSocket,
  type User,
} from './helpers.ts';

/** The group-commit histogram of one instance: statements sent and messages in them. */
async function batches(chatUrl: string): Promise<{ statements: number; messages: number }> {
  const text = (await api('GET', `${chatUrl}/metrics`)).body as string;
  const value = (name: string) => {
    // One series (the registry's default label only): `name{service="chat-api"} 12`.
    const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
    if (!line) throw new Error(`no ${name} in /metrics`);
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  };
  return {
    statements: value('chat_message_commit_batch_size_count'),
    messages: value('chat_message_commit_batch_size_sum'),
  };
}

const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);

describe('group commit through the HTTP API', () => {
  let platform: Platform;
  let bob: User;
  let carol: User;
  let a: Platform['chats'][number];
  let b: Platform['chats'][number];
  /**
   * Keep-alive connections opened before the measured requests, as a load of many clients has them:
   * concurrent requests then reach the server together instead of one connection set-up at a time
   * (this process is the client too, and on PGlite every statement holds its event loop).
   */
  let agent: Agent;

  const post = async (
    chatUrl: string,
    user: User,
    group: string,
    body: Record<string, unknown>,
  ): Promise<ApiResponse> => {
    const response = await request(`${chatUrl}/api/chat/groups/${group}/messages`, {
      method: 'POST',
      dispatcher: agent,
      headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return {
      status: response.statusCode,
      headers: new Headers(response.headers as Record<string, string>),
      body: await response.body.json(),
    };
  };
  const log = async (group: string) =>
    (await api('GET', `${a.url}/api/chat/groups/${group}/events?limit=500`, { token: bob.token })).body
      .events as { type: string; cursor: string; message: { id: string; seq: number } }[];
  const seqsOf = (responses: ApiResponse[]) =>
    responses.map((r) => r.body.seq as number).sort((x, y) => x - y);

  beforeAll(async () => {
    platform = await startPlatform({ instances: 2 });
    [a, b] = platform.chats as [typeof a, typeof b];
    [bob, carol] = await Promise.all([
      login(platform.auth.url, DEMO.users.bob),
      login(platform.auth.url, DEMO.users.carol),
    ]);
    agent = new Agent({ connections: 100, keepAliveTimeout: 60_000 });
    for (const chat of [a, b])
      await Promise.all(
        range(0, 100).map(async () => {
          const response = await request(`${chat.url}/health`, { dispatcher: agent });
          await response.body.dump();
        }),
      );
  });
  afterAll(async () => {
    await agent?.close();
    await platform?.close();
  });

  it('batches concurrent sends: fewer statements than requests, each 201 readable at once, cursors gap-free, each event live once in order', async () => {
    const group = await createGroup(platform.auth.url, bob, `gc-${uuidv7()}`, [carol]);
    const socket = await TestSocket.connect(b.wsUrl, carol.token);
    expect(await socket.subscribe(group)).toMatchObject({ type: 'subscribed', cursor: '0' });
    // Warm the membership caches first, so the measured requests all arrive together.
    expect((await post(a.url, bob, group, { content: 'warm-up bob' })).status).toBe(201);
    expect((await post(a.url, carol, group, { content: 'warm-up carol' })).status).toBe(201);
    // What the instances tell each other about the group (the bus between them).
    const published: ChatMessageEvent[] = [];
    const bus = platform.busFor();
    const stopListening = await bus.subscribe(Channels.chatMessages, (payload) => {
      if ((payload as ChatMessageEvent).group_id === group) published.push(payload as ChatMessageEvent);
    });
    const before = await batches(a.url);

    const count = 60;
    const responses = await Promise.all(
      range(0, count).map(async (i) => {
        const sent = await post(a.url, i % 2 ? carol : bob, group, {
          content: `concurrent ${i}`,
          client_message_id: `c-${i}`,
        });
        // A 201 means committed: the message is readable right away, through the other instance too.
        const read = await api('GET', `${b.url}/api/chat/groups/${group}/messages/${sent.body.id}`, {
          token: bob.token,
        });
        expect(read.status, JSON.stringify(read.body)).toBe(200);
        return sent;
      }),
    );
    expect(responses.map((r) => r.status)).toEqual(responses.map(() => 201));
    const after = await batches(a.url);
    expect(after.messages - before.messages).toBe(count);
    expect(after.statements - before.statements).toBeLessThan(count);

    expect(seqsOf(responses)).toEqual(range(3, count));
    const events = await log(group);
    expect(events.map((e) => Number(e.cursor))).toEqual(range(1, count + 2));
    expect(events.every((e) => e.type === 'message' && Number(e.cursor) === e.message.seq)).toBe(true);

    const live = await socket.waitForMessages(group, count + 2);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const frames = socket.frames.filter((f) => f.type === 'message');
    expect(frames.map((f) => Number(f.cursor))).toEqual(range(1, count + 2));
    expect(new Set(live.map((m) => m.id)).size).toBe(count + 2);
    socket.close();
    // Published after commit, each event once, in cursor order, the events of one batch together.
    stopListening();
    // (The warm-up's own announcement may still arrive: it leaves in the turn after its answer.)
    const measured = published.filter((p) => p.events.some((e) => Number(e.cursor) > 2));
    const cursors = measured.flatMap((p) => p.events.map((e) => Number(e.cursor)));
    expect(cursors).toEqual(range(3, count));
    expect(measured.length).toBeLessThan(count);
    for (const payload of published) expect(payload.instance_id).toBe(published[0]!.instance_id);
  });

  it('keeps one hot group gap-free and unique with two instances batching into it at once', async () => {
    const group = await createGroup(platform.auth.url, bob, `gc-hot-${uuidv7()}`, [carol]);
    const responses = await Promise.all(
      range(0, 80).map((i) =>
        post(i % 2 ? b.url : a.url, i % 4 < 2 ? bob : carol, group, { content: `hot ${i}` }),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(responses.map(() => 201));
    expect(seqsOf(responses)).toEqual(range(1, 80));
    const events = await log(group);
    expect(events.map((e) => Number(e.cursor))).toEqual(range(1, 80));
    expect(new Set(events.map((e) => e.message.id)).size).toBe(80);
  });

  it('answers sends with one idempotency key, together and on both instances, with one message', async () => {
    const group = await createGroup(platform.auth.url, bob, `gc-key-${uuidv7()}`, [carol]);
    const socket = await TestSocket.connect(a.wsUrl, carol.token);
    await socket.subscribe(group);
    const responses = await Promise.all([
      ...range(0, 6).map((i) =>
        post(i < 4 ? a.url : b.url, bob, group, { content: 'once', client_message_id: 'k' }),
      ),
      post(a.url, bob, group, { content: 'other', client_message_id: 'k2' }),
      // Another sender's key is its own.
      post(a.url, carol, group, { content: 'carol', client_message_id: 'k' }),
    ]);
    const twins = responses.slice(0, 6);
    expect(twins.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 201]);
    expect(new Set(twins.map((r) => r.body.id)).size).toBe(1);
    expect(responses.slice(6).map((r) => r.status)).toEqual([201, 201]);
    expect(seqsOf(responses.filter((r) => r.status === 201))).toEqual([1, 2, 3]);
    const events = await log(group);
    expect(events.map((e) => Number(e.cursor))).toEqual([1, 2, 3]);
    await socket.waitForMessages(group, 3);
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Resends (200) may be announced again; a subscriber still gets every event once.
    expect(socket.frames.filter((f) => f.type === 'message').map((f) => f.cursor)).toEqual(['1', '2', '3']);
    socket.close();
  });

  it('fails only the poisoned message of a batch: the others are stored, without a gap', async () => {
    const group = await createGroup(platform.auth.url, bob, `gc-poison-${uuidv7()}`, [carol]);
    const db = a.chat.database.db;
    // A row the database refuses (as a check constraint would), for this one group only.
    await sql`CREATE FUNCTION test_poison() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.group_id = ${sql.lit(group)}::uuid AND NEW.content = 'poison' THEN
          RAISE EXCEPTION 'poisoned message' USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
      END $$`.execute(db);
    await sql`CREATE TRIGGER test_poison BEFORE INSERT ON messages FOR EACH ROW EXECUTE FUNCTION test_poison()`.execute(
      db,
    );
    try {
      expect((await post(a.url, bob, group, { content: 'warm-up' })).status).toBe(201);
      const before = await batches(a.url);
      const responses = await Promise.all(
        range(0, 20).map((i) =>
          post(a.url, i % 2 ? carol : bob, group, { content: i === 7 ? 'poison' : `fine ${i}` }),
        ),
      );
      const after = await batches(a.url);
      expect(responses[7]!.status).toBe(500);
      const fine = responses.filter((_, i) => i !== 7);
      expect(fine.map((r) => r.status)).toEqual(fine.map(() => 201));
      expect(seqsOf(fine)).toEqual(range(2, 19));
      expect((await log(group)).map((e) => Number(e.cursor))).toEqual(range(1, 20));
      expect(after.messages - before.messages).toBe(20);
      expect(after.statements - before.statements).toBeLessThan(20);
      // The poisoned message took no position: the next one follows on.
      expect((await post(a.url, bob, group, { content: 'after' })).body.seq).toBe(21);
    } finally {
      await sql`DROP TRIGGER test_poison ON messages`.execute(db);
      await sql`DROP FUNCTION test_poison()`.execute(db);
    }
  });
});
