import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabaseTarget, type Database, migrateToLatest, openDatabase } from './db.ts';

interface TestDB {
  counters: { id: string; value: number };
}

describe(`database (${process.env.TEST_DATABASE_URL ? 'postgres' : 'pglite'})`, () => {
  let database: Database<TestDB>;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    const created = await createTestDatabaseTarget('kit');
    drop = created.drop;
    database = await openDatabase<TestDB>(created.target);
    await migrateToLatest(database.db, {
      '0001_counters': {
        up: async (db) => {
          await db.schema
            .createTable('counters')
            .addColumn('id', 'text', (c) => c.primaryKey())
            .addColumn('value', 'bigint', (c) => c.notNull())
            .execute();
        },
      },
    });
  });

  afterAll(async () => {
    await database.close();
    await drop();
  });

  it('runs migrations once and reads int8 as numbers', async () => {
    await database.db.insertInto('counters').values({ id: 'a', value: 1 }).execute();
    const row = await database.db
      .selectFrom('counters')
      .selectAll()
      .where('id', '=', 'a')
      .executeTakeFirstOrThrow();
    expect(row.value).toBe(1);
  });

  it('keeps concurrent transactions from interleaving', async () => {
    await database.db.insertInto('counters').values({ id: 'b', value: 0 }).execute();
    await Promise.all(
      Array.from({ length: 20 }, () =>
        database.db.transaction().execute(async (trx) => {
          const { value } = await trx
            .selectFrom('counters')
            .select('value')
            .where('id', '=', 'b')
            .forUpdate()
            .executeTakeFirstOrThrow();
          await sql`select pg_sleep(0.001)`.execute(trx);
          await trx
            .updateTable('counters')
            .set({ value: value + 1 })
            .where('id', '=', 'b')
            .execute();
        }),
      ),
    );
    const row = await database.db
      .selectFrom('counters')
      .select('value')
      .where('id', '=', 'b')
      .executeTakeFirstOrThrow();
    expect(row.value).toBe(20);
  });

  it('rolls back a failed transaction', async () => {
    await expect(
      database.db.transaction().execute(async (trx) => {
        await trx.insertInto('counters').values({ id: 'c', value: 1 }).execute();
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const row = await database.db.selectFrom('counters').selectAll().where('id', '=', 'c').executeTakeFirst();
    expect(row).toBeUndefined();
  });
});
