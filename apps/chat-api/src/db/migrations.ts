import { type Kysely, sql } from 'kysely';
import type { Migration } from 'kysely/migration';

/** Ordered by name. Never edit a migration that has shipped: add a new one. */
export const migrations: Record<string, Migration> = {
  '0001_messages': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('group_sequences')
        .addColumn('group_id', 'uuid', (c) => c.primaryKey())
        .addColumn('last_seq', 'bigint', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema
        .createTable('messages')
        .addColumn('id', 'uuid', (c) => c.primaryKey())
        .addColumn('group_id', 'uuid', (c) => c.notNull())
        .addColumn('org_id', 'uuid', (c) => c.notNull())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('sender_id', 'uuid', (c) => c.notNull())
        .addColumn('content', 'text', (c) => c.notNull())
        .addColumn('client_message_id', 'text')
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        // Pagination and catch-up walk this index in both directions.
        .addUniqueConstraint('messages_group_seq_key', ['group_id', 'seq'])
        // The idempotency record lives in the database, not in a cache: a resend after a crash or on
        // another instance still finds the first message. NULLs are distinct, so messages without a
        // client_message_id never collide.
        .addUniqueConstraint('messages_group_sender_client_id_key', [
          'group_id',
          'sender_id',
          'client_message_id',
        ])
        .execute();
    },
  },
  '0002_change_log': {
    // Part 2: threads, edits, deletions, reactions, mentions, and the per-group change log. Messages keep
    // their `seq`, which from now on is the cursor of the event that created them: the group's counter
    // (group_sequences.last_seq) numbers every event of the group, not only new messages.
    async up(db: Kysely<unknown>) {
      await sql`ALTER TABLE messages
        ADD COLUMN thread_root_id uuid NULL,
        ADD COLUMN reply_count integer NOT NULL DEFAULT 0,
        ADD COLUMN last_reply_at timestamptz NULL,
        ADD COLUMN edited_at timestamptz NULL,
        ADD COLUMN deleted_at timestamptz NULL,
        ADD COLUMN mentions uuid[] NOT NULL DEFAULT '{}',
        ADD COLUMN reactions jsonb NOT NULL DEFAULT '[]'`.execute(db);
      // The timeline lists roots only; a thread lists its replies.
      await sql`CREATE INDEX messages_group_roots_idx ON messages (group_id, seq) WHERE thread_root_id IS NULL`.execute(
        db,
      );
      await sql`CREATE INDEX messages_thread_idx ON messages (thread_root_id, seq) WHERE thread_root_id IS NOT NULL`.execute(
        db,
      );
      // Earlier versions of edited messages, until the message is deleted (then erased with it).
      await sql`CREATE TABLE message_versions (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        message_id uuid NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
        content text NOT NULL,
        written_at timestamptz NOT NULL
      )`.execute(db);
      await sql`CREATE INDEX message_versions_message_idx ON message_versions (message_id, id)`.execute(db);
      // The change log: append-only, one row per change, written in the change's own statement or
      // transaction. It names the message only: what a reader gets is the message as it is now, so a
      // deletion erases the content everywhere at once and the log never holds text.
      await sql`CREATE TABLE group_events (
        group_id uuid NOT NULL,
        pos bigint NOT NULL,
        type text NOT NULL CHECK (type IN ('message', 'message_updated')),
        message_id uuid NOT NULL,
        PRIMARY KEY (group_id, pos)
      )`.execute(db);
      // Messages stored before this migration: their creation events, at their own seq.
      await sql`INSERT INTO group_events (group_id, pos, type, message_id)
        SELECT group_id, seq, 'message', id FROM messages`.execute(db);
    },
  },
};
