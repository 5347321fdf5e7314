import { type Kysely, sql } from 'kysely';
import type { Migration } from 'kysely/migration';

/** Ordered by name. Never edit a migration that has shipped: add a new one. */
export const migrations: Record<string, Migration> = {
  '0001_identity': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('orgs')
        .addColumn('id', 'uuid', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
      await db.schema
        .createTable('users')
        .addColumn('id', 'uuid', (c) => c.primaryKey())
        .addColumn('org_id', 'uuid', (c) => c.notNull().references('orgs.id').onDelete('cascade'))
        .addColumn('email', 'text', (c) => c.notNull().unique())
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('display_name', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) =>
          c.notNull().check(sql`role in ('owner', 'admin', 'member', 'platform_admin')`),
        )
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
      await db.schema.createIndex('users_org_idx').on('users').column('org_id').execute();
      await db.schema
        .createTable('sessions')
        .addColumn('id', 'uuid', (c) => c.primaryKey())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
        .addColumn('revoked_at', 'timestamptz')
        .execute();
      await db.schema.createIndex('sessions_user_idx').on('sessions').column('user_id').execute();
      await db.schema
        .createTable('groups')
        .addColumn('id', 'uuid', (c) => c.primaryKey())
        .addColumn('org_id', 'uuid', (c) => c.notNull().references('orgs.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('created_by', 'uuid', (c) => c.references('users.id').onDelete('set null'))
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
      await db.schema.createIndex('groups_org_idx').on('groups').columns(['org_id', 'name']).execute();
      await db.schema
        .createTable('group_members')
        .addColumn('group_id', 'uuid', (c) => c.notNull().references('groups.id').onDelete('cascade'))
        .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('role', 'text', (c) => c.notNull().check(sql`role in ('owner', 'admin', 'member')`))
        .addColumn('joined_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addPrimaryKeyConstraint('group_members_pk', ['group_id', 'user_id'])
        .execute();
      await db.schema.createIndex('group_members_user_idx').on('group_members').column('user_id').execute();
    },
  },
  '0002_oauth': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('signing_keys')
        .addColumn('kid', 'text', (c) => c.primaryKey())
        .addColumn('alg', 'text', (c) => c.notNull())
        .addColumn('public_jwk', 'jsonb', (c) => c.notNull())
        .addColumn('private_jwk', 'text', (c) => c.notNull())
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('activates_at', 'timestamptz', (c) => c.notNull())
        .addColumn('retired_at', 'timestamptz')
        .addColumn('expires_at', 'timestamptz')
        .execute();
      await db.schema
        .createTable('oauth_clients')
        .addColumn('client_id', 'text', (c) => c.primaryKey())
        .addColumn('client_name', 'text', (c) => c.notNull())
        .addColumn('client_type', 'text', (c) =>
          c.notNull().check(sql`client_type in ('confidential', 'public')`),
        )
        .addColumn('allowed_scopes', sql`text[]`, (c) => c.notNull())
        .addColumn('grant_types', sql`text[]`, (c) => c.notNull())
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
      await db.schema
        .createTable('oauth_client_secrets')
        .addColumn('id', 'uuid', (c) => c.primaryKey())
        .addColumn('client_id', 'text', (c) =>
          c.notNull().references('oauth_clients.client_id').onDelete('cascade'),
        )
        .addColumn('secret_hash', 'text', (c) => c.notNull())
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('expires_at', 'timestamptz')
        .execute();
      await db.schema
        .createIndex('oauth_client_secrets_client_idx')
        .on('oauth_client_secrets')
        .column('client_id')
        .execute();
      await db.schema
        .createTable('revocations')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('token', 'session')`))
        .addColumn('user_id', 'uuid')
        .addColumn('revoked_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
        .addColumn('seq', 'bigserial', (c) => c.notNull().unique())
        .execute();
    },
  },
  '0003_direct_groups': {
    async up(db: Kysely<unknown>) {
      // A direct conversation is a group of kind 'direct' without a name, keyed by its two users in
      // canonical order (low < high): the unique constraint makes "one per pair, whatever the order"
      // a fact of the database, also under concurrent creation. Ordinary groups carry neither column
      // (NULLs never collide).
      await sql`alter table groups add column kind text not null default 'group'`.execute(db);
      await sql`alter table groups alter column name drop not null`.execute(db);
      await sql`alter table groups add column direct_low uuid references users(id) on delete cascade`.execute(
        db,
      );
      await sql`alter table groups add column direct_high uuid references users(id) on delete cascade`.execute(
        db,
      );
      await sql`alter table groups add constraint groups_kind_check check (
        (kind = 'group' and name is not null and direct_low is null and direct_high is null)
        or (kind = 'direct' and name is null and direct_low is not null and direct_high is not null
            and direct_low < direct_high))`.execute(db);
      await sql`alter table groups add constraint groups_direct_pair_key unique (direct_low, direct_high)`.execute(
        db,
      );
    },
  },
};
