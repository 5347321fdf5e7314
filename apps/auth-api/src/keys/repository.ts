import type { Kysely } from 'kysely';
import type { AuditWrite } from '../audit/repository.ts';
import type { AuthDB } from '../db/schema.ts';
import { asTx } from '../db/transaction.ts';

export interface StoredKey {
  kid: string;
  alg: string;
  publicJwk: Record<string, unknown>;
  privateJwk: string;
  activatesAt: Date;
  retiredAt: Date | null;
  expiresAt: Date | null;
}

export function createSigningKeyRepository(db: Kysely<AuthDB>) {
  return {
    /** Every key still published: not yet past its expiry. */
    async listPublished(now: Date): Promise<StoredKey[]> {
      const rows = await db
        .selectFrom('signing_keys')
        .selectAll()
        .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
        .orderBy('activates_at', 'asc')
        .execute();
      return rows.map((row) => ({
        kid: row.kid,
        alg: row.alg,
        publicJwk: typeof row.public_jwk === 'string' ? JSON.parse(row.public_jwk) : row.public_jwk,
        privateJwk: row.private_jwk,
        activatesAt: row.activates_at,
        retiredAt: row.retired_at,
        expiresAt: row.expires_at,
      }));
    },

    /**
     * Adds a key and, in the same transaction, schedules the retirement of the keys it replaces: they
     * stop signing when it activates and leave JWKS once their last token has expired.
     */
    async insertAndSupersede(
      key: StoredKey,
      retireOthersAt: Date,
      othersExpireAt: Date,
      audit?: AuditWrite,
    ): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await audit?.(asTx(trx));
        await trx
          .updateTable('signing_keys')
          .set({ retired_at: retireOthersAt, expires_at: othersExpireAt })
          .where('retired_at', 'is', null)
          .execute();
        await trx
          .insertInto('signing_keys')
          .values({
            kid: key.kid,
            alg: key.alg,
            public_jwk: JSON.stringify(key.publicJwk),
            private_jwk: key.privateJwk,
            activates_at: key.activatesAt,
          })
          .execute();
      });
    },

    async replacePrivate(kid: string, privateJwk: string): Promise<void> {
      await db.updateTable('signing_keys').set({ private_jwk: privateJwk }).where('kid', '=', kid).execute();
    },

    async deleteKey(kid: string): Promise<void> {
      await db.deleteFrom('signing_keys').where('kid', '=', kid).execute();
    },

    async deleteExpired(now: Date): Promise<number> {
      const result = await db.deleteFrom('signing_keys').where('expires_at', '<=', now).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

export type SigningKeyRepository = ReturnType<typeof createSigningKeyRepository>;
