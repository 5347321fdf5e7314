import { type Kysely, sql } from 'kysely';
import type { Migration } from 'kysely/migration';
import { CHANGE_FEED_LOCK } from '../changes/lock.ts';

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
  '0003_accounts': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable('users')
        .addColumn('email_verified', 'boolean', (c) => c.notNull().defaultTo(false))
        .execute();
      await db.schema
        .alterTable('users')
        .addColumn('mfa_enabled', 'boolean', (c) => c.notNull().defaultTo(false))
        .execute();
      // Mails to send, written in the transaction of the change that causes them. The rendered mail is
      // sealed (it carries a token) and erased once sent.
      await db.schema
        .createTable('mail_outbox')
        .addColumn('id', 'uuid', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('to_address', 'text', (c) => c.notNull())
        .addColumn('sealed_message', 'text', (c) => c.notNull())
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('next_attempt_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('claimed_by', 'text')
        .addColumn('claimed_until', 'timestamptz')
        .addColumn('sent_at', 'timestamptz')
        .addColumn('failed_at', 'timestamptz')
        .addColumn('last_error', 'text')
        .execute();
      await sql`create index mail_outbox_due_idx on mail_outbox (next_attempt_at) where sent_at is null and failed_at is null`.execute(
        db,
      );
      await db.schema
        .createTable('account_tokens')
        .addColumn('id', 'uuid', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('email_verify', 'password_reset')`))
        .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
        .addColumn('used_at', 'timestamptz')
        .execute();
      await db.schema.createIndex('account_tokens_user_idx').on('account_tokens').column('user_id').execute();
      await db.schema
        .createTable('invitations')
        .addColumn('id', 'uuid', (c) => c.primaryKey())
        .addColumn('org_id', 'uuid', (c) => c.notNull().references('orgs.id').onDelete('cascade'))
        .addColumn('email', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull().check(sql`role in ('admin', 'member')`))
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('invited_by', 'uuid', (c) => c.references('users.id').onDelete('set null'))
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
        .addColumn('accepted_at', 'timestamptz')
        .addColumn('revoked_at', 'timestamptz')
        .execute();
      await db.schema
        .createIndex('invitations_org_idx')
        .on('invitations')
        .columns(['org_id', 'created_at'])
        .execute();
      await db.schema
        .createTable('totp_credentials')
        .addColumn('user_id', 'uuid', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
        .addColumn('sealed_secret', 'text', (c) => c.notNull())
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('enabled_at', 'timestamptz')
        // The last time step a code was accepted for: a code (and any older one) is good once.
        .addColumn('last_used_step', 'bigint')
        .execute();
      await db.schema
        .createTable('recovery_codes')
        .addColumn('id', 'uuid', (c) => c.primaryKey())
        .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('code_hash', 'text', (c) => c.notNull())
        .addColumn('used_at', 'timestamptz')
        .execute();
      await db.schema
        .createIndex('recovery_codes_user_idx')
        .on('recovery_codes')
        .columns(['user_id', 'code_hash'])
        .execute();
      await db.schema
        .createTable('mfa_challenges')
        .addColumn('id', 'uuid', (c) => c.primaryKey())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
        .addColumn('failed_attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('used_at', 'timestamptz')
        .execute();
      await db.schema
        .createTable('audit_events')
        .addColumn('id', 'uuid', (c) => c.primaryKey())
        .addColumn('seq', 'bigserial', (c) => c.notNull().unique())
        .addColumn('org_id', 'uuid')
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('actor_type', 'text', (c) => c.notNull())
        .addColumn('actor_id', 'text')
        .addColumn('target_type', 'text', (c) => c.notNull())
        .addColumn('target_id', 'text')
        .addColumn('ip', 'text')
        .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
      await db.schema
        .createIndex('audit_events_org_idx')
        .on('audit_events')
        .columns(['org_id', 'seq'])
        .execute();
      // Append-only, enforced by the database: no UPDATE or DELETE, whoever asks.
      await sql`create function audit_events_append_only() returns trigger language plpgsql as $$
        begin raise exception 'audit_events is append-only'; end $$`.execute(db);
      await sql`create trigger audit_events_no_change before update or delete on audit_events
        for each row execute function audit_events_append_only()`.execute(db);
    },
  },
  '0004_direct_groups': {
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
  '0005_oauth_authorization_code': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable('oauth_clients')
        .addColumn('redirect_uris', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'::text[]`))
        .execute();
      await db.schema
        .alterTable('oauth_clients')
        .addColumn('token_endpoint_auth_method', 'text', (c) =>
          c
            .notNull()
            .defaultTo('client_secret_basic')
            .check(sql`token_endpoint_auth_method in ('none', 'client_secret_basic', 'client_secret_post')`),
        )
        .execute();
      await db.schema
        .alterTable('oauth_clients')
        .addColumn('first_party', 'boolean', (c) => c.notNull().defaultTo(false))
        .execute();
      // What a user agreed an app may do; remembered until the user revokes it (or either side goes).
      await db.schema
        .createTable('oauth_consents')
        .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('client_id', 'text', (c) =>
          c.notNull().references('oauth_clients.client_id').onDelete('cascade'),
        )
        .addColumn('scopes', sql`text[]`, (c) => c.notNull())
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addPrimaryKeyConstraint('oauth_consents_pk', ['user_id', 'client_id'])
        .execute();
      // One grant per completed authorization: the family of its code, refresh tokens and access tokens
      // (their `sid`). Revoking the grant ends all of them at once.
      await db.schema
        .createTable('oauth_grants')
        .addColumn('id', 'uuid', (c) => c.primaryKey())
        .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('client_id', 'text', (c) =>
          c.notNull().references('oauth_clients.client_id').onDelete('cascade'),
        )
        .addColumn('session_id', 'uuid', (c) => c.references('sessions.id').onDelete('cascade'))
        .addColumn('scopes', sql`text[]`, (c) => c.notNull())
        .addColumn('auth_time', 'timestamptz', (c) => c.notNull())
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('revoked_at', 'timestamptz')
        .execute();
      await db.schema
        .createIndex('oauth_grants_user_idx')
        .on('oauth_grants')
        .columns(['user_id', 'client_id'])
        .execute();
      await db.schema
        .createIndex('oauth_grants_session_idx')
        .on('oauth_grants')
        .column('session_id')
        .execute();
      await db.schema
        .createTable('oauth_authorization_codes')
        .addColumn('code_hash', 'text', (c) => c.primaryKey())
        .addColumn('grant_id', 'uuid', (c) => c.notNull().references('oauth_grants.id').onDelete('cascade'))
        .addColumn('client_id', 'text', (c) => c.notNull())
        .addColumn('redirect_uri', 'text', (c) => c.notNull())
        .addColumn('code_challenge', 'text', (c) => c.notNull())
        .addColumn('nonce', 'text')
        .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
        .addColumn('consumed_at', 'timestamptz')
        .execute();
      await db.schema
        .createTable('oauth_refresh_tokens')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('grant_id', 'uuid', (c) => c.notNull().references('oauth_grants.id').onDelete('cascade'))
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
        .addColumn('used_at', 'timestamptz')
        .execute();
      await db.schema
        .createIndex('oauth_refresh_tokens_grant_idx')
        .on('oauth_refresh_tokens')
        .column('grant_id')
        .execute();
    },
  },
  '0006_change_feed': {
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
  '0007_change_feed_writer_lock': {
    /**
     * Commit order without the cluster-wide horizon: 0006 read only below the oldest transaction still
     * running on the whole server (pg_snapshot_xmin), so any long transaction, in any database, held every
     * change back (past the contract's 5 s). Now each transaction that writes the feed holds a shared
     * advisory lock until it ends, and a reader takes the same lock exclusively for its read: no feed
     * writer is in flight then, so every row below the highest id it sees has committed (or rolled back)
     * and the feed can be read in id order. Only feed writers can hold a read back, never other work.
     */
    async up(db: Kysely<unknown>) {
      await sql`create or replace function change_feed_emit(payload jsonb, keep_until timestamptz) returns void
        language plpgsql as $$
        begin
          perform pg_advisory_xact_lock_shared(${sql.lit(CHANGE_FEED_LOCK)});
          insert into change_feed (event, expires_at) values (payload, keep_until);
        end $$`.execute(db);
    },
  },
};
