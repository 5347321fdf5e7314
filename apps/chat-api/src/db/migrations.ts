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
  '0003_read_state': {
    // Read markers and the counters that make unread counts cheap: a user in 200 groups gets theirs
    // from a handful of index lookups per group, never a count over the group's history.
    //   unread = messages after the marker − own messages after it − others' deleted messages after it
    // where "messages after the marker" is the group's message counter minus the marker's ordinal, "own
    // after it" is the sender's counter minus the sender ordinal of their last message at or before the
    // marker, and deletions (rare) and mentions are counted over small partial indexes, after the marker only.
    async up(db: Kysely<unknown>) {
      // Part 2 columns of the messages (the change log migration adds them; kept here so the read state
      // never depends on the order the two were written in).
      await sql`ALTER TABLE messages ADD COLUMN IF NOT EXISTS deleted_at timestamptz NULL`.execute(db);
      await sql`ALTER TABLE messages ADD COLUMN IF NOT EXISTS mentions uuid[] NOT NULL DEFAULT '{}'`.execute(
        db,
      );
      await sql`ALTER TABLE messages ADD COLUMN ordinal bigint, ADD COLUMN sender_ordinal bigint`.execute(db);
      await sql`CREATE TABLE group_message_counts (
        group_id uuid PRIMARY KEY,
        messages bigint NOT NULL
      )`.execute(db);
      await sql`CREATE TABLE sender_message_counts (
        group_id uuid NOT NULL,
        user_id uuid NOT NULL,
        messages bigint NOT NULL,
        PRIMARY KEY (group_id, user_id)
      )`.execute(db);
      await sql`UPDATE messages m SET ordinal = r.o, sender_ordinal = r.so
        FROM (SELECT id,
                     row_number() OVER (PARTITION BY group_id ORDER BY seq) AS o,
                     row_number() OVER (PARTITION BY group_id, sender_id ORDER BY seq) AS so
              FROM messages) r
        WHERE m.id = r.id`.execute(db);
      await sql`INSERT INTO group_message_counts (group_id, messages)
        SELECT group_id, count(*) FROM messages GROUP BY group_id`.execute(db);
      await sql`INSERT INTO sender_message_counts (group_id, user_id, messages)
        SELECT group_id, sender_id, count(*) FROM messages GROUP BY group_id, sender_id`.execute(db);
      await sql`ALTER TABLE messages ALTER COLUMN ordinal SET NOT NULL, ALTER COLUMN sender_ordinal SET NOT NULL`.execute(
        db,
      );
      await sql`CREATE INDEX messages_group_sender_seq_idx ON messages (group_id, sender_id, seq)`.execute(
        db,
      );
      await sql`CREATE INDEX messages_group_deleted_idx ON messages (group_id, seq) WHERE deleted_at IS NOT NULL`.execute(
        db,
      );
      // Who is mentioned where, by position: "mentions of me after my marker" is a short range scan.
      // Self-mentions and deleted messages are left out.
      await sql`CREATE TABLE message_mentions (
        user_id uuid NOT NULL,
        group_id uuid NOT NULL,
        seq bigint NOT NULL,
        message_id uuid NOT NULL,
        PRIMARY KEY (user_id, group_id, seq)
      )`.execute(db);
      await sql`CREATE INDEX message_mentions_message_idx ON message_mentions (message_id)`.execute(db);
      await sql`INSERT INTO message_mentions (user_id, group_id, seq, message_id)
        SELECT DISTINCT u, m.group_id, m.seq, m.id FROM messages m, unnest(m.mentions) AS u
        WHERE m.deleted_at IS NULL AND u <> m.sender_id`.execute(db);
      // The counters and the mention index are kept by the database, in the transaction of every insert
      // and update of a message, whichever code path writes it.
      await sql`CREATE FUNCTION chat_message_counters() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          INSERT INTO group_message_counts AS c (group_id, messages) VALUES (NEW.group_id, 1)
            ON CONFLICT (group_id) DO UPDATE SET messages = c.messages + 1
            RETURNING c.messages INTO NEW.ordinal;
          INSERT INTO sender_message_counts AS c (group_id, user_id, messages) VALUES (NEW.group_id, NEW.sender_id, 1)
            ON CONFLICT (group_id, user_id) DO UPDATE SET messages = c.messages + 1
            RETURNING c.messages INTO NEW.sender_ordinal;
          RETURN NEW;
        END $$`.execute(db);
      await sql`CREATE TRIGGER messages_counters BEFORE INSERT ON messages
        FOR EACH ROW EXECUTE FUNCTION chat_message_counters()`.execute(db);
      await sql`CREATE FUNCTION chat_message_mentions() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP = 'UPDATE' THEN
            IF NEW.mentions IS NOT DISTINCT FROM OLD.mentions
               AND (NEW.deleted_at IS NULL) = (OLD.deleted_at IS NULL) THEN
              RETURN NULL;
            END IF;
            DELETE FROM message_mentions WHERE message_id = NEW.id;
          END IF;
          IF NEW.deleted_at IS NULL THEN
            INSERT INTO message_mentions (user_id, group_id, seq, message_id)
              SELECT DISTINCT u, NEW.group_id, NEW.seq, NEW.id FROM unnest(NEW.mentions) AS u
              WHERE u <> NEW.sender_id
              ON CONFLICT DO NOTHING;
          END IF;
          RETURN NULL;
        END $$`.execute(db);
      await sql`CREATE TRIGGER messages_mentions AFTER INSERT OR UPDATE ON messages
        FOR EACH ROW EXECUTE FUNCTION chat_message_mentions()`.execute(db);
      await sql`CREATE TABLE read_markers (
        user_id uuid NOT NULL,
        group_id uuid NOT NULL,
        org_id uuid NOT NULL,
        message_id uuid NOT NULL,
        seq bigint NOT NULL,
        ordinal bigint NOT NULL,
        -- How many of the user's own messages are at or before the marker (own unread = total − this).
        own_before bigint NOT NULL,
        read_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (user_id, group_id)
      )`.execute(db);
      await sql`CREATE INDEX read_markers_group_idx ON read_markers (group_id, read_at)`.execute(db);
    },
  },
  '0004_search': {
    // Full-text search with the same SQL on PostgreSQL and PGlite (which ships unaccent). Text is folded
    // (NFKC, accents removed, lower case) and parsed with the language-neutral 'simple' configuration, so
    // any script that separates words with spaces works; Chinese, Japanese and Korean characters are
    // indexed one per token so a query matches them as a phrase of adjacent characters (a substring).
    // The vector is kept by a trigger in the transaction of every insert and edit: an edit is found by
    // its new words only, and a deletion (content erased) leaves nothing to find.
    async up(db: Kysely<unknown>) {
      await sql`CREATE EXTENSION IF NOT EXISTS unaccent`.execute(db);
      await sql`CREATE FUNCTION chat_search_fold(value text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
        AS $$ SELECT lower(unaccent('unaccent'::regdictionary, normalize(value, NFKC))) $$`.execute(db);
      await sql`CREATE FUNCTION chat_search_vector(value text) RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE
        AS $$ SELECT to_tsvector('simple'::regconfig, regexp_replace(chat_search_fold(value),
          '([\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff])', ' \\1 ', 'g')) $$`.execute(
        db,
      );
      await sql`ALTER TABLE messages ADD COLUMN search_vector tsvector`.execute(db);
      await sql`UPDATE messages SET search_vector = chat_search_vector(content)`.execute(db);
      await sql`CREATE FUNCTION chat_message_search() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          NEW.search_vector := chat_search_vector(NEW.content);
          RETURN NEW;
        END $$`.execute(db);
      await sql`CREATE TRIGGER messages_search BEFORE INSERT OR UPDATE OF content ON messages
        FOR EACH ROW EXECUTE FUNCTION chat_message_search()`.execute(db);
      await sql`CREATE INDEX messages_search_idx ON messages USING gin (search_vector)`.execute(db);
      // The org's newest messages first: where search looks before it asks the GIN index.
      await sql`CREATE INDEX messages_org_time_idx ON messages (org_id, created_at DESC, id DESC)`.execute(
        db,
      );
    },
  },
  '0005_search_pending_list': {
    // New index entries wait in GIN's pending list until it holds gin_pending_list_limit (4 MB by
    // default: some 40,000 messages), and every index search reads the whole list, for each of its
    // terms; at 5,000 sends a second it is rarely empty. Flushed at 256 kB, it holds at most a couple of
    // thousand messages, and inserts still go to the tree in batches (where fastupdate = off would
    // insert each lexeme of each message into the tree inside the send).
    async up(db: Kysely<unknown>) {
      await sql`ALTER INDEX messages_search_idx SET (gin_pending_list_limit = 256)`.execute(db);
    },
  },
  '0006_read_states_function': {
    // The unread query of ReadStateRepository.states as a PL/pgSQL function: PL/pgSQL keeps the plan
    // of its query per connection, so a call is not planned again. Measured over 200 groups and
    // 1,000,000 messages: 1.5 ms planned per call, 1.15 ms through the function (planning was a
    // quarter of the query's PostgreSQL time). The SQL itself is unchanged; see the repository.
    async up(db: Kysely<unknown>) {
      await sql`CREATE FUNCTION chat_read_states(p_user uuid, p_groups uuid[])
        RETURNS TABLE (n bigint, group_id uuid, message_id uuid, unread bigint, mentions bigint)
        LANGUAGE plpgsql STABLE AS $$
        BEGIN
          RETURN QUERY
          SELECT g.n, g.group_id, r.message_id,
            COALESCE(c.messages, 0) - COALESCE(r.ordinal, 0)
              - (COALESCE(s.messages, 0) - COALESCE(r.own_before, 0))
              - (SELECT count(*) FROM messages d
                  WHERE d.group_id = g.group_id AND d.deleted_at IS NOT NULL
                    AND d.seq > COALESCE(r.seq, 0) AND d.sender_id <> p_user),
            (SELECT count(*) FROM message_mentions mm
              WHERE mm.user_id = p_user AND mm.group_id = g.group_id AND mm.seq > COALESCE(r.seq, 0))
          FROM unnest(p_groups) WITH ORDINALITY AS g(group_id, n)
          LEFT JOIN read_markers r ON r.user_id = p_user AND r.group_id = g.group_id
          LEFT JOIN group_message_counts c ON c.group_id = g.group_id
          LEFT JOIN sender_message_counts s ON s.group_id = g.group_id AND s.user_id = p_user;
        END $$`.execute(db);
    },
  },
};
