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
   * Messages of `groupIds` (all of `orgId`) matching `tsQuery`, not deleted, newest first (ids are
   * UUIDv7: time-ordered), strictly older than `beforeId` when given.
   */
  async search(input: {
    orgId: string;
    groupIds: readonly string[];
    tsQuery: string;
    beforeId: string | null;
    limit: number;
  }): Promise<MessageRow[]> {
    if (input.groupIds.length === 0) return [];
    let query = this.#db
      .selectFrom('messages')
      .selectAll()
      .where('org_id', '=', input.orgId)
      .where(sql<boolean>`group_id = ANY(${sql.val(input.groupIds)}::uuid[])`)
      .where(sql<boolean>`deleted_at IS NULL`)
      .where(
        sql<boolean>`search_vector @@ to_tsquery('simple'::regconfig, chat_search_fold(${input.tsQuery}))`,
      );
    if (input.beforeId !== null) query = query.where('id', '<', input.beforeId);
    return query.orderBy('id', 'desc').limit(input.limit).execute();
  }
}
