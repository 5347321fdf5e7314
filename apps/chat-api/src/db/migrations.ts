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
};
