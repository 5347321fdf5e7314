import { type Kysely, sql } from 'kysely';
import type { ChatDB } from '../db/schema.ts';
import type { MessageRow } from '../messages/schema.ts';
import { joinTerms, type SearchTerm } from './query.ts';

/** The SQL of message search (index and folding: migration 0004_search; lexicon: 0005_search_lexicon). */
export class SearchRepository {
  readonly #db: Kysely<ChatDB>;

  constructor(db: Kysely<ChatDB>) {
    this.#db = db;
  }

  /**
   * Messages of `groupIds` (all of `orgId`) matching every one of `terms`, not deleted, newest first,
   * strictly older than the message `beforeId` when given (an unknown id: nothing).
   *
   * Two plans, because no single one is good for both kinds of query: a common word is found at once
   * among the newest messages (walk the org's newest `RECENT_WINDOW` messages by time, test each), while
   * a rare word or a word that occurs nowhere would make that walk read the whole history. So the walk
   * is capped, and when it does not fill the page, the GIN index answers: its cost is then that of the
   * (few) matches. Ordering by time, which only the walk's index serves, keeps the planner from walking
   * the primary key hoping to meet `limit` matches soon.
   *
   * The index is asked with each prefix term replaced by the exact lexemes of the org's lexicon that
   * start with it, when there are a few: the same matches, since the lexicon holds every lexeme of the
   * org's messages, but GIN intersects exact terms by skipping through their posting lists, where a
   * prefix term makes it first collect every message that has the prefix (`message 4242`: all of them).
   */
  async search(input: {
    orgId: string;
    groupIds: readonly string[];
    terms: readonly SearchTerm[];
    beforeId: string | null;
    limit: number;
  }): Promise<MessageRow[]> {
    if (input.groupIds.length === 0 || input.terms.length === 0) return [];
    const base = () => {
      let query = this.#db
        .selectFrom('messages')
        .where('org_id', '=', input.orgId)
        .where(sql<boolean>`group_id = ANY(${sql.val(input.groupIds)}::uuid[])`)
        .where(sql<boolean>`deleted_at IS NULL`);
      if (input.beforeId !== null)
        query = query.where(
          sql<boolean>`(created_at, id) < (SELECT b.created_at, b.id FROM messages b WHERE b.id = ${input.beforeId})`,
        );
      return query;
    };
    const tsQuery = joinTerms(input.terms);
    const matches = sql<boolean>`search_vector @@ to_tsquery('simple'::regconfig, chat_search_fold(${tsQuery}))`;
    const recent = await this.#db
      .selectFrom(
        base()
          .selectAll()
          .orderBy('created_at', 'desc')
          .orderBy('id', 'desc')
          .limit(RECENT_WINDOW)
          .as('recent'),
      )
      .selectAll()
      .where(matches)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(input.limit)
      .execute();
    if (recent.length >= input.limit) return recent;
    // OFFSET 0 fences the match off from the ordering: planned alone, it is a GIN bitmap scan (cost =
    // the matches); the sort of those few rows comes after.
    const indexed = sql<boolean>`search_vector @@ ${exactQuery(input.orgId, input.terms)}`;
    return this.#db
      .selectFrom(base().selectAll().where(indexed).offset(0).as('found'))
      .selectAll()
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(input.limit)
      .execute();
  }
}

/**
 * The tsquery of `terms`, each prefix term as the OR of the org's lexemes that start with it. A term
 * stays as it is when its folded word is not one lexeme of its own (the parser would split it), when
 * no lexeme has the prefix, or when more than `MAX_EXPANSION` do. Each prefix is a parameter, so the
 * planner sees it folded, as a constant: one range of the lexicon's primary key.
 */
function exactQuery(orgId: string, terms: readonly SearchTerm[]) {
  const parts = terms.map((term) => {
    const asIs = sql`'(' || to_tsquery('simple'::regconfig, chat_search_fold(${term.tsQuery}))::text || ')'`;
    if (term.prefix === null) return asIs;
    const folded = sql`chat_search_fold(${term.prefix}::text)`;
    // Each lexeme in tsquery syntax: quoted, with its quotes and backslashes escaped.
    return sql`COALESCE(CASE WHEN tsvector_to_array(to_tsvector('simple'::regconfig, ${folded})) = ARRAY[${folded}]
      THEN (SELECT '(' || string_agg('''' || replace(replace(e.lexeme, '\\', '\\\\'), '''', '\\''') || '''', ' | ') || ')'
            FROM (SELECT l.lexeme FROM search_lexicon l WHERE l.org_id = ${orgId}::uuid AND l.lexeme ^@ ${folded}
                  ORDER BY l.lexeme LIMIT ${MAX_EXPANSION + 1}) e
            HAVING count(*) BETWEEN 1 AND ${MAX_EXPANSION}) END, ${asIs})`;
  });
  // A part without lexemes (a word the parser drops) is left out, as to_tsquery leaves it out of the whole.
  return sql`(array_to_string(array_remove(ARRAY[${sql.join(parts)}]::text[], '()'), ' & ')::tsquery)`;
}

/** At most this many exact lexemes stand for one prefix term; past that, the prefix asks the index. */
const MAX_EXPANSION = 200;

/** How many of the newest messages the first plan tests before the index takes over. */
const RECENT_WINDOW = 2_000;
