import { uuidv7 } from '@groupchat/service-kit';
import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageRepository } from '../messages/repository.ts';
import { testDatabase } from '../test-support/database.ts';
import { toTerms, toTsQuery } from './query.ts';
import { SearchRepository } from './repository.ts';

/**
 * The index is asked with prefix terms expanded to the lexicon's exact lexemes: it must find exactly
 * what the plain tsquery finds, in the same order, whatever the words.
 */
describe(`SearchRepository (${process.env.TEST_DATABASE_URL ? 'postgres' : 'pglite'})`, () => {
  let env: Awaited<ReturnType<typeof testDatabase>>;
  let search: SearchRepository;
  let messages: MessageRepository;
  const org = uuidv7();
  const otherOrg = uuidv7();
  const groups = [uuidv7(), uuidv7()];
  const sender = uuidv7();

  const post = (content: string, groupId = groups[0]!, orgId = org) =>
    messages.insert({ id: uuidv7(), groupId, orgId, senderId: sender, content, clientMessageId: null });

  /** What the plain tsquery finds (no lexicon), newest first. */
  const plain = async (q: string, groupIds: readonly string[]) => {
    const tsQuery = toTsQuery(q);
    if (tsQuery === null) return [];
    const result = await sql<{ id: string }>`
      SELECT id FROM messages
      WHERE org_id = ${org}::uuid AND group_id = ANY(${groupIds}::uuid[]) AND deleted_at IS NULL
        AND search_vector @@ to_tsquery('simple'::regconfig, chat_search_fold(${tsQuery}))
      ORDER BY created_at DESC, id DESC`.execute(env.database.db);
    return result.rows.map((row) => row.id);
  };
  /** Lexemes of the org's messages that its lexicon lacks: none, or an expansion would miss them. */
  const missing = async () => {
    const result = await sql<{ lexeme: string }>`
      SELECT DISTINCT l.lexeme FROM messages m, unnest(tsvector_to_array(m.search_vector)) AS l(lexeme)
      WHERE m.org_id = ${org}::uuid
      EXCEPT SELECT lexeme FROM search_lexicon WHERE org_id = ${org}::uuid`.execute(env.database.db);
    return result.rows.map((row) => row.lexeme);
  };
  // A limit above the number of messages: the walk of the newest never fills it, the index answers.
  const found = async (q: string, groupIds: readonly string[] = groups) =>
    (await search.search({ orgId: org, groupIds, terms: toTerms(q), beforeId: null, limit: 10_000 })).map(
      (row) => row.id,
    );

  beforeAll(async () => {
    env = await testDatabase();
    search = new SearchRepository(env.database.db);
    // Group commit: concurrent sends are one multi-row INSERT, as on the hot path.
    messages = new MessageRepository(env.database.db, { groupCommit: {} });
  });
  afterAll(async () => {
    await env.close();
  });

  // Short words over few letters, so prefixes of one word are often whole words of another.
  const word = fc.oneof(
    fc.stringMatching(/^[abé]{1,4}$/),
    fc.constantFrom('Ab', 'ÄB', 'ß', 'ss', 'it’s', "o'b", 'a\\b', '42', '4a', 'a-b', 'x1', '東京', 'ba東'),
  );
  const text = fc.array(word, { minLength: 1, maxLength: 6 }).map((words) => words.join(' '));

  it('finds exactly what the plain tsquery finds, newest first', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(text, { minLength: 1, maxLength: 12 }),
        fc.array(
          fc.oneof(
            word,
            word.map((w) => w.slice(0, 1)),
          ),
          { minLength: 1, maxLength: 3 },
        ),
        async (contents, queryWords) => {
          await Promise.all(contents.map((content, i) => post(content, groups[i % 2])));
          expect(await missing()).toEqual([]);
          const q = queryWords.join(' ');
          expect(await found(q)).toEqual(await plain(q, groups));
          expect(await found(q, [groups[1]!])).toEqual(await plain(q, [groups[1]!]));
        },
      ),
      { numRuns: 40 },
    );
  });

  it('expands a prefix with many lexemes, and asks the index with the prefix past the cap', async () => {
    // x0 … x299: `x1` stands for 111 lexemes, `x` for 300 (more than are expanded).
    await post(Array.from({ length: 300 }, (_, i) => `x${i}`).join(' '));
    await post('x150 yak');
    for (const q of ['x1', 'x', 'x15 yak', 'x yak', 'x29'])
      expect(await found(q), q).toEqual(await plain(q, groups));
    expect(await found('x15 yak')).toHaveLength(1);
  });

  it('finds an edit by a word only its new content has, and never another org’s words', async () => {
    const stored = await post('zebra');
    if (!stored.ok) throw new Error('not stored');
    await sql`UPDATE messages SET content = 'quokka' WHERE id = ${stored.row.id}::uuid`.execute(
      env.database.db,
    );
    expect(await missing()).toEqual([]);
    expect(await found('quok')).toEqual([stored.row.id]);
    expect(await found('zebr')).toEqual([]);
    await post('wombat', uuidv7(), otherOrg);
    expect(await found('womb')).toEqual([]);
  });
});
