import { Channels, type ChatEvent } from '@groupchat/contract';
import { MemoryBus, uuidv7 } from '@groupchat/service-kit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ChatUser } from '../auth/user-token-verifier.ts';
import { MessageRepository } from '../messages/repository.ts';
import type { MessageDto } from '../messages/schema.ts';
import { toEvent } from '../messages/service.ts';
import { testDatabase } from '../test-support/database.ts';
import { captureLogger } from '../test-support/fake-server.ts';
import { type LiveConnection, LiveHub } from './hub.ts';

class FakeConnection implements LiveConnection {
  readonly frames: any[] = [];
  readonly user: ChatUser;
  isOpen = true;
  bufferedAmount = 0;
  closed: { code: number; reason: string } | null = null;
  constructor(userId = uuidv7()) {
    this.user = {
      userId,
      orgId: ORG,
      sessionId: uuidv7(),
      tokenId: uuidv7(),
      clientId: null,
      issuedAt: Date.now(),
      keyId: 'k1',
      expiresAt: Date.now() + 900_000,
      scopes: new Set(['groups:read', 'groups:write', 'members:read']),
    };
  }
  /** Every encoded frame as handed over, to see what was shared between subscribers. */
  readonly raw: (string | Buffer)[] = [];
  send(data: string | Buffer): void {
    this.raw.push(data);
    if (this.isOpen) this.frames.push(JSON.parse(String(data)));
  }
  close(code: number, reason: string): void {
    this.isOpen = false;
    this.closed = { code, reason };
  }
  get messages(): MessageDto[] {
    return this.frames.filter((f) => f.type === 'message').map((f) => f.message);
  }
  get events(): { type: string; cursor: string; message: MessageDto }[] {
    return this.frames.filter((f) => f.type === 'message' || f.type === 'message_updated');
  }
}

const ORG = uuidv7();

