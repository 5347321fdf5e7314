import { uuidv7 } from '@groupchat/service-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabase } from '../test-support/database.ts';
import { MessageRepository } from './repository.ts';

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

  beforeAll(async () => {
    env = await testDatabase();
    repo = new MessageRepository(env.database.db);
  });
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
});
