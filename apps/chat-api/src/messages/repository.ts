import { type Kysely, sql, type Transaction, type Updateable } from 'kysely';
import type { ChatDB, MessagesTable, StoredReaction } from '../db/schema.ts';
import type { MessageRow } from './schema.ts';

export interface NewMessage {
  id: string;
  groupId: string;
  orgId: string;
  senderId: string;
  content: string;
  clientMessageId: string | null;
  /** A reply to this root (checked here, under the root's row lock). */
  threadRootId?: string | null;
  /** Already filtered to members. */
  mentions?: readonly string[];
}

/** One change-log entry as committed: its cursor and the message as it was right after the change. */
export interface StoredEvent {
  type: 'message' | 'message_updated';
  cursor: number;
  row: MessageRow;
}

export type InsertResult =
  | { ok: true; row: MessageRow; created: boolean; events: StoredEvent[] }
  | { ok: false; reason: 'invalid_thread_root' };

/** What a change does to a locked message; null: nothing (no write, no event). */
export interface Change {
  set: Updateable<MessagesTable>;
  /** Keep the current content as an earlier version (an edit). */
  saveVersion?: boolean;
  /** Erase every earlier version (a deletion). */
  eraseVersions?: boolean;
  /** Change the root's reply_count by this much (a reply deleted: -1). */
  rootReplyDelta?: number;
}

export interface EventRow {
  type: 'message' | 'message_updated';
  cursor: number;
  row: MessageRow;
}

const IDEMPOTENCY_CONSTRAINT = 'messages_group_sender_client_id_key';

/** Thrown inside a transaction to roll it back. */
class Rollback extends Error {
  readonly result: InsertResult;
  constructor(result: InsertResult) {
    super('rollback');
    this.result = result;
  }
}

/** A uuid[] literal of validated UUIDs (passed as one text parameter: the same on pg and PGlite). */
export function uuidArray(ids: readonly string[]): string {
  return `{${ids.join(',')}}`;
}

/** All SQL about messages and the change log. Every read is scoped by group and organization. */
export class MessageRepository {
  readonly #db: Kysely<ChatDB>;

  constructor(db: Kysely<ChatDB>) {
    this.#db = db;
  }

