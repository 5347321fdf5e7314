/**
 * Bulk chat history for the read-state and search benchmarks, generated inside PostgreSQL with
 * generate_series (never posted one by one): `perGroup` messages in each group, senders taking turns,
 * content drawn from a fixed vocabulary (so a query's selectivity is known), every `mentionEvery`-th
 * message of another sender mentioning the reader, and the reader's marker `unreadPerGroup` messages
 * before the end of each group. The rows are what the message endpoints would have stored: the triggers
 * that keep counters, mentions and search vectors are switched off for the load and their results
 * written set-based instead, then switched back on.
 */
import pg from 'pg';

export const VOCABULARY = [
  'deployment',
  'release',
  'meeting',
  'review',
  'incident',
  'database',
  'migration',
  'frontend',
  'backend',
  'customer',
  'invoice',
  'roadmap',
  'sprint',
  'standup',
  'lunch',
  'coffee',
  'weekend',
  'holiday',
  'budget',
  'design',
  'prototype',
  'feedback',
  'question',
  'answer',
  'update',
  'status',
  'metrics',
  'dashboard',
  'latency',
  'throughput',
  'rollback',
  'hotfix',
  'pipeline',
  'staging',
  'production',
  'monitoring',
  'alerting',
  'oncall',
  'ticket',
  'backlog',
] as const;

/** Occurs in one message of every `RARE_EVERY`: a selective query. */
export const RARE_WORD = 'kubernetes';
export const RARE_EVERY = 10_000;

export interface ChatDataInput {
  databaseUrl: string;
  orgId: string;
  groupIds: readonly string[];
  /** Senders, taking turns; the reader is usually one of them. */
  senderIds: readonly string[];
  readerId: string;
  perGroup: number;
  mentionEvery: number;
  unreadPerGroup: number;
}

export async function generateChatData(input: ChatDataInput): Promise<{ messages: number; seconds: number }> {
  const client = new pg.Client({ connectionString: input.databaseUrl });
  await client.connect();
  const started = performance.now();
  try {
    await client.query('BEGIN');
    await client.query('ALTER TABLE messages DISABLE TRIGGER USER');
    const senders = input.senderIds.length;
    // ids: UUIDv7 laid out by hand (48-bit ms, version 7, 12 bits, variant, 62 bits), 1 ms apart: time-ordered.
    await client.query(
      `INSERT INTO messages (id, group_id, org_id, seq, sender_id, content, created_at, mentions,
                             ordinal, sender_ordinal, search_vector)
       SELECT (lpad(to_hex(base_ms + n), 12, '0') || '7' || lpad(to_hex(n % 4096), 3, '0') || '8'
               || lpad(to_hex(n), 15, '0'))::uuid,
              g.id, $1::uuid, k, s.id, t.content, to_timestamp((base_ms + n) / 1000.0),
              CASE WHEN s.id <> $4::uuid AND k % $5 = 1 THEN ARRAY[$4::uuid] ELSE '{}'::uuid[] END,
              k, (k - 1) / $6 + 1, chat_search_vector(t.content)
       FROM (SELECT id, ord FROM unnest($2::uuid[]) WITH ORDINALITY AS g(id, ord)) g
       CROSS JOIN generate_series(1, $3::int) AS k
       CROSS JOIN LATERAL (SELECT ((g.ord - 1) * $3 + k)::bigint AS n,
                                  (extract(epoch FROM now()) * 1000)::bigint - 86400000 AS base_ms) nn(n, base_ms)
       CROSS JOIN LATERAL (SELECT ($7::uuid[])[((k - 1) % $6) + 1] AS id) s
       CROSS JOIN LATERAL (SELECT concat_ws(' ',
           ($8::text[])[1 + (n * 7 % 40)], ($8::text[])[1 + (n * 13 % 40)], 'message', n::text,
           CASE WHEN n % $9 = 0 THEN '${RARE_WORD}' END) AS content) t`,
      [
        input.orgId,
        input.groupIds,
        input.perGroup,
        input.readerId,
        input.mentionEvery,
        senders,
        input.senderIds,
        VOCABULARY,
        RARE_EVERY,
      ],
    );
    await client.query(
      `INSERT INTO group_message_counts (group_id, messages)
       SELECT group_id, count(*) FROM messages WHERE group_id = ANY($1::uuid[]) GROUP BY group_id
       ON CONFLICT (group_id) DO UPDATE SET messages = EXCLUDED.messages`,
      [input.groupIds],
    );
    await client.query(
      `INSERT INTO sender_message_counts (group_id, user_id, messages)
       SELECT group_id, sender_id, count(*) FROM messages WHERE group_id = ANY($1::uuid[]) GROUP BY 1, 2
       ON CONFLICT (group_id, user_id) DO UPDATE SET messages = EXCLUDED.messages`,
      [input.groupIds],
    );
    await client.query(
      `INSERT INTO group_sequences (group_id, last_seq)
       SELECT group_id, max(seq) FROM messages WHERE group_id = ANY($1::uuid[]) GROUP BY group_id
       ON CONFLICT (group_id) DO UPDATE SET last_seq = EXCLUDED.last_seq`,
      [input.groupIds],
    );
    // The change log (when this schema has one): each message's creation event at its own seq.
    const log = await client.query(`SELECT to_regclass('group_events') IS NOT NULL AS present`);
    if (log.rows[0]?.present)
      await client.query(
        `INSERT INTO group_events (group_id, pos, type, message_id)
         SELECT group_id, seq, 'message', id FROM messages WHERE group_id = ANY($1::uuid[])
         ON CONFLICT DO NOTHING`,
        [input.groupIds],
      );
    await client.query(
      `INSERT INTO message_mentions (user_id, group_id, seq, message_id)
       SELECT $2::uuid, group_id, seq, id FROM messages
       WHERE group_id = ANY($1::uuid[]) AND mentions @> ARRAY[$2::uuid]
       ON CONFLICT DO NOTHING`,
      [input.groupIds, input.readerId],
    );
    await client.query(
      `INSERT INTO read_markers (user_id, group_id, org_id, message_id, seq, ordinal, own_before)
       SELECT $2::uuid, m.group_id, m.org_id, m.id, m.seq, m.ordinal,
              COALESCE((SELECT o.sender_ordinal FROM messages o
                        WHERE o.group_id = m.group_id AND o.sender_id = $2::uuid AND o.seq <= m.seq
                        ORDER BY o.seq DESC LIMIT 1), 0)
       FROM messages m
       WHERE m.group_id = ANY($1::uuid[]) AND m.ordinal = $3
       ON CONFLICT (user_id, group_id) DO UPDATE
         SET message_id = EXCLUDED.message_id, seq = EXCLUDED.seq, ordinal = EXCLUDED.ordinal,
             own_before = EXCLUDED.own_before`,
      [input.groupIds, input.readerId, input.perGroup - input.unreadPerGroup],
    );
    await client.query('ALTER TABLE messages ENABLE TRIGGER USER');
    await client.query('COMMIT');
    await client.query('ANALYZE');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    await client.end();
  }
  return { messages: input.groupIds.length * input.perGroup, seconds: (performance.now() - started) / 1000 };
}
