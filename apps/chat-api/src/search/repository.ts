import { type Kysely, sql } from 'kysely';
import type { ChatDB } from '../db/schema.ts';
import type { MessageRow } from '../messages/schema.ts';

/** The SQL of message search (index and folding: migration 0004_search). */
export class SearchRepository {
  readonly #db: Kysely<ChatDB>;

  constructor(db: Kysely<ChatDB>) {
    this.#db = db;
  }

  /**
   * Messages of `groupIds` (all of `orgId`) matching `tsQuery`, not deleted, newest first, strictly
   * older than the message `beforeId` when given (an unknown id: nothing).
   *
   * Two plans, because no single one is good for both kinds of query: a common word is found at once
   * among the newest messages (walk the org's newest `RECENT_WINDOW` messages by time, test each), while
   * a rare word or a word that occurs nowhere would make that walk read the whole history. So the walk
   * is capped, and when it does not fill the page, the GIN index answers: its cost is then that of the
   * (few) matches. Ordering by time, which only the walk's index serves, keeps the planner from walking
   * the primary key hoping to meet `limit` matches soon.
   */
  async search(input: {
    orgId: string;
    groupIds: readonly string[];
    tsQuery: string;
    beforeId: string | null;
    limit: number;
  }): Promise<MessageRow[]> {
    if (input.groupIds.length === 0) return [];
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
    const matches = sql<boolean>`search_vector @@ to_tsquery('simple'::regconfig, chat_search_fold(${input.tsQuery}))`;
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
    return this.#db
      .selectFrom(base().selectAll().where(matches).offset(0).as('found'))
      .selectAll()
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(input.limit)
      .execute();
  }
}

/** How many of the newest messages the first plan tests before the index takes over. */
const RECENT_WINDOW = 2_000;
