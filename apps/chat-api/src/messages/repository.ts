import { isStatementRefused, isUniqueViolation } from '@groupchat/service-kit';
import { type Kysely, sql, type Transaction, type Updateable } from 'kysely';
import type { ChatDB, MessagesTable, StoredReaction } from '../db/schema.ts';
import { GroupCommitter } from './group-commit.ts';
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

export interface GroupCommitSettings {
  /** Messages per statement at most. */
  maxBatch?: number;
  /** Batches committed at once (each holds a connection; PGlite has one). */
  maxInFlight?: number;
  /** Told the size of every batch statement sent (metrics). */
  onBatch?: (size: number) => void;
}

export interface MessageRepositoryOptions {
  /** New root messages by group commit (the default), or `false`: one statement per message. */
  groupCommit?: GroupCommitSettings | false;
}

/** The columns a message is read with (not the search vector or the read-state ordinals). */
const MESSAGE_COLUMN_NAMES = [
  'id',
  'group_id',
  'org_id',
  'seq',
  'sender_id',
  'content',
  'client_message_id',
  'created_at',
  'thread_root_id',
  'reply_count',
  'last_reply_at',
  'edited_at',
  'deleted_at',
  'mentions',
  'reactions',
] as const satisfies readonly (keyof MessagesTable)[];
const MESSAGE_COLUMNS = sql.raw(MESSAGE_COLUMN_NAMES.join(', '));

/** All SQL about messages and the change log. Every read is scoped by group and organization. */
export class MessageRepository {
  readonly #db: Kysely<ChatDB>;
  readonly #committer: GroupCommitter<NewMessage, InsertResult> | null;
  /**
   * Root messages with a client_message_id on their way to the database, by idempotency key: a twin
   * that arrives meanwhile (a retry racing its original, possibly into the same batch) waits for the
   * first one's commit and answers with its message instead of being written, or announced, again.
   */
  readonly #inFlightKeys = new Map<string, Promise<InsertResult>>();

  constructor(db: Kysely<ChatDB>, options: MessageRepositoryOptions = {}) {
    this.#db = db;
    const settings = options.groupCommit ?? {};
    this.#committer =
      settings === false
        ? null
        : new GroupCommitter<NewMessage, InsertResult>({
            maxBatch: settings.maxBatch ?? 256,
            maxInFlight: settings.maxInFlight ?? 1,
            writeBatch: (messages) => this.#insertRoots(messages),
            writeOne: (message) => this.#insertRoot(message),
            retryAlone: isStatementRefused,
            ...(settings.onBatch ? { onBatch: settings.onBatch } : {}),
          });
  }

