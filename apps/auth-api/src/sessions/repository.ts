import type { Kysely } from 'kysely';
import type { AuditWrite } from '../audit/repository.ts';
import type { AuthDB } from '../db/schema.ts';
import { asTx } from '../db/transaction.ts';

export interface SessionRecord {
  id: string;
  userId: string;
  expiresAt: Date;
  /** When the user signed in: the OpenID Connect `auth_time`. */
  createdAt: Date;
}

function toSession(row: { id: string; user_id: string; expires_at: Date; created_at: Date }): SessionRecord {
  return { id: row.id, userId: row.user_id, expiresAt: row.expires_at, createdAt: row.created_at };
}

export function createSessionRepository(db: Kysely<AuthDB>) {
  return {
    /** With `audit`, the audit event commits with the session or neither does. */
    async insert(
      session: { id: string; tokenHash: string; userId: string; expiresAt: Date; createdAt: Date },
      audit?: AuditWrite,
    ): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await trx
          .insertInto('sessions')
          .values({
            id: session.id,
            token_hash: session.tokenHash,
            user_id: session.userId,
            expires_at: session.expiresAt,
            created_at: session.createdAt,
          })
          .execute();
        await audit?.(asTx(trx));
      });
    },

    /** A session that is neither expired nor revoked, found by the hash of its cookie value. */
    async findActiveByTokenHash(tokenHash: string, now: Date): Promise<SessionRecord | undefined> {
      const row = await db
        .selectFrom('sessions')
        .select(['id', 'user_id', 'expires_at', 'created_at'])
        .where('token_hash', '=', tokenHash)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', now)
        .executeTakeFirst();
      return row ? toSession(row) : undefined;
    },

    async findActiveById(id: string, now: Date): Promise<SessionRecord | undefined> {
      const row = await db
        .selectFrom('sessions')
        .select(['id', 'user_id', 'expires_at', 'created_at'])
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', now)
        .executeTakeFirst();
      return row ? toSession(row) : undefined;
    },

    /** Revokes every live session of the user (but `exceptId`); returns the ids it ended. */
    async revokeAllForUser(userId: string, now: Date, exceptId?: string): Promise<string[]> {
      let query = db
        .updateTable('sessions')
        .set({ revoked_at: now })
        .where('user_id', '=', userId)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', now);
      if (exceptId !== undefined) query = query.where('id', '!=', exceptId);
      const rows = await query.returning('id').execute();
      return rows.map((row) => row.id);
    },

    /** With `audit`, the audit event commits with the revocation (and only when it revoked). */
    async revoke(id: string, now: Date, audit?: AuditWrite): Promise<boolean> {
      return db.transaction().execute(async (trx) => {
        const result = await trx
          .updateTable('sessions')
          .set({ revoked_at: now })
          .where('id', '=', id)
          .where('revoked_at', 'is', null)
          .executeTakeFirst();
        const revoked = Number(result.numUpdatedRows) > 0;
        if (revoked) await audit?.(asTx(trx));
        return revoked;
      });
    },
  };
}

export type SessionRepository = ReturnType<typeof createSessionRepository>;
