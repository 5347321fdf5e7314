import type { Kysely } from 'kysely';
import { type ChangePage, readChanges } from '../changes/repository.ts';
import type { AuthDB } from '../db/schema.ts';

export interface RevocationRow {
  /** A token's jti, or a session's (or authorization grant's) id. */
  id: string;
  kind: 'token' | 'session';
  userId: string | null;
  /** Past this, no token it kills can still be valid: the row may go. */
  expiresAt: Date;
}

/** The database record of revocations, and the change feed that carries them (with the rest) in commit order. */
export interface RevocationRepository {
  /** Idempotent: revoking twice keeps the first row. */
  record(row: RevocationRow): Promise<void>;
  readChanges(after: string, limit: number): Promise<ChangePage>;
}

export function createRevocationRepository(db: Kysely<AuthDB>): RevocationRepository {
  return {
    async record(row) {
      await db
        .insertInto('revocations')
        .values({ id: row.id, kind: row.kind, user_id: row.userId, expires_at: row.expiresAt })
        .onConflict((oc) => oc.column('id').doNothing())
        .execute();
    },
    readChanges: (after, limit) => readChanges(db, after, limit),
  };
}
