import type { Kysely } from 'kysely';
import type { AuthDB } from './schema.ts';

declare const openTransaction: unique symbol;

/**
 * An open database transaction, opaque outside repositories: a service opens one and hands it to the
 * repositories whose writes must commit together, but cannot run SQL on it (only repositories do).
 */
export type Tx = { readonly [openTransaction]: true };

/** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
export type RunInTransaction = <T>(work: (tx: Tx) => Promise<T>) => Promise<T>;

export function transactionRunner(db: Kysely<AuthDB>): RunInTransaction {
  return (work) => db.transaction().execute((trx) => work(trx as unknown as Tx));
}

/** For repositories: the transaction's query builder, or the database's when there is none. */
export function executorOf(db: Kysely<AuthDB>, tx: Tx | null | undefined): Kysely<AuthDB> {
  return tx ? (tx as unknown as Kysely<AuthDB>) : db;
}

/** For repositories that open their own transaction and hand it to work of another (an audit write). */
export function asTx(trx: Kysely<AuthDB>): Tx {
  return trx as unknown as Tx;
}
