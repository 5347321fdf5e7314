import type { Kysely } from 'kysely';
import type { AuditWrite } from '../audit/repository.ts';
import type { AuthDB, TokenEndpointAuthMethod } from '../db/schema.ts';
import { asTx } from '../db/transaction.ts';

export type ClientType = 'confidential' | 'public';
export type { TokenEndpointAuthMethod };

export interface ClientRecord {
  clientId: string;
  clientName: string;
  clientType: ClientType;
  allowedScopes: string[];
  grantTypes: string[];
  redirectUris: string[];
  tokenEndpointAuthMethod: TokenEndpointAuthMethod;
  firstParty: boolean;
  createdAt: Date;
  updatedAt: Date;
}

/** What registration sets (the admin API, the CLI, configuration). */
export type ClientFields = Omit<ClientRecord, 'clientId' | 'createdAt' | 'updatedAt'>;

export interface SecretVersion {
  id: string;
  createdAt: Date;
  expiresAt: Date | null;
}

/** What authentication needs: the client and its secret rows (hashes, with their expiry). */
export interface ClientWithSecrets extends ClientRecord {
  secrets: { id: string; hash: string; expiresAt: Date | null }[];
}

const clientColumns = [
  'c.client_id',
  'c.client_name',
  'c.client_type',
  'c.allowed_scopes',
  'c.grant_types',
  'c.redirect_uris',
  'c.token_endpoint_auth_method',
  'c.first_party',
  'c.created_at',
  'c.updated_at',
] as const;

interface ClientRow {
  client_id: string;
  client_name: string;
  client_type: ClientType;
  allowed_scopes: string[];
  grant_types: string[];
  redirect_uris: string[];
  token_endpoint_auth_method: TokenEndpointAuthMethod;
  first_party: boolean;
  created_at: Date;
  updated_at: Date;
}

