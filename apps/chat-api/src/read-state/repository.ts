import { type Kysely, sql } from 'kysely';
import type { ChatDB } from '../db/schema.ts';

export interface ReadState {
  groupId: string;
  lastReadMessageId: string | null;
  unreadCount: number;
  mentionCount: number;
}

export interface MarkerTarget {
  id: string;
  seq: number;
  ordinal: number;
}

export interface ReceiptRow {
  userId: string;
  messageId: string;
  readAt: Date;
}

/** All SQL of read markers and unread counts (see migration 0003_read_state for the counters). */
export class ReadStateRepository {
  readonly #db: Kysely<ChatDB>;

  constructor(db: Kysely<ChatDB>) {
    this.#db = db;
  }

  /** The message a marker would point at, if it is one of the group's. */
  async findTarget(groupId: string, orgId: string, messageId: string): Promise<MarkerTarget | undefined> {
    const { rows } = await sql<{ id: string; seq: number | string; ordinal: number | string }>`
      SELECT id, seq, ordinal FROM messages
      WHERE id = ${messageId} AND group_id = ${groupId} AND org_id = ${orgId}`.execute(this.#db);
    const row = rows[0];
    return row ? { id: row.id, seq: Number(row.seq), ordinal: Number(row.ordinal) } : undefined;
  }

  /**
   * Moves the user's marker to `target` when it is ahead of the current one; one statement, so two
   * devices marking at once can only move it forward. True when it moved.
   */
  async advance(userId: string, groupId: string, orgId: string, target: MarkerTarget): Promise<boolean> {
    // own_before: one index probe now, so reading the counts later needs none.
    const result = await sql<{ user_id: string }>`
      INSERT INTO read_markers AS r (user_id, group_id, org_id, message_id, seq, ordinal, own_before, read_at)
      VALUES (${userId}, ${groupId}, ${orgId}, ${target.id}, ${target.seq}, ${target.ordinal},
        COALESCE((SELECT m.sender_ordinal FROM messages m
                  WHERE m.group_id = ${groupId} AND m.sender_id = ${userId} AND m.seq <= ${target.seq}
                  ORDER BY m.seq DESC LIMIT 1), 0),
        now())
      ON CONFLICT (user_id, group_id) DO UPDATE
        SET message_id = EXCLUDED.message_id, seq = EXCLUDED.seq, ordinal = EXCLUDED.ordinal,
            own_before = EXCLUDED.own_before, read_at = now()
        WHERE r.seq < EXCLUDED.seq
      RETURNING r.user_id`.execute(this.#db);
    return result.rows.length > 0;
  }

  /**
   * The user's read state in each group, in the order given. Per group: three primary-key reads (the
   * group's and the user's message counters, the marker) and range counts over deletions and mentions
   * after the marker only; nothing proportional to the history. The query is the function
   * chat_read_states (migration 0006_read_states_function), whose plan PostgreSQL keeps per connection:
   * planning it was a quarter of its cost over 200 groups.
   */
  async states(userId: string, groupIds: readonly string[]): Promise<ReadState[]> {
    if (groupIds.length === 0) return [];
    const result = await sql<{
      group_id: string;
      message_id: string | null;
      unread: string | number;
      mentions: string | number;
    }>`SELECT group_id, message_id, unread, mentions
      FROM chat_read_states(${userId}, ${sql.val(groupIds)}::uuid[]) ORDER BY n`.execute(this.#db);
    return result.rows.map((row) => ({
      groupId: row.group_id,
      lastReadMessageId: row.message_id,
      unreadCount: Math.max(0, Number(row.unread)),
      mentionCount: Number(row.mentions),
    }));
  }

  /** The group's markers, most recently moved first. */
  async receipts(groupId: string, orgId: string): Promise<ReceiptRow[]> {
    const rows = await this.#db
      .selectFrom('read_markers')
      .select(['user_id', 'message_id', 'read_at'])
      .where('group_id', '=', groupId)
      .where('org_id', '=', orgId)
      .orderBy('read_at', 'desc')
      .orderBy('user_id')
      .execute();
    return rows.map((row) => ({ userId: row.user_id, messageId: row.message_id, readAt: row.read_at }));
  }
}
