import { mkdirSync } from 'node:fs';
import type { Extensions } from '@electric-sql/pglite';
import { Kysely, PGliteDialect, PostgresDialect } from 'kysely';
import { type Migration, Migrator } from 'kysely/migration';
import pg from 'pg';

/**
 * One storage layer, two engines: PostgreSQL through `pg` when a URL is configured, PGlite (the same
 * Postgres, compiled to WASM, file-backed) otherwise. Same SQL, same migrations.
 */
export type DatabaseTarget =
  | { kind: 'postgres'; url: string; poolSize?: number }
  | { kind: 'pglite'; dataDir: string | null };

export interface Database<DB> {
  db: Kysely<DB>;
  target: DatabaseTarget;
  close(): Promise<void>;
  /** Cheap liveness probe for /ready. */
  ping(): Promise<void>;
}

const INT8_OID = 20;

/**
 * int8 holds counters and sequence numbers that stay far below 2^53; numbers are what the code wants.
 * Set per pool (not on pg's global type table), so importing this module changes nothing for anyone.
 */
const pgTypes = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/** PostgreSQL extensions a database may need; PGlite ships them as contrib modules loaded at start. */
export type DatabaseExtension = 'unaccent' | 'pg_trgm';

export interface OpenOptions {
  /** Loaded into PGlite at start (PostgreSQL has them installed; migrations CREATE EXTENSION either way). */
  extensions?: readonly DatabaseExtension[];
}

async function pgliteExtensions(names: readonly DatabaseExtension[]): Promise<Extensions> {
  const loaded: Extensions = {};
  for (const name of names) {
    if (name === 'unaccent')
      loaded.unaccent = (await import('@electric-sql/pglite/contrib/unaccent')).unaccent;
    else loaded.pg_trgm = (await import('@electric-sql/pglite/contrib/pg_trgm')).pg_trgm;
  }
  return loaded;
}

export async function openDatabase<DB>(
  target: DatabaseTarget,
  options: OpenOptions = {},
): Promise<Database<DB>> {
  if (target.kind === 'postgres') {
    const pool = new pg.Pool({
      connectionString: target.url,
      max: target.poolSize ?? 10,
      connectionTimeoutMillis: 3_000,
      idleTimeoutMillis: 30_000,
      types: pgTypes,
    });
    // An idle client that loses its server (a Postgres restart) emits 'error'; the pool drops it and
    // the next query opens a new one. Without a listener Node would crash the process instead.
    pool.on('error', () => {});
    // A client checked out of the pool (between queries of a transaction) has no pool listener: when its
    // server goes away it emits 'error' too, and that would crash the process. The query in flight
    // fails on its own (→ 503); the pool discards the broken client when it is released.
    pool.on('connect', (client) => {
      client.on('error', () => {});
    });
    const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
    return {
      db,
      target,
      close: () => db.destroy(),
      ping: async () => {
        await pool.query('select 1');
      },
    };
  }
  const { PGlite } = await import('@electric-sql/pglite');
  if (target.dataDir) mkdirSync(target.dataDir, { recursive: true });
  const client = await PGlite.create(target.dataDir ?? undefined, {
    parsers: { [INT8_OID]: (value: string) => Number(value) },
    extensions: await pgliteExtensions(options.extensions ?? []),
  });
  // Kysely's own PGlite dialect: one connection, transactions in PGlite's exclusive mode, savepoints.
  const db = new Kysely<DB>({ dialect: new PGliteDialect({ pglite: client }) });
  return {
    db,
    target,
    close: () => db.destroy(),
    ping: async () => {
      await client.query('select 1');
    },
  };
}

export async function migrateToLatest<DB>(
  db: Kysely<DB>,
  migrations: Record<string, Migration>,
): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** Errors that mean "the database is not reachable right now", as opposed to a bad query. */
/**
 * The database refused a text value as such: a NUL character (PostgreSQL text cannot hold U+0000:
 * 22021 character_not_in_repertoire, "invalid byte sequence for encoding UTF8: 0x00"; 22P05 for a
 * `\u0000` in jsonb). It comes from the request, so it is a 400, and the statement stored nothing.
 */
export function isUnstorableText(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const { code } = error as { code?: unknown };
  return code === '22021' || code === '22P05';
}

export function isDatabaseUnavailable(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === 'string') {
    if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN'].includes(code))
      return true;
    // 08xxx connection exceptions, 57P01..57P03 admin shutdown / crash shutdown / cannot connect now
    if (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03') return true;
  }
  if (typeof message === 'string') {
    return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|the database system is (shutting down|starting up)/i.test(
      message,
    );
  }
  return false;
}
