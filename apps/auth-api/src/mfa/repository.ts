import { uuidv7 } from '@groupchat/service-kit';
import { type Kysely, sql } from 'kysely';
import type { AuthDB } from '../db/schema.ts';
import { executorOf, type Tx } from '../db/transaction.ts';

export interface TotpCredential {
  sealedSecret: string;
  enabled: boolean;
  lastUsedStep: number | null;
}

export interface MfaChallenge {
  id: string;
  userId: string;
  failedAttempts: number;
}

/** After this many wrong codes a sign-in attempt (mfa_token) is dead. */
export const MAX_FAILED_CODES = 5;

export function createMfaRepository(db: Kysely<AuthDB>) {
  return {
    async find(userId: string): Promise<TotpCredential | undefined> {
      const row = await db
        .selectFrom('totp_credentials')
        .select(['sealed_secret', 'enabled_at', 'last_used_step'])
        .where('user_id', '=', userId)
        .executeTakeFirst();
      if (!row) return undefined;
      return {
        sealedSecret: row.sealed_secret,
        enabled: row.enabled_at !== null,
        lastUsedStep: row.last_used_step === null ? null : Number(row.last_used_step),
      };
    },

    /** A new pending secret (replacing an earlier pending one); false when TOTP is already enabled. */
    async savePending(userId: string, sealedSecret: string): Promise<boolean> {
      const row = await db
        .insertInto('totp_credentials')
        .values({ user_id: userId, sealed_secret: sealedSecret })
        .onConflict((oc) =>
          oc
            .column('user_id')
            .doUpdateSet({ sealed_secret: sealedSecret, created_at: new Date(), last_used_step: null })
            .where('totp_credentials.enabled_at', 'is', null),
        )
        .returning('user_id')
        .executeTakeFirst();
      return row !== undefined;
    },

    /** Activates the pending secret; the enabling code's step counts as used. */
    async enable(tx: Tx | null, userId: string, step: number, codeHashes: string[]): Promise<boolean> {
      const executor = executorOf(db, tx);
      const row = await executor
        .updateTable('totp_credentials')
        .set({ enabled_at: new Date(), last_used_step: step })
        .where('user_id', '=', userId)
        .where('enabled_at', 'is', null)
        .returning('user_id')
        .executeTakeFirst();
      if (!row) return false;
      await executor.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
      await executor
        .insertInto('recovery_codes')
        .values(codeHashes.map((hash) => ({ id: uuidv7(), user_id: userId, code_hash: hash })))
        .execute();
      return true;
    },

    async remove(tx: Tx | null, userId: string): Promise<void> {
      const executor = executorOf(db, tx);
      await executor.deleteFrom('totp_credentials').where('user_id', '=', userId).execute();
      await executor.deleteFrom('recovery_codes').where('user_id', '=', userId).execute();
    },

    /** Marks `step` used; false when it (or a later step) was used already: each code is good once. */
    async useStep(userId: string, step: number): Promise<boolean> {
      const row = await db
        .updateTable('totp_credentials')
        .set({ last_used_step: step })
        .where('user_id', '=', userId)
        .where('enabled_at', 'is not', null)
        .where((eb) => eb.or([eb('last_used_step', 'is', null), eb('last_used_step', '<', step)]))
        .returning('user_id')
        .executeTakeFirst();
      return row !== undefined;
    },

    async useRecoveryCode(userId: string, codeHash: string): Promise<boolean> {
      const row = await db
        .updateTable('recovery_codes')
        .set({ used_at: new Date() })
        .where('user_id', '=', userId)
        .where('code_hash', '=', codeHash)
        .where('used_at', 'is', null)
        .returning('id')
        .executeTakeFirst();
      return row !== undefined;
    },

    async createChallenge(userId: string, tokenHash: string, expiresAt: Date): Promise<void> {
      await db
        .insertInto('mfa_challenges')
        .values({ id: uuidv7(), user_id: userId, token_hash: tokenHash, expires_at: expiresAt })
        .execute();
    },

    async findLiveChallenge(tokenHash: string, now: Date): Promise<MfaChallenge | undefined> {
      const row = await db
        .selectFrom('mfa_challenges')
        .select(['id', 'user_id', 'failed_attempts'])
        .where('token_hash', '=', tokenHash)
        .where('used_at', 'is', null)
        .where('expires_at', '>', now)
        .where('failed_attempts', '<', MAX_FAILED_CODES)
        .executeTakeFirst();
      return row ? { id: row.id, userId: row.user_id, failedAttempts: row.failed_attempts } : undefined;
    },

    /** Counts a wrong code; returns the attempts so far. */
    async failChallenge(id: string): Promise<number> {
      const row = await db
        .updateTable('mfa_challenges')
        .set({ failed_attempts: sql`failed_attempts + 1` })
        .where('id', '=', id)
        .returning('failed_attempts')
        .executeTakeFirst();
      return row?.failed_attempts ?? MAX_FAILED_CODES;
    },

    /** Single use: false when another request completed (or killed) it first. */
    async consumeChallenge(id: string): Promise<boolean> {
      const row = await db
        .updateTable('mfa_challenges')
        .set({ used_at: new Date() })
        .where('id', '=', id)
        .where('used_at', 'is', null)
        .where('failed_attempts', '<', MAX_FAILED_CODES)
        .returning('id')
        .executeTakeFirst();
      return row !== undefined;
    },
  };
}

export type MfaRepository = ReturnType<typeof createMfaRepository>;
