import { type Kysely, sql } from 'kysely';
import type { AuthDB } from '../db/schema.ts';

export interface ChangePage {
  changes: { event: Record<string, unknown>; cursor: string }[];
  next_cursor: string;
}

const CURSOR = /^(\d{1,20}):(\d{1,20})$/;

/** `xid:id`: everything at or before it in (transaction id, row id) order has been read. */
export function parseCursor(cursor: string | undefined): { xid: string; id: string } | null {
  if (cursor === undefined || cursor === '') return { xid: '0', id: '0' };
  const match = CURSOR.exec(cursor);
  return match ? { xid: match[1]!, id: match[2]! } : null;
}

/**
 * Reads the change feed in commit order. First the oldest transaction still running (xmin of a fresh
 * snapshot); then the rows of transactions below it, which are all finished, so no row can later appear
 * behind the returned cursor. A bigserial alone cannot promise that: ids are taken at insert, and a
 * transaction holding id 7 may commit after another one has committed id 8 and a reader has moved past it.
 */
export async function readChanges(
  db: Kysely<AuthDB>,
  after: { xid: string; id: string },
  limit: number,
): Promise<ChangePage> {
  const horizon = await sql<{
    xmin: string;
  }>`select pg_snapshot_xmin(pg_current_snapshot())::text as xmin`.execute(db);
  const xmin = horizon.rows[0]!.xmin;
  const rows = await sql<{ id: string; xid: string; event: unknown }>`
    select id::text as id, xid::text as xid, event from change_feed
    where (xid, id) > (${after.xid}::xid8, ${after.id}::bigint)
      and xid < ${xmin}::xid8
      and expires_at > now()
    order by xid, id
    limit ${limit}`.execute(db);
  const changes = rows.rows.map((row) => ({
    event: (typeof row.event === 'string' ? JSON.parse(row.event) : row.event) as Record<string, unknown>,
    cursor: `${row.xid}:${row.id}`,
  }));
  const last = changes.at(-1);
  // A full page: continue right after its last row. Otherwise everything below xmin has been read.
  const next = changes.length === limit && last ? last.cursor : maxCursor(`${xmin}:0`, after);
  return { changes, next_cursor: next };
}

function maxCursor(candidate: string, after: { xid: string; id: string }): string {
  const [cx, cid] = candidate.split(':').map(BigInt) as [bigint, bigint];
  const ax = BigInt(after.xid);
  const aid = BigInt(after.id);
  return cx > ax || (cx === ax && cid >= aid) ? candidate : `${after.xid}:${after.id}`;
}