  /**
   * Stores a message at the next position of its group and logs its `message` event, or returns the
   * one already stored under the same (group, sender, client_message_id).
   *
   * A root message is ONE statement (no transaction round trips): the idempotency lookup, the
   * counter upsert, the insert and the change-log row are one CTE. The counter's row lock is held
   * until the statement commits, so cursors are handed out in commit order (a reader that sees N+1
   * committed can rely on N being committed). A twin that committed while we waited for the lock
   * makes our insert fail on the unique key: the statement rolls back whole (counter included, so
   * no gap) and the twin is returned.
   */
  async insert(message: NewMessage): Promise<InsertResult> {
    try {
      if (message.threadRootId) return await this.#insertReply(message, message.threadRootId);
      const result = await sql<MessageRow & { created: boolean }>`
        WITH existing AS (
          SELECT * FROM messages
          WHERE group_id = ${message.groupId}::uuid AND sender_id = ${message.senderId}::uuid
            AND client_message_id = ${message.clientMessageId}::text
        ), s AS (
          INSERT INTO group_sequences AS gs (group_id, last_seq)
          SELECT ${message.groupId}::uuid, 1 WHERE NOT EXISTS (SELECT 1 FROM existing)
          ON CONFLICT (group_id) DO UPDATE SET last_seq = gs.last_seq + 1
          RETURNING last_seq
        ), m AS (
          INSERT INTO messages (id, group_id, org_id, seq, sender_id, content, client_message_id, mentions)
          SELECT ${message.id}::uuid, ${message.groupId}::uuid, ${message.orgId}::uuid, s.last_seq,
            ${message.senderId}::uuid, ${message.content}::text, ${message.clientMessageId}::text,
            ${uuidArray(message.mentions ?? [])}::uuid[]
          FROM s
          RETURNING *
        ), e AS (
          INSERT INTO group_events (group_id, pos, type, message_id)
          SELECT ${message.groupId}::uuid, s.last_seq, 'message', ${message.id}::uuid FROM s
        )
        SELECT m.*, true AS created FROM m
        UNION ALL
        SELECT existing.*, false AS created FROM existing`.execute(this.#db);
      const first = result.rows[0];
      if (!first) throw new Error('insert returned no row');
      const { created, ...row } = first;
      return { ok: true, row, created, events: [{ type: 'message', cursor: Number(row.seq), row }] };
    } catch (error) {
      if (error instanceof Rollback) return error.result;
      if (message.clientMessageId !== null && isUniqueViolation(error, IDEMPOTENCY_CONSTRAINT)) {
        const existing = await this.#findByClientId(this.#db, message);
        if (existing) return alreadyStored(existing);
      }
      throw error;
    }
  }

  /**
   * A reply: the root's reply_count goes up in the same transaction, and both changes are logged
   * (the reply's `message` event, then the root's `message_updated`). Lock order everywhere: message
   * rows (a reply before its root) before the group's counter, so no two changes deadlock.
   */
  async #insertReply(message: NewMessage, rootId: string): Promise<InsertResult> {
    if (message.clientMessageId !== null) {
      const existing = await this.#findByClientId(this.#db, message);
      if (existing) return alreadyStored(existing);
    }
    return this.#db.transaction().execute(async (trx) => {
      const root = await trx
        .updateTable('messages')
        .set({ reply_count: sql`reply_count + 1`, last_reply_at: sql`now()` })
        .where('id', '=', rootId)
        .where('group_id', '=', message.groupId)
        .where('org_id', '=', message.orgId)
        .where('thread_root_id', 'is', null)
        .where('deleted_at', 'is', null)
        .returningAll()
        .executeTakeFirst();
      if (!root) throw new Rollback({ ok: false, reason: 'invalid_thread_root' });
      const inserted = await sql<MessageRow>`
        WITH s AS (
          UPDATE group_sequences SET last_seq = last_seq + 2 WHERE group_id = ${message.groupId}::uuid
          RETURNING last_seq
        ), m AS (
          INSERT INTO messages (id, group_id, org_id, seq, sender_id, content, client_message_id, mentions,
            thread_root_id)
          SELECT ${message.id}::uuid, ${message.groupId}::uuid, ${message.orgId}::uuid, s.last_seq - 1,
            ${message.senderId}::uuid, ${message.content}::text, ${message.clientMessageId}::text,
            ${uuidArray(message.mentions ?? [])}::uuid[], ${rootId}::uuid
          FROM s
          RETURNING *
        ), e AS (
          INSERT INTO group_events (group_id, pos, type, message_id)
          SELECT ${message.groupId}::uuid, s.last_seq - 1, 'message', ${message.id}::uuid FROM s
          UNION ALL
          SELECT ${message.groupId}::uuid, s.last_seq, 'message_updated', ${rootId}::uuid FROM s
        )
        SELECT * FROM m`.execute(trx);
      const row = inserted.rows[0];
      if (!row) throw new Error('reply insert returned no row');
      return {
        ok: true as const,
        row,
        created: true,
        events: [
          { type: 'message' as const, cursor: Number(row.seq), row },
          { type: 'message_updated' as const, cursor: Number(row.seq) + 1, row: root },
        ],
      };
    });
  }

  /**
   * Changes one message under its row lock: `decide` sees the current row and returns the change, or
   * null for none (an idempotent repeat: no write, no event); it may throw to refuse. Every change is
   * logged as a `message_updated` event in the same transaction.
   */
  async change(
    groupId: string,
    orgId: string,
    id: string,
    decide: (row: MessageRow) => Change | null,
  ): Promise<{ row: MessageRow | undefined; events: StoredEvent[] }> {
    return this.#db.transaction().execute(async (trx) => {
      const row = await trx
        .selectFrom('messages')
        .selectAll()
        .where('id', '=', id)
        .where('group_id', '=', groupId)
        .where('org_id', '=', orgId)
        .forUpdate()
        .executeTakeFirst();
      if (!row) return { row: undefined, events: [] };
      const change = decide(row);
      if (!change) return { row, events: [] };
      const rootId = change.rootReplyDelta && row.thread_root_id ? row.thread_root_id : null;
      if (rootId) {
        await trx.selectFrom('messages').select('id').where('id', '=', rootId).forUpdate().execute();
      }
      if (change.saveVersion) {
        await trx
          .insertInto('message_versions')
          .values({ message_id: id, content: row.content, written_at: row.edited_at ?? row.created_at })
          .execute();
      }
      if (change.eraseVersions)
        await trx.deleteFrom('message_versions').where('message_id', '=', id).execute();
      const updated = await trx
        .updateTable('messages')
        .set(change.set)
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow();
      const events: StoredEvent[] = [
        { type: 'message_updated', cursor: await this.#logUpdate(trx, groupId, id), row: updated },
      ];
      if (rootId) {
        const root = await trx
          .updateTable('messages')
          .set({ reply_count: sql`greatest(reply_count + ${change.rootReplyDelta ?? 0}::int, 0)` })
          .where('id', '=', rootId)
          .returningAll()
          .executeTakeFirstOrThrow();
        events.push({
          type: 'message_updated',
          cursor: await this.#logUpdate(trx, groupId, rootId),
          row: root,
        });
      }
      return { row: updated, events };
    });
  }

  /** Next cursor of the group and its `message_updated` row, in one statement. */
  async #logUpdate(trx: Transaction<ChatDB>, groupId: string, messageId: string): Promise<number> {
    const result = await sql<{ pos: string | number }>`
      WITH s AS (
        UPDATE group_sequences SET last_seq = last_seq + 1 WHERE group_id = ${groupId}::uuid RETURNING last_seq
      )
      INSERT INTO group_events (group_id, pos, type, message_id)
      SELECT ${groupId}::uuid, s.last_seq, 'message_updated', ${messageId}::uuid FROM s
      RETURNING pos`.execute(trx);
    const pos = result.rows[0]?.pos;
    if (pos === undefined) throw new Error('no sequence row for the group');
    return Number(pos);
  }

  async find(groupId: string, orgId: string, id: string): Promise<MessageRow | undefined> {
    return this.#db
      .selectFrom('messages')
      .selectAll()
      .where('id', '=', id)
      .where('group_id', '=', groupId)
      .where('org_id', '=', orgId)
      .executeTakeFirst();
  }

  /** Earlier versions of a message, oldest first (none once it is deleted). */
  async versions(messageId: string): Promise<{ content: string; written_at: Date }[]> {
    const rows = await this.#db
      .selectFrom('message_versions')
      .select(['content', 'written_at'])
      .where('message_id', '=', messageId)
      .orderBy('id', 'asc')
      .execute();
    return rows.map((r) => ({ content: r.content, written_at: new Date(r.written_at) }));
  }

  /** The position of message `id` in the group, or undefined when it is not one of the group's. */
  async seqOf(groupId: string, orgId: string, id: string): Promise<number | undefined> {
    const row = await this.#db
      .selectFrom('messages')
      .select(['seq'])
      .where('id', '=', id)
      .where('group_id', '=', groupId)
      .where('org_id', '=', orgId)
      .executeTakeFirst();
    return row ? Number(row.seq) : undefined;
  }

  /** The timeline (root messages, tombstones included), newest first, optionally before `beforeSeq`. */
  async listNewest(
    groupId: string,
    orgId: string,
    beforeSeq: number | null,
    limit: number,
  ): Promise<MessageRow[]> {
    let query = this.#db
      .selectFrom('messages')
      .selectAll()
      .where('group_id', '=', groupId)
      .where('org_id', '=', orgId)
      .where('thread_root_id', 'is', null);
    if (beforeSeq !== null) query = query.where('seq', '<', beforeSeq);
    return query.orderBy('seq', 'desc').limit(limit).execute();
  }

  /** The timeline, oldest first, strictly after position `afterSeq`. */
  async listAfter(groupId: string, orgId: string, afterSeq: number, limit: number): Promise<MessageRow[]> {
    return this.#db
      .selectFrom('messages')
      .selectAll()
      .where('group_id', '=', groupId)
      .where('org_id', '=', orgId)
      .where('thread_root_id', 'is', null)
      .where('seq', '>', afterSeq)
      .orderBy('seq', 'asc')
      .limit(limit)
      .execute();
  }

  /** A thread's replies, oldest first, after position `afterSeq`. */
  async listReplies(
    groupId: string,
    orgId: string,
    rootId: string,
    afterSeq: number,
    limit: number,
  ): Promise<MessageRow[]> {
    return this.#db
      .selectFrom('messages')
      .selectAll()
      .where('thread_root_id', '=', rootId)
      .where('group_id', '=', groupId)
      .where('org_id', '=', orgId)
      .where('seq', '>', afterSeq)
      .orderBy('seq', 'asc')
      .limit(limit)
      .execute();
  }

  /** The change log after `afterCursor`, oldest first, each with the message as it is now. */
  async listEvents(groupId: string, orgId: string, afterCursor: number, limit: number): Promise<EventRow[]> {
    const rows = await this.#db
      .selectFrom('group_events as e')
      .innerJoin('messages as m', 'm.id', 'e.message_id')
      .selectAll('m')
      .select(['e.pos as event_pos', 'e.type as event_type'])
      .where('e.group_id', '=', groupId)
      .where('m.org_id', '=', orgId)
      .where('e.pos', '>', afterCursor)
      .orderBy('e.pos', 'asc')
      .limit(limit)
      .execute();
    return rows.map(({ event_pos, event_type, ...row }) => ({
      type: event_type,
      cursor: Number(event_pos),
      row,
    }));
  }

  /** The group's newest cursor (0 before its first event). */
  async headCursor(groupId: string): Promise<number> {
    const row = await this.#db
      .selectFrom('group_sequences')
      .select('last_seq')
      .where('group_id', '=', groupId)
      .executeTakeFirst();
    return row ? Number(row.last_seq) : 0;
  }

  #findByClientId(
    db: Kysely<ChatDB> | Transaction<ChatDB>,
    message: NewMessage,
  ): Promise<MessageRow | undefined> {
    return db
      .selectFrom('messages')
      .selectAll()
      .where('group_id', '=', message.groupId)
      .where('sender_id', '=', message.senderId)
      .where('client_message_id', '=', message.clientMessageId)
      .executeTakeFirst();
  }
}

