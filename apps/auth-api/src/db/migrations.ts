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
  '0011_change_feed': {
    /**
     * The change feed resource servers catch up from (chat-api: revocations, ended sessions, removed
     * members, removed users, deleted or rotated clients, keys taken out). Triggers write it in the same
     * transaction as the change itself, whatever code path made it. Each row carries its transaction id
     * (xid8): a reader only takes rows below the oldest transaction still running (pg_snapshot_xmin), so
     * a row can never appear behind a cursor that already passed it: commit order, not insert order.
     */
    async up(db: Kysely<unknown>) {
      await sql`create table change_feed (
        id bigserial primary key,
        xid xid8 not null default pg_current_xact_id(),
        event jsonb not null,
        expires_at timestamptz not null,
        created_at timestamptz not null default now()
      )`.execute(db);
      await sql`create index change_feed_xid_idx on change_feed (xid, id)`.execute(db);
      await sql`create function change_feed_emit(payload jsonb, keep_until timestamptz) returns void
        language plpgsql as $$
        begin
          insert into change_feed (event, expires_at) values (payload, keep_until);
        end $$`.execute(db);
      await sql`create function change_feed_revocation() returns trigger language plpgsql as $$
        begin
          if new.kind = 'token' then
            perform change_feed_emit(jsonb_build_object('type', 'token_revoked', 'jti', new.id,
              'exp', floor(extract(epoch from new.expires_at))), new.expires_at);
          else
            perform change_feed_emit(jsonb_build_object('type', 'session_ended', 'sid', new.id,
              'user_id', new.user_id, 'exp', floor(extract(epoch from new.expires_at))), new.expires_at);
          end if;
          return null;
        end $$`.execute(db);
      await sql`create trigger change_feed_revocations after insert on revocations
        for each row execute function change_feed_revocation()`.execute(db);
      await sql`create function change_feed_member_removed() returns trigger language plpgsql as $$
        begin
          perform change_feed_emit(jsonb_build_object('type', 'member_removed', 'group_id', old.group_id,
            'org_id', coalesce((select org_id from groups where id = old.group_id)::text, ''),
            'user_id', old.user_id, 'at', now()), now() + interval '1 day');
          return null;
        end $$`.execute(db);
      await sql`create trigger change_feed_group_members after delete on group_members
        for each row execute function change_feed_member_removed()`.execute(db);
      await sql`create function change_feed_user_removed() returns trigger language plpgsql as $$
        begin
          perform change_feed_emit(jsonb_build_object('type', 'user_removed', 'user_id', old.id,
            'at', floor(extract(epoch from now()))), now() + interval '1 day');
          return null;
        end $$`.execute(db);
      await sql`create trigger change_feed_users after delete on users
        for each row execute function change_feed_user_removed()`.execute(db);
      await sql`create function change_feed_client_deleted() returns trigger language plpgsql as $$
        begin
          perform change_feed_emit(jsonb_build_object('type', 'client_revoked', 'client_id', old.client_id,
            'at', floor(extract(epoch from now()))), now() + interval '1 day');
          return null;
        end $$`.execute(db);
      await sql`create trigger change_feed_clients after delete on oauth_clients
        for each row execute function change_feed_client_deleted()`.execute(db);
      // A secret retired at once (rotation without grace): every token the client holds is refused.
      await sql`create function change_feed_secret_retired() returns trigger language plpgsql as $$
        begin
          if new.expires_at is not null and new.expires_at <= clock_timestamp() + interval '1 second'
             and (old.expires_at is null or old.expires_at > new.expires_at) then
            perform change_feed_emit(jsonb_build_object('type', 'client_revoked', 'client_id', new.client_id,
              'at', floor(extract(epoch from clock_timestamp()))), now() + interval '1 day');
          end if;
          return null;
        end $$`.execute(db);
      await sql`create trigger change_feed_client_secrets after update of expires_at on oauth_client_secrets
        for each row execute function change_feed_secret_retired()`.execute(db);
      await sql`create function change_feed_key_removed() returns trigger language plpgsql as $$
        begin
          perform change_feed_emit(jsonb_build_object('type', 'key_removed', 'kid', old.kid), now() + interval '1 day');
          return null;
        end $$`.execute(db);
      await sql`create trigger change_feed_signing_keys after delete on signing_keys
        for each row execute function change_feed_key_removed()`.execute(db);
    },
  },
};
