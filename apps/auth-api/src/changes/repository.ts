import { type Kysely, sql } from 'kysely';
import type { AuthDB } from '../db/schema.ts';
import { CHANGE_FEED_LOCK } from './lock.ts';

export interface ChangePage {
  changes: { event: Record<string, unknown>; cursor: string }[];
  next_cursor: string;
}

const CURSOR = /^\d{1,20}$/;
/** A cursor of the feed before 0007 (`xid:id`): its row id still says how far it had read. */
const XID_CURSOR = /^\d{1,20}:(\d{1,20})$/;

/** The id of the last row read (everything at or before it has been read); absent: from the start. */
export function parseCursor(cursor: string | undefined): string | null {
  if (cursor === undefined || cursor === '') return '0';
  if (CURSOR.test(cursor)) return cursor;
  return XID_CURSOR.exec(cursor)?.[1] ?? null;
}

/** How long a read waits for feed writers still in flight before it answers "nothing new yet". */
const WRITER_WAIT = '250ms';

/**
 * Reads the feed in commit order. Every transaction that writes it holds the feed lock shared until it
 * ends; this read takes it exclusively (at once if it can, else waiting a moment), so no writer is in
 * flight while it reads: every row it sees has committed and no row can later appear below them. A
 * bigserial alone cannot promise that: ids are taken at insert, and a transaction holding id 7 may
 * commit after another one has committed id 8 and a reader has moved past it. When writers keep the
 * lock for longer than the wait, the page is empty and the cursor stays: the next poll reads it.
 */
export async function readChanges(db: Kysely<AuthDB>, after: string, limit: number): Promise<ChangePage> {
  try {
    return await db.transaction().execute(async (trx) => {
      const free = await sql<{
        ok: boolean;
      }>`select pg_try_advisory_xact_lock(${CHANGE_FEED_LOCK}) as ok`.execute(trx);
      if (!free.rows[0]?.ok) {
        await sql`select set_config('lock_timeout', ${WRITER_WAIT}, true)`.execute(trx);
        await sql`select pg_advisory_xact_lock(${CHANGE_FEED_LOCK})`.execute(trx);
      }
      const rows = await sql<{ id: string; event: unknown }>`
        select id::text as id, event from change_feed
        where id > ${after}::bigint and expires_at > now()
        order by id
        limit ${limit}`.execute(trx);
      const changes = rows.rows.map((row) => ({
        event: (typeof row.event === 'string' ? JSON.parse(row.event) : row.event) as Record<string, unknown>,
        cursor: row.id,
      }));
      return { changes, next_cursor: changes.at(-1)?.cursor ?? after };
    });
  } catch (error) {
    // lock_not_available (55P03): writers are still at it; nothing is lost by answering later.
    if ((error as { code?: unknown })?.code === '55P03') return { changes: [], next_cursor: after };
    throw error;
  }
}
