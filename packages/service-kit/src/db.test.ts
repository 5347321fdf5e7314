import { createTestDatabaseTarget } from '@groupchat/testkit';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, migrateToLatest, openDatabase } from './db.ts';

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

  it('nests transactions with savepoints: an inner rollback keeps the outer work', async () => {
    const trx = await database.db.startTransaction().execute();
    try {
      await trx.insertInto('counters').values({ id: 'outer', value: 1 }).execute();
      const inner = await trx.savepoint('inner').execute();
      await inner.insertInto('counters').values({ id: 'inner', value: 2 }).execute();
      await inner.rollbackToSavepoint('inner').execute();
      const kept = await trx.savepoint('kept').execute();
      await kept.insertInto('counters').values({ id: 'kept', value: 3 }).execute();
      await kept.releaseSavepoint('kept').execute();
      await trx.commit().execute();
    } catch (error) {
      await trx.rollback().execute();
      throw error;
    }
    const ids = await database.db
      .selectFrom('counters')
      .select('id')
      .where('id', 'in', ['outer', 'inner', 'kept'])
      .orderBy('id')
      .execute();
    expect(ids.map((row) => row.id)).toEqual(['kept', 'outer']);
  });

  it('a failed statement inside a savepoint does not doom the transaction', async () => {
    const trx = await database.db.startTransaction().execute();
    await trx.insertInto('counters').values({ id: 'before', value: 1 }).execute();
    const sp = await trx.savepoint('dup').execute();
    await expect(sp.insertInto('counters').values({ id: 'before', value: 2 }).execute()).rejects.toThrow();
    await sp.rollbackToSavepoint('dup').execute();
    await trx.insertInto('counters').values({ id: 'after', value: 1 }).execute();
    await trx.commit().execute();
    const rows = await database.db
      .selectFrom('counters')
      .select('id')
      .where('id', 'in', ['before', 'after'])
      .execute();
    expect(rows).toHaveLength(2);
  });
});

describe('the database module (imported above)', () => {
  it("leaves pg's global type parsers alone: int8 still parses to a string elsewhere", async () => {
    const pg = (await import('pg')).default;
    expect(pg.types.getTypeParser(20, 'text')('9007199254740993')).toBe('9007199254740993');
  });
});
