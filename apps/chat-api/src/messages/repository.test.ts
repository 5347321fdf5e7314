import { isStatementRefused, uuidv7 } from '@groupchat/service-kit';
import { type KyselyPlugin, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabase } from '../test-support/database.ts';
import { MessageRepository, type NewMessage } from './repository.ts';

/** Counts the statements sent through the Kysely instance it is attached to. */
function statementCounter(): KyselyPlugin & { count: number } {
  return {
    count: 0,
    transformQuery(args) {
      this.count += 1;
      return args.node;
    },
    async transformResult(args) {
      return args.result;
    },
  };
}

describe(`MessageRepository (${process.env.TEST_DATABASE_URL ? 'postgres' : 'pglite'})`, () => {
  let env: Awaited<ReturnType<typeof testDatabase>>;
  let repo: MessageRepository;
  const org = uuidv7();
  const sender = uuidv7();
  const message = (groupId: string, content: string, clientMessageId: string | null = null) => ({
    id: uuidv7(),
    groupId,
    orgId: org,
    senderId: sender,
    content,
    clientMessageId,
  });

  const stored = async (input: ReturnType<typeof message>) => {
    const result = await repo.insert(input);
    if (!result.ok) throw new Error('not stored');
    return result;
  };

  /** Sizes of the batches sent, and the statements sent, by `counted`. */
  let batches: number[] = [];
  let statements: ReturnType<typeof statementCounter>;
  let counted: MessageRepository;

  beforeAll(async () => {
    env = await testDatabase();
    repo = new MessageRepository(env.database.db);
    statements = statementCounter();
    counted = new MessageRepository(env.database.db.withPlugin(statements), {
      groupCommit: { onBatch: (size) => batches.push(size) },
    });
  });
  const countFrom = () => {
    batches = [];
    statements.count = 0;
  };
  const storedBy = async (r: MessageRepository, input: NewMessage) => {
    const result = await r.insert(input);
    if (!result.ok) throw new Error('not stored');
    return result;
  };
  afterAll(async () => {
    await env.close();
  });

  it('numbers messages 1, 2, 3… per group, without gaps under concurrency', async () => {
    const a = uuidv7();
    const b = uuidv7();
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => stored(message(i % 2 ? a : b, `m${i}`))),
    );
    expect(results.every((r) => r.created)).toBe(true);
    for (const group of [a, b]) {
      const seqs = results
        .filter((r) => r.row.group_id === group)
        .map((r) => r.row.seq)
        .sort((x, y) => x - y);
      expect(seqs).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    }
    expect(await repo.headCursor(a)).toBe(20);
  });

  it('stores one message per (group, sender, client_message_id), even for concurrent twins, and leaves no gap', async () => {
    const group = uuidv7();
    await stored(message(group, 'first'));
    const twins = await Promise.all(
      Array.from({ length: 10 }, () => stored(message(group, 'hello', 'cm-1'))),
    );
    expect(twins.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(twins.map((r) => r.row.id)).size).toBe(1);
    const next = await stored(message(group, 'after'));
    expect(next.row.seq).toBe(3);
    // Another sender may reuse the same client_message_id.
    expect((await stored({ ...message(group, 'x', 'cm-1'), senderId: uuidv7() })).created).toBe(true);
  });

  it('pages newest-first and oldest-first, scoped by group and org', async () => {
    const group = uuidv7();
    for (let i = 1; i <= 7; i++) await stored(message(group, `m${i}`));
    expect((await repo.listNewest(group, org, null, 3)).map((r) => r.content)).toEqual(['m7', 'm6', 'm5']);
    expect((await repo.listNewest(group, org, 5, 3)).map((r) => r.content)).toEqual(['m4', 'm3', 'm2']);
    expect((await repo.listAfter(group, org, 5, 10)).map((r) => r.content)).toEqual(['m6', 'm7']);
    expect(await repo.listNewest(group, uuidv7(), null, 3)).toEqual([]);
    const [m3] = await repo.listAfter(group, org, 2, 1);
    expect(await repo.seqOf(group, org, m3!.id)).toBe(3);
    expect(await repo.seqOf(uuidv7(), org, m3!.id)).toBeUndefined();
    expect(await repo.seqOf(group, uuidv7(), m3!.id)).toBeUndefined();
  });

  describe('group commit', () => {
    it('stores the messages that arrive together in ONE statement, with gap-free positions per group', async () => {
      const [a, b, c] = [uuidv7(), uuidv7(), uuidv7()];
      await storedBy(counted, message(c, 'already there'));
      countFrom();
      const groups = [a, b, c];
      const results = await Promise.all(
        Array.from({ length: 45 }, (_, i) => storedBy(counted, message(groups[i % 3]!, `m${i}`))),
      );
      // Submitted in one turn of the event loop: one batch, one statement, one commit.
      expect(batches).toEqual([45]);
      expect(statements.count).toBe(1);
      expect(results.every((r) => r.created)).toBe(true);
      for (const [g, first] of [
        [a, 1],
        [b, 1],
        [c, 2],
      ] as const) {
        const mine = results.filter((r) => r.row.group_id === g);
        // In the order they were sent, and the event's cursor is the message's position.
        expect(mine.map((r) => r.row.seq)).toEqual(Array.from({ length: 15 }, (_, i) => first + i));
        expect(mine.map((r) => r.events)).toEqual(
          mine.map((r) => [{ type: 'message', cursor: r.row.seq, row: r.row }]),
        );
        expect(await repo.headCursor(g)).toBe(first + 14);
        const log = await repo.listEvents(g, org, 0, 100);
        expect(log.map((e) => e.cursor)).toEqual(Array.from({ length: 15 + first - 1 }, (_, i) => i + 1));
        expect(log.slice(first - 1).map((e) => e.row.id)).toEqual(mine.map((r) => r.row.id));
      }
      // The read-state counters (kept by a per-row trigger) counted them in position order.
      const ordinals = await sql<{ seq: number; ordinal: number }>`
        SELECT seq, ordinal FROM messages WHERE group_id = ${a}::uuid ORDER BY seq`.execute(env.database.db);
      expect(ordinals.rows.map((r) => Number(r.ordinal))).toEqual(ordinals.rows.map((r) => Number(r.seq)));
      // Mentions and content survive the array round trip (quotes, commas, braces, backslashes, emoji).
      const tricky = 'a "quoted", {braced} \\ back\\slash, NULL, 😀';
      const mentioned = [uuidv7(), uuidv7()];
      const [withMentions] = await Promise.all([
        storedBy(counted, { ...message(a, tricky), mentions: mentioned }),
        storedBy(counted, message(a, 'NULL')),
      ]);
      expect(withMentions.row.content).toBe(tricky);
      expect(withMentions.row.mentions).toEqual(mentioned);
    });

    it('answers twins with the same key in one batch with one message, logged and announced once', async () => {
      const group = uuidv7();
      countFrom();
      const [first, twin, other, third] = await Promise.all([
        storedBy(counted, message(group, 'hello', 'key-1')),
        storedBy(counted, message(group, 'hello again', 'key-1')),
        storedBy(counted, message(group, 'other', 'key-2')),
        storedBy(counted, message(group, 'and again', 'key-1')),
      ]);
      expect(first.created).toBe(true);
      expect([twin.created, third.created]).toEqual([false, false]);
      expect(twin.row.id).toBe(first.row.id);
      expect(third.row.id).toBe(first.row.id);
      expect(twin.row.content).toBe('hello');
      // The first one's event is the only one: the twins are not announced again.
      expect(first.events).toHaveLength(1);
      expect([twin.events, third.events]).toEqual([[], []]);
      expect(other.created).toBe(true);
      expect([first.row.seq, other.row.seq].sort()).toEqual([1, 2]);
      expect((await repo.listEvents(group, org, 0, 10)).map((e) => e.row.id)).toEqual([
        first.row.id,
        other.row.id,
      ]);
      // A resend after the commit, inside a batch: the batch is refused on the key and retried message
      // by message; the resend gets the stored message and takes no position.
      const [resent, fresh] = await Promise.all([
        storedBy(counted, message(group, 'hello once more', 'key-1')),
        storedBy(counted, message(group, 'new')),
      ]);
      expect(batches.at(-1)).toBe(2);
      expect(resent.created).toBe(false);
      expect(resent.row.id).toBe(first.row.id);
      // A resend is announced again (the first announcement may have been lost with its instance).
      expect(resent.events).toEqual([{ type: 'message', cursor: first.row.seq, row: resent.row }]);
      expect(fresh.row.seq).toBe(3);
    });

    it('fails only the poisoned message of a batch; the others are stored without gaps', async () => {
      const group = uuidv7();
      const taken = await storedBy(repo, message(group, 'first'));
      countFrom();
      const results = await Promise.allSettled([
        counted.insert(message(group, 'one')),
        // The same primary key as a stored message: the whole statement is refused (unique violation).
        counted.insert({ ...message(group, 'poisoned'), id: taken.row.id }),
        counted.insert(message(group, 'two')),
        counted.insert(message(uuidv7(), 'elsewhere')),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
      expect(isStatementRefused((results[1] as PromiseRejectedResult).reason)).toBe(true);
      // The batch was refused whole, then each message went alone.
      expect(batches).toEqual([4]);
      expect(statements.count).toBe(5);
      const seqs = results.flatMap((r) => (r.status === 'fulfilled' && r.value.ok ? [r.value.row] : []));
      expect(seqs.filter((r) => r.group_id === group).map((r) => r.seq)).toEqual([2, 3]);
      expect((await repo.listEvents(group, org, 0, 10)).map((e) => e.cursor)).toEqual([1, 2, 3]);
      expect(await repo.headCursor(group)).toBe(3);
    });

    it('keeps positions gap-free with two batches in flight over the same groups, without a deadlock', async () => {
      const parallelStatements = statementCounter();
      const sizes: number[] = [];
      const parallel = new MessageRepository(env.database.db.withPlugin(parallelStatements), {
        groupCommit: { maxInFlight: 2, maxBatch: 9, onBatch: (size) => sizes.push(size) },
      });
      const groups = [uuidv7(), uuidv7(), uuidv7()];
      // Batches meet the groups in different orders of arrival; the counters are locked in group order
      // whatever the arrival, and the second batch waits for the first's commit on the groups they share.
      const order = (i: number) => groups[Math.floor(i / 9) % 2 ? i % 3 : 2 - (i % 3)]!;
      const results = await Promise.all(
        Array.from({ length: 54 }, (_, i) => storedBy(parallel, message(order(i), `p${i}`, `p-${i}`))),
      );
      expect(sizes).toEqual([9, 9, 9, 9, 9, 9]);
      // One statement per batch: none was refused (a deadlock would have been) and retried.
      expect(parallelStatements.count).toBe(6);
      for (const g of groups) {
        const seqs = results.filter((r) => r.row.group_id === g).map((r) => r.row.seq);
        expect([...seqs].sort((x, y) => x - y)).toEqual(Array.from({ length: 18 }, (_, i) => i + 1));
        expect((await repo.listEvents(g, org, 0, 100)).map((e) => e.cursor)).toEqual(
          Array.from({ length: 18 }, (_, i) => i + 1),
        );
      }
    });
  });
});