const until = async (check: () => boolean, ms = 3_000) => {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

describe('LiveHub', () => {
  let env: Awaited<ReturnType<typeof testDatabase>>;
  let repo: MessageRepository;
  let bus: MemoryBus;
  let hub: LiveHub;
  let other: LiveHub;

  /** Stores a message; returns its `message` event (what the service would announce). */
  const store = async (groupId: string, content: string): Promise<ChatEvent[]> => {
    const result = await repo.insert({
      id: uuidv7(),
      groupId,
      orgId: ORG,
      senderId: uuidv7(),
      content,
      clientMessageId: null,
    });
    if (!result.ok) throw new Error('not stored');
    return result.events.map(toEvent);
  };
  const msg = (events: ChatEvent[]) => events[0]!.message;
  const edit = async (message: MessageDto, content: string): Promise<ChatEvent[]> =>
    (
      await repo.change(message.group_id, ORG, message.id, () => ({
        saveVersion: true,
        set: { content, edited_at: new Date() },
      }))
    ).events.map(toEvent);
  const makeHub = (instanceId: string, resumeMaxGap = 500) =>
    new LiveHub({
      repo,
      bus,
      logger: captureLogger().logger,
      instanceId,
      resumeMaxGap,
      maxBufferedBytes: 1 << 20,
      gapFillDelayMs: 20,
    });

  beforeAll(async () => {
    env = await testDatabase();
    repo = new MessageRepository(env.database.db);
  });
  afterAll(async () => {
    await env.close();
  });
  beforeEach(async () => {
    bus = new MemoryBus();
    hub = makeHub('a');
    other = makeHub('b');
    await hub.start();
    await other.start();
    return () => {
      hub.stop();
      other.stop();
    };
  });

  const connect = async (h: LiveHub, groupId: string, after?: string, cursor?: number) => {
    const conn = new FakeConnection();
    h.addConnection(conn);
    expect(await h.subscribe(conn, groupId, ORG, { afterId: after, cursor })).toBe(true);
    return conn;
  };
  const publish = (events: ChatEvent[]) =>
    bus.publish(Channels.chatMessages, {
      type: 'chat_events',
      instance_id: 'elsewhere',
      group_id: events[0]!.message.group_id,
      events,
    });

  it('delivers in cursor order, reading a missing event from the database', async () => {
    const group = uuidv7();
    const conn = await connect(hub, group);
    const [e1, e2, e3] = [await store(group, '1'), await store(group, '2'), await store(group, '3')];
    // Another instance's announcements: 3 arrives, 2 never does.
    await publish(e3!);
    await publish(e1!);
    await until(() => conn.messages.length === 3);
    expect(conn.messages.map((m) => m.id)).toEqual([msg(e1!).id, msg(e2!).id, msg(e3!).id]);
    expect(conn.frames[0]).toEqual({ type: 'subscribed', group_id: group, cursor: '0' });
    expect(conn.events.map((e) => e.cursor)).toEqual(['1', '2', '3']);
  });

  it('orders edits with new messages by cursor, and resumes from a cursor with exactly the later events', async () => {
    const group = uuidv7();
    const watcher = await connect(hub, group);
    const first = await store(group, 'first');
    const edited = await edit(msg(first), 'first, edited');
    const second = await store(group, 'second');
    // Announced out of order by "another instance": the edit arrives last.
    await publish(second);
    await publish(first);
    await publish(edited);
    await until(() => watcher.events.length === 3);
    expect(watcher.events.map((e) => [e.type, e.cursor, e.message.content])).toEqual([
      ['message', '1', 'first'],
      ['message_updated', '2', 'first, edited'],
      ['message', '3', 'second'],
    ]);
    const again = await edit(msg(first), 'first, again');
    other.announce(again);
    const resumed = await connect(hub, group, undefined, 2);
    await until(() => resumed.events.length === 2);
    expect(resumed.events.map((e) => [e.type, e.cursor])).toEqual([
      ['message', '3'],
      ['message_updated', '4'],
    ]);
    // A cursor the group has not reached: reset, with the cursor live delivery continues after.
    const ahead = await connect(hub, group, undefined, 99);
    expect(ahead.frames.at(-1)).toEqual({ type: 'reset', group_id: group, cursor: '4' });
  });

  it('takes a cursor seen on another instance before this one heard of it (no reset)', async () => {
    const group = uuidv7();
    const watcher = await connect(hub, group);
    const unheard = await store(group, 'committed, not yet announced here');
    const resumed = await connect(hub, group, undefined, Number(unheard[0]!.cursor));
    expect(resumed.frames).toEqual([{ type: 'subscribed', group_id: group }]);
    hub.announce(unheard);
    await until(() => watcher.events.length === 1);
    const next = await store(group, 'next');
    hub.announce(next);
    await until(() => resumed.events.length === 1);
    expect(resumed.events.map((e) => e.message.content)).toEqual(['next']);
  });

  it('fans out between instances over the bus, once per subscriber', async () => {
    const group = uuidv7();
    const here = await connect(hub, group);
    const there = await connect(other, group);
    const stored: ChatEvent[][] = [];
    for (let i = 0; i < 5; i++) {
      stored.push(await store(group, `m${i}`));
      hub.announce(stored.at(-1)!);
    }
    await until(() => there.messages.length === 5 && here.messages.length === 5);
    expect(there.messages.map((m) => m.content)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    hub.announce(stored[0]!); // a re-announcement (idempotent resend) is not delivered twice
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(there.messages).toHaveLength(5);
  });

  it('resumes after a message id with no gap and no duplicate while messages keep coming', async () => {
    const group = uuidv7();
    const history: MessageDto[] = [];
    for (let i = 0; i < 20; i++) history.push(msg(await store(group, `h${i}`)));
    const writer = (async () => {
      for (let i = 0; i < 30; i++) other.announce(await store(group, `live${i}`));
    })();
    const conn = new FakeConnection();
    hub.addConnection(conn);
    await hub.subscribe(conn, group, ORG, { afterId: history[4]!.id });
    await writer;
    await until(() => conn.messages.length === 45);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const seqs = conn.messages.map((m) => m.seq);
    expect(seqs).toEqual(Array.from({ length: 45 }, (_, i) => i + 6));
  });

  it('sends reset when the gap is too large, or the message is unknown', async () => {
    const small = makeHub('c', 5);
    await small.start();
    const group = uuidv7();
    const first = msg(await store(group, 'first'));
    for (let i = 0; i < 10; i++) await store(group, `m${i}`);
    const conn = await connect(small, group, first.id);
    expect(conn.frames.map((f) => f.type)).toEqual(['subscribed', 'reset']);
    expect(conn.frames[1]).toEqual({ type: 'reset', group_id: group, cursor: '11' });
    const unknown = await connect(small, group, uuidv7());
    expect(unknown.frames.map((f) => f.type)).toEqual(['subscribed', 'reset']);
    // Live delivery continues after a reset.
    small.announce(await store(group, 'new'));
    await until(() => conn.messages.length === 1);
    small.stop();
  });

  it('a member who lost access gets an error frame and nothing more', async () => {
    const group = uuidv7();
    const carol = await connect(hub, group);
    const bob = await connect(hub, group);
    hub.announce(await store(group, 'before'));
    hub.accessLost(group, carol.user.userId, 403);
    hub.announce(await store(group, 'after'));
    await until(() => bob.messages.length === 2);
    expect(carol.messages.map((m) => m.content)).toEqual(['before']);
    expect(carol.frames.at(-1)).toEqual({
      type: 'error',
      group_id: group,
      status: 403,
      detail: expect.any(String),
    });
  });

  it('disconnects the connections of a revoked token', async () => {
    const group = uuidv7();
    const conn = await connect(hub, group);
    const bystander = await connect(hub, group);
    expect(hub.disconnect((user) => user.tokenId === conn.user.tokenId, 4401, 'token revoked')).toBe(1);
    expect(conn.closed).toEqual({ code: 4401, reason: 'token revoked' });
    expect(bystander.closed).toBeNull();
  });
});
