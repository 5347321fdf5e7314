import { type Kysely, sql } from 'kysely';
import type { AuthDB } from '../db/schema.ts';

export interface GrantRecord {
  id: string;
  userId: string;
  clientId: string;
  sessionId: string | null;
  scopes: string[];
  authTime: Date;
  createdAt: Date;
  revokedAt: Date | null;
}

export interface CodeRecord {
  grant: GrantRecord;
  clientId: string;
  redirectUri: string;
  codeChallenge: string;
  nonce: string | null;
  expiresAt: Date;
  consumedAt: Date | null;
}

export interface RefreshRecord {
  grant: GrantRecord;
  expiresAt: Date;
  usedAt: Date | null;
  /** The sign-in session the grant came from has ended (logout, password reset). */
  sessionEnded: boolean;
}

export interface ConsentRecord {
  clientId: string;
  clientName: string;
  firstParty: boolean;
  scopes: string[];
  createdAt: Date;
  updatedAt: Date;
}

const grantColumns = [
  'g.id as grant_id',
  'g.user_id',
  'g.client_id as grant_client_id',
  'g.session_id',
  'g.scopes',
  'g.auth_time',
  'g.created_at as grant_created_at',
  'g.revoked_at',
] as const;

function toGrant(row: {
  grant_id: string;
  user_id: string;
  grant_client_id: string;
  session_id: string | null;
  scopes: string[];
  auth_time: Date;
  grant_created_at: Date;
  revoked_at: Date | null;
}): GrantRecord {
  return {
    id: row.grant_id,
    userId: row.user_id,
    clientId: row.grant_client_id,
    sessionId: row.session_id,
    scopes: [...row.scopes],
    authTime: row.auth_time,
    createdAt: row.grant_created_at,
    revokedAt: row.revoked_at,
  };
}

/**
 * The only place that speaks SQL about consents, grants, authorization codes and refresh tokens.
 * Codes and refresh tokens are looked up by the SHA-256 of their value; the values are never stored.
 */