  /**
   * Stores a message at the next position of its group and logs its `message` event, or returns the
   * one already stored under the same (group, sender, client_message_id).
   *
   * A root message is ONE statement (no transaction round trips): the counter upsert, the insert
   * and the change-log row are one CTE. The counter's row lock is held until the statement commits,
   * so cursors are handed out in commit order (a reader that sees N+1 committed can rely on N being
   * committed). The idempotency check is the unique key itself, not a lookup first (without
   * statistics, and PGlite never gathers any, the planner serves such a lookup from the
   * (group, sender, seq) index and reads every earlier message of the sender in the group): a resend,
   * or a twin that committed while we waited for the lock, makes the insert fail on the key, the
   * statement rolls back whole (counter included, so no gap) and the stored twin is returned.
   *
   * With group commit, the root messages that arrive together share one statement (`#insertRoots`)
   * and each call resolves after that statement's commit.
   */
  async insert(message: NewMessage): Promise<InsertResult> {
    if (message.threadRootId) return this.#insertReply(message, message.threadRootId);
    if (!this.#committer) return this.#insertRoot(message);
    if (message.clientMessageId === null) return this.#committer.submit(message);
    const key = `${message.groupId} ${message.senderId} ${message.clientMessageId}`;
    const earlier = this.#inFlightKeys.get(key);
    if (earlier) {
      const first = await earlier.catch(() => null);
      // Already announced by the first one, right after the same commit: no event again.
      if (first?.ok) return { ok: true, row: first.row, created: false, events: [] };
      // The first one failed: this one is a retry in its own right.
    }
    const mine = this.#committer.submit(message);
    this.#inFlightKeys.set(key, mine);
    try {
      return await mine;
    } finally {
      if (this.#inFlightKeys.get(key) === mine) this.#inFlightKeys.delete(key);
    }
  }

  /** One root message in its own statement. */
  async #insertRoot(message: NewMessage): Promise<InsertResult> {
    try {
      const result = await sql<MessageRow>`
        WITH s AS (
          INSERT INTO group_sequences AS gs (group_id, last_seq) VALUES (${message.groupId}::uuid, 1)
          ON CONFLICT (group_id) DO UPDATE SET last_seq = gs.last_seq + 1
          RETURNING last_seq
        ), m AS (
          INSERT INTO messages (id, group_id, org_id, seq, sender_id, content, client_message_id, mentions)
          SELECT ${message.id}::uuid, ${message.groupId}::uuid, ${message.orgId}::uuid, s.last_seq,
            ${message.senderId}::uuid, ${message.content}::text, ${message.clientMessageId}::text,
            ${uuidArray(message.mentions ?? [])}::uuid[]
          FROM s
          RETURNING ${MESSAGE_COLUMNS}
        ), e AS (
          INSERT INTO group_events (group_id, pos, type, message_id)
          SELECT ${message.groupId}::uuid, s.last_seq, 'message', ${message.id}::uuid FROM s
        )
        SELECT * FROM m`.execute(this.#db);
      const row = result.rows[0];
      if (!row) throw new Error('insert returned no row');
      return created(row);
    } catch (error) {
      return this.#storedTwin(message, error);
    }
  }

  /** After a unique-key failure on the idempotency key: the twin that was stored first; else rethrows. */
  async #storedTwin(message: NewMessage, error: unknown): Promise<InsertResult> {
    if (message.clientMessageId !== null && isUniqueViolation(error, IDEMPOTENCY_CONSTRAINT)) {
      const existing = await this.#findByClientId(this.#db, message);
      if (existing) return alreadyStored(existing);
    }
    throw error;
  }

  /**
   * Root messages, all in ONE statement: one transaction, one WAL flush, however many messages and
   * groups. They take positions in batch order, per group: one counter upsert per group raises it by
   * the group's count at once (its row locked until commit, so positions still follow commit order
   * and have no gaps), taken in group order so two batches never deadlock. Messages and their
   * change-log rows are inserted in position order (the read-state trigger counts them in that
   * order). The batch holds no two messages with one idempotency key (`insert` keeps twins out); a
   * message whose key is already stored (a resend) fails the statement on the unique key, it is rolled
   * back whole, and the batch is retried message by message (`#insertRoot` answers the resend).
   */
  async #insertRoots(messages: NewMessage[]): Promise<InsertResult[]> {
    if (messages.length === 1) return [await this.#insertRoot(messages[0]!)];
    const column = <T>(pick: (m: NewMessage) => T) => messages.map(pick);
    const result = await sql<MessageRow>`
      WITH input AS (
        SELECT t.*, row_number() OVER (PARTITION BY t.group_id ORDER BY t.i) AS k,
          count(*) OVER (PARTITION BY t.group_id) AS n
        FROM unnest(${column((m) => m.id)}::uuid[], ${column((m) => m.groupId)}::uuid[],
          ${column((m) => m.orgId)}::uuid[], ${column((m) => m.senderId)}::uuid[],
          ${column((m) => m.content)}::text[], ${column((m) => m.clientMessageId)}::text[],
          ${column((m) => uuidArray(m.mentions ?? []))}::text[])
          WITH ORDINALITY AS t(id, group_id, org_id, sender_id, content, client_message_id, mentions, i)
      ), s AS (
        INSERT INTO group_sequences AS gs (group_id, last_seq)
        SELECT group_id, count(*) FROM input GROUP BY group_id ORDER BY group_id
        ON CONFLICT (group_id) DO UPDATE SET last_seq = gs.last_seq + EXCLUDED.last_seq
        RETURNING group_id, last_seq
      ), numbered AS (
        SELECT input.*, s.last_seq - input.n + input.k AS seq FROM input JOIN s USING (group_id)
      ), m AS (
        INSERT INTO messages (id, group_id, org_id, seq, sender_id, content, client_message_id, mentions)
        SELECT id, group_id, org_id, seq, sender_id, content, client_message_id, mentions::uuid[]
        FROM numbered ORDER BY group_id, seq
        RETURNING ${MESSAGE_COLUMNS}
      ), e AS (
        INSERT INTO group_events (group_id, pos, type, message_id)
        SELECT group_id, seq, 'message', id FROM numbered ORDER BY group_id, seq
      )
      SELECT * FROM m`.execute(this.#db);
    const byId = new Map(result.rows.map((row) => [row.id, row]));
    return messages.map((m) => {
      const row = byId.get(m.id);
      if (!row) throw new Error(`batch insert returned no row for message ${m.id}`);
      return created(row);
    });
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
    try {
      return await this.#storeReply(message, rootId);
    } catch (error) {
      if (error instanceof Rollback) return error.result;
      return this.#storedTwin(message, error);
    }
  }

  #storeReply(message: NewMessage, rootId: string): Promise<InsertResult> {
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

/** A message just stored, with its `message` event. */
function created(row: MessageRow): InsertResult {
  return { ok: true, row, created: true, events: [{ type: 'message', cursor: Number(row.seq), row }] };
}

/** An idempotent resend: the first message, re-announced at its own creation cursor. */
function alreadyStored(row: MessageRow): InsertResult {
  return { ok: true, row, created: false, events: [{ type: 'message', cursor: Number(row.seq), row }] };
}