function toClient(row: ClientRow): ClientRecord {
  return {
    clientId: row.client_id,
    clientName: row.client_name,
    clientType: row.client_type,
    allowedScopes: [...row.allowed_scopes],
    grantTypes: [...row.grant_types],
    redirectUris: [...row.redirect_uris],
    tokenEndpointAuthMethod: row.token_endpoint_auth_method,
    firstParty: row.first_party,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** The only place that speaks SQL about OAuth clients and their secrets. */
export function createClientRepository(db: Kysely<AuthDB>) {
  return {
    /**
     * The hot path of the token endpoint: one indexed read, the client left-joined with all its secret
     * rows (the caller keeps those valid at its clock: rotation leaves at most a few, and expired ones
     * are purged at boot).
     */
    async findWithSecrets(clientId: string): Promise<ClientWithSecrets | undefined> {
      const rows = await db
        .selectFrom('oauth_clients as c')
        .leftJoin('oauth_client_secrets as s', 's.client_id', 'c.client_id')
        .select([...clientColumns, 's.id as secret_id', 's.secret_hash', 's.expires_at as secret_expires_at'])
        .where('c.client_id', '=', clientId)
        .execute();
      const first = rows[0];
      if (!first) return undefined;
      return {
        ...toClient(first),
        secrets: rows.flatMap((row) =>
          row.secret_id && row.secret_hash
            ? [{ id: row.secret_id, hash: row.secret_hash, expiresAt: row.secret_expires_at ?? null }]
            : [],
        ),
      };
    },

    async find(clientId: string): Promise<ClientRecord | undefined> {
      const row = await db
        .selectFrom('oauth_clients as c')
        .select(clientColumns)
        .where('c.client_id', '=', clientId)
        .executeTakeFirst();
      return row ? toClient(row) : undefined;
    },

    async list(): Promise<ClientRecord[]> {
      const rows = await db
        .selectFrom('oauth_clients as c')
        .select(clientColumns)
        .orderBy('c.created_at')
        .orderBy('c.client_id')
        .execute();
      return rows.map(toClient);
    },

    /** Secret versions (never the hashes) that are still valid at `now`, oldest first. */
    async secretVersions(clientId: string, now: Date): Promise<SecretVersion[]> {
      const rows = await db
        .selectFrom('oauth_client_secrets')
        .select(['id', 'created_at', 'expires_at'])
        .where('client_id', '=', clientId)
        .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      return rows.map((row) => ({ id: row.id, createdAt: row.created_at, expiresAt: row.expires_at }));
    },

    /** Inserts the client and its first secret; throws a unique violation when client_id is taken. */
    async insert(
      client: ClientFields & { clientId: string },
      secret: { id: string; hash: string } | null,
      now: Date,
      audit?: AuditWrite,
    ): Promise<ClientRecord> {
      return db.transaction().execute(async (trx) => {
        const row = await trx
          .insertInto('oauth_clients')
          .values({
            client_id: client.clientId,
            client_name: client.clientName,
            client_type: client.clientType,
            allowed_scopes: client.allowedScopes,
            grant_types: client.grantTypes,
            redirect_uris: client.redirectUris,
            token_endpoint_auth_method: client.tokenEndpointAuthMethod,
            first_party: client.firstParty,
            created_at: now,
            updated_at: now,
          })
          .returning([
            'client_id',
            'client_name',
            'client_type',
            'allowed_scopes',
            'grant_types',
            'redirect_uris',
            'token_endpoint_auth_method',
            'first_party',
            'created_at',
            'updated_at',
          ])
          .executeTakeFirstOrThrow();
        if (secret) {
          await trx
            .insertInto('oauth_client_secrets')
            .values({ id: secret.id, client_id: client.clientId, secret_hash: secret.hash, created_at: now })
            .execute();
        }
        await audit?.(asTx(trx));
        return toClient(row);
      });
    },

    /** Sets every registered field (configuration-declared clients on restart). */
    async update(clientId: string, fields: ClientFields, now: Date): Promise<void> {
      await db
        .updateTable('oauth_clients')
        .set({
          client_name: fields.clientName,
          client_type: fields.clientType,
          allowed_scopes: fields.allowedScopes,
          grant_types: fields.grantTypes,
          redirect_uris: fields.redirectUris,
          token_endpoint_auth_method: fields.tokenEndpointAuthMethod,
          first_party: fields.firstParty,
          updated_at: now,
        })
        .where('client_id', '=', clientId)
        .execute();
    },

    /**
     * Adds a secret and, in the same transaction, makes every other still-valid secret of the client
     * expire at `othersExpireAt` (now for an immediate rotation; never later than an expiry they
     * already had). False when the client does not exist.
     */
    async addSecretAndExpireOthers(
      clientId: string,
      secret: { id: string; hash: string },
      now: Date,
      othersExpireAt: Date,
      audit?: AuditWrite,
    ): Promise<boolean> {
      return db.transaction().execute(async (trx) => {
        const client = await trx
          .selectFrom('oauth_clients')
          .select('client_id')
          .where('client_id', '=', clientId)
          .forUpdate()
          .executeTakeFirst();
        if (!client) return false;
        await trx
          .updateTable('oauth_client_secrets')
          .set({ expires_at: othersExpireAt })
          .where('client_id', '=', clientId)
          .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', othersExpireAt)]))
          .execute();
        await trx
          .insertInto('oauth_client_secrets')
          .values({ id: secret.id, client_id: clientId, secret_hash: secret.hash, created_at: now })
          .execute();
        await trx
          .updateTable('oauth_clients')
          .set({ updated_at: now })
          .where('client_id', '=', clientId)
          .execute();
        await audit?.(asTx(trx));
        return true;
      });
    },

    /** Secrets go with the client (ON DELETE CASCADE). */
    async delete(clientId: string, audit?: AuditWrite): Promise<boolean> {
      return db.transaction().execute(async (trx) => {
        const result = await trx
          .deleteFrom('oauth_clients')
          .where('client_id', '=', clientId)
          .executeTakeFirst();
        const deleted = Number(result.numDeletedRows) > 0;
        if (deleted) await audit?.(asTx(trx));
        return deleted;
      });
    },

    /** Housekeeping: secret rows whose grace period ended. */
    async deleteExpiredSecrets(now: Date): Promise<number> {
      const result = await db
        .deleteFrom('oauth_client_secrets')
        .where('expires_at', '<=', now)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

export type ClientRepository = ReturnType<typeof createClientRepository>;