/** The reactions after `userId` adds or removes `emoji`; null when nothing changes. */
export function withReaction(
  reactions: readonly StoredReaction[],
  emoji: string,
  userId: string,
  add: boolean,
): StoredReaction[] | null {
  const index = reactions.findIndex((r) => r.emoji === emoji);
  const current = index >= 0 ? reactions[index]! : null;
  if (add) {
    if (current?.user_ids.includes(userId)) return null;
    if (!current) return [...reactions, { emoji, user_ids: [userId] }];
    return reactions.map((r, i) => (i === index ? { emoji, user_ids: [...r.user_ids, userId] } : r));
  }
  if (!current?.user_ids.includes(userId)) return null;
  const rest = current.user_ids.filter((u) => u !== userId);
  return rest.length === 0
    ? reactions.filter((_, i) => i !== index)
    : reactions.map((r, i) => (i === index ? { emoji, user_ids: rest } : r));
}

/** An idempotent resend: the first message, re-announced at its own creation cursor. */
function alreadyStored(row: MessageRow): InsertResult {
  return { ok: true, row, created: false, events: [{ type: 'message', cursor: Number(row.seq), row }] };
}

function isUniqueViolation(error: unknown, constraint: string): boolean {
  const { code, constraint: name } = (error ?? {}) as { code?: unknown; constraint?: unknown };
  return code === '23505' && (name === undefined || name === constraint);
}
