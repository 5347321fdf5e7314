import type { Kysely } from 'kysely';
import type { AuthDB } from '../db/schema.ts';
import { executorOf, type Tx } from '../db/transaction.ts';

export interface OrgRecord {
  id: string;
  name: string;
  createdAt: Date;
}

function toOrg(row: { id: string; name: string; created_at: Date }): OrgRecord {
  return { id: row.id, name: row.name, createdAt: row.created_at };
}

export function createOrgRepository(db: Kysely<AuthDB>) {
  return {
    async findById(id: string): Promise<OrgRecord | undefined> {
      const row = await db
        .selectFrom('orgs')
        .select(['id', 'name', 'created_at'])
        .where('id', '=', id)
        .executeTakeFirst();
      return row ? toOrg(row) : undefined;
    },

    /** `executor`: a transaction when the org is created together with its first user. */
    async insert(org: { id: string; name: string }, tx?: Tx): Promise<OrgRecord> {
      const executor = executorOf(db, tx);
      const row = await executor
        .insertInto('orgs')
        .values({ id: org.id, name: org.name })
        .returning(['id', 'name', 'created_at'])
        .executeTakeFirstOrThrow();
      return toOrg(row);
    },
  };
}

export type OrgRepository = ReturnType<typeof createOrgRepository>;