export function createGrantRepository(db: Kysely<AuthDB>) {
  return {
    async findConsent(userId: string, clientId: string): Promise<string[] | undefined> {
      const row = await db
        .selectFrom('oauth_consents')
        .select('scopes')
        .where('user_id', '=', userId)
        .where('client_id', '=', clientId)
        .executeTakeFirst();
      return row ? [...row.scopes] : undefined;
    },

    /** Remembers the scopes, added to what the user agreed to before. */
    async addConsent(userId: string, clientId: string, scopes: string[], now: Date): Promise<void> {
      await db
        .insertInto('oauth_consents')
        .values({ user_id: userId, client_id: clientId, scopes, created_at: now, updated_at: now })
        .onConflict((oc) =>
          oc.columns(['user_id', 'client_id']).doUpdateSet({
            scopes: sql<string[]>`array(select distinct unnest(oauth_consents.scopes || excluded.scopes))`,
            updated_at: now,
          }),
        )
        .execute();
    },

    async listConsents(userId: string): Promise<ConsentRecord[]> {
      const rows = await db
        .selectFrom('oauth_consents as k')
        .innerJoin('oauth_clients as c', 'c.client_id', 'k.client_id')
        .select(['k.client_id', 'c.client_name', 'c.first_party', 'k.scopes', 'k.created_at', 'k.updated_at'])
        .where('k.user_id', '=', userId)
        .orderBy('k.created_at')
        .orderBy('k.client_id')
        .execute();
      return rows.map((row) => ({
        clientId: row.client_id,
        clientName: row.client_name,
        firstParty: row.first_party,
        scopes: [...row.scopes],
        createdAt: row.created_at,
        updatedAt: row.updated_at,
      }));
    },

    async deleteConsent(userId: string, clientId: string): Promise<boolean> {
      const result = await db
        .deleteFrom('oauth_consents')
        .where('user_id', '=', userId)
        .where('client_id', '=', clientId)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },

    /** A new grant and its authorization code, together or not at all. */
    async insertGrantWithCode(
      grant: Omit<GrantRecord, 'revokedAt'>,
      code: {
        hash: string;
        redirectUri: string;
        codeChallenge: string;
        nonce: string | null;
        expiresAt: Date;
      },
    ): Promise<void> {
      await db.transaction().execute(async (trx) => {
        await trx
          .insertInto('oauth_grants')
          .values({
            id: grant.id,
            user_id: grant.userId,
            client_id: grant.clientId,
            session_id: grant.sessionId,
            scopes: grant.scopes,
            auth_time: grant.authTime,
            created_at: grant.createdAt,
          })
          .execute();
        await trx
          .insertInto('oauth_authorization_codes')
          .values({
            code_hash: code.hash,
            grant_id: grant.id,
            client_id: grant.clientId,
            redirect_uri: code.redirectUri,
            code_challenge: code.codeChallenge,
            nonce: code.nonce,
            expires_at: code.expiresAt,
          })
          .execute();
      });
    },

    async findCode(hash: string): Promise<CodeRecord | undefined> {
      const row = await db
        .selectFrom('oauth_authorization_codes as a')
        .innerJoin('oauth_grants as g', 'g.id', 'a.grant_id')
        .select([
          ...grantColumns,
          'a.client_id',
          'a.redirect_uri',
          'a.code_challenge',
          'a.nonce',
          'a.expires_at',
          'a.consumed_at',
        ])
        .where('a.code_hash', '=', hash)
        .executeTakeFirst();
      if (!row) return undefined;
      return {
        grant: toGrant(row),
        clientId: row.client_id,
        redirectUri: row.redirect_uri,
        codeChallenge: row.code_challenge,
        nonce: row.nonce,
        expiresAt: row.expires_at,
        consumedAt: row.consumed_at,
      };
    },

    /** Marks the code used; false when it already was (a concurrent or later second use). */
    async consumeCode(hash: string, now: Date): Promise<boolean> {
      const result = await db
        .updateTable('oauth_authorization_codes')
        .set({ consumed_at: now })
        .where('code_hash', '=', hash)
        .where('consumed_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    async insertRefreshToken(token: {
      hash: string;
      grantId: string;
      now: Date;
      expiresAt: Date;
    }): Promise<void> {
      await db
        .insertInto('oauth_refresh_tokens')
        .values({
          token_hash: token.hash,
          grant_id: token.grantId,
          created_at: token.now,
          expires_at: token.expiresAt,
        })
        .execute();
    },

    async findRefreshToken(hash: string): Promise<RefreshRecord | undefined> {
      const row = await db
        .selectFrom('oauth_refresh_tokens as r')
        .innerJoin('oauth_grants as g', 'g.id', 'r.grant_id')
        .leftJoin('sessions as s', 's.id', 'g.session_id')
        .select([...grantColumns, 'r.expires_at', 'r.used_at', 's.revoked_at as session_revoked_at'])
        .where('r.token_hash', '=', hash)
        .executeTakeFirst();
      if (!row) return undefined;
      return {
        grant: toGrant(row),
        expiresAt: row.expires_at,
        usedAt: row.used_at,
        sessionEnded: row.session_revoked_at !== null && row.session_revoked_at !== undefined,
      };
    },

    /**
     * Rotation: marks the old token used and stores its successor in one transaction; false (and
     * nothing stored) when the old one was used already, by a concurrent request or before.
     */
    async rotateRefreshToken(
      oldHash: string,
      next: { hash: string; grantId: string; now: Date; expiresAt: Date },
    ): Promise<boolean> {
      return db.transaction().execute(async (trx) => {
        const result = await trx
          .updateTable('oauth_refresh_tokens')
          .set({ used_at: next.now })
          .where('token_hash', '=', oldHash)
          .where('used_at', 'is', null)
          .executeTakeFirst();
        if (Number(result.numUpdatedRows) === 0) return false;
        await trx
          .insertInto('oauth_refresh_tokens')
          .values({
            token_hash: next.hash,
            grant_id: next.grantId,
            created_at: next.now,
            expires_at: next.expiresAt,
          })
          .execute();
        return true;
      });
    },

    /** Revokes grants (and deletes their refresh tokens and unused codes); returns the ones it revoked. */
    async revokeGrants(
      where: { grantId?: string; sessionId?: string; userId?: string; clientId?: string },
      now: Date,
    ): Promise<{ id: string; userId: string }[]> {
      return db.transaction().execute(async (trx) => {
        let query = trx.updateTable('oauth_grants').set({ revoked_at: now }).where('revoked_at', 'is', null);
        if (where.grantId !== undefined) query = query.where('id', '=', where.grantId);
        if (where.sessionId !== undefined) query = query.where('session_id', '=', where.sessionId);
        if (where.userId !== undefined) query = query.where('user_id', '=', where.userId);
        if (where.clientId !== undefined) query = query.where('client_id', '=', where.clientId);
        const rows = await query.returning(['id', 'user_id']).execute();
        const ids = rows.map((row) => row.id);
        if (ids.length > 0) {
          await trx.deleteFrom('oauth_refresh_tokens').where('grant_id', 'in', ids).execute();
          await trx.deleteFrom('oauth_authorization_codes').where('grant_id', 'in', ids).execute();
        }
        return rows.map((row) => ({ id: row.id, userId: row.user_id }));
      });
    },

    /** Housekeeping: codes and refresh tokens past their expiry, and grants left without either. */
    async deleteExpired(now: Date): Promise<void> {
      await db.deleteFrom('oauth_authorization_codes').where('expires_at', '<', now).execute();
      await db.deleteFrom('oauth_refresh_tokens').where('expires_at', '<', now).execute();
    },
  };
}

export type GrantRepository = ReturnType<typeof createGrantRepository>;
