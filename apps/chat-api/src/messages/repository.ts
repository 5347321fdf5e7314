import { type Kysely, sql, type Transaction } from 'kysely';
import type { ChatDB } from '../db/schema.ts';
import type { MessageRow } from './schema.ts';

export interface NewMessage {
  id: string;
  groupId: string;
  orgId: string;
  senderId: string;
  content: string;
  clientMessageId: string | null;
}

/** Thrown inside the insert transaction to roll it back (and the sequence increment with it). */
class AlreadyStored extends Error {
  readonly row: MessageRow;
  constructor(row: MessageRow) {
    super('already stored');
    this.row = row;
  }
}

const IDEMPOTENCY_CONSTRAINT = 'messages_group_sender_client_id_key';

/** All SQL about messages. Every read is scoped by group and organization. */
export class MessageRepository {
  readonly #db: Kysely<ChatDB>;

  constructor(db: Kysely<ChatDB>) {
    this.#db = db;
  }

  /**
   * Stores a message at the next position of its group, or returns the one already stored under the
   * same (group, sender, client_message_id).
   *
   * The position comes from an upsert on the group's counter row inside the same transaction: the
   * row lock it takes is held until commit, so positions are handed out in commit order (a reader
   * that sees N+1 committed can rely on N being committed). A failed or duplicate insert rolls the
   * counter back with it: no gaps.
   */
  async insert(message: NewMessage): Promise<{ row: MessageRow; created: boolean }> {
    const { clientMessageId } = message;
    if (clientMessageId !== null) {
      // Fast path for retries: no write, no lock.
      const existing = await this.#findByClientId(this.#db, message);
      if (existing) return { row: existing, created: false };
    }
    try {
      const row = await this.#db.transaction().execute(async (trx) => {
        const { last_seq: seq } = await trx
          .insertInto('group_sequences')
          .values({ group_id: message.groupId, last_seq: 1 })
          .onConflict((oc) =>
            oc.column('group_id').doUpdateSet({ last_seq: sql<number>`group_sequences.last_seq + 1` }),
          )
          .returning('last_seq')
          .executeTakeFirstOrThrow();
        if (clientMessageId !== null) {
          // A concurrent twin may have committed while we waited for the counter's row lock; each
          // statement sees the latest commits, so it is visible now.
          const existing = await this.#findByClientId(trx, message);
          if (existing) throw new AlreadyStored(existing);
        }
        return trx
          .insertInto('messages')
          .values({
            id: message.id,
            group_id: message.groupId,
            org_id: message.orgId,
            seq: Number(seq),
            sender_id: message.senderId,
            content: message.content,
            client_message_id: clientMessageId,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
      });
      return { row, created: true };
    } catch (error) {
      if (error instanceof AlreadyStored) return { row: error.row, created: false };
      if (clientMessageId !== null && isUniqueViolation(error, IDEMPOTENCY_CONSTRAINT)) {
        const existing = await this.#findByClientId(this.#db, message);
        if (existing) return { row: existing, created: false };
      }
      throw error;
    }
  }

  /** The position of message `id` in the group, or undefined when it is not one of the group's. */
  async seqOf(groupId: string, orgId: string, id: string): Promise<number | undefined> {
    const row = await this.#db
      .selectFrom('messages')
      .select('seq')
      .where('id', '=', id)
      .where('group_id', '=', groupId)
      .where('org_id', '=', orgId)
      .executeTakeFirst();
    return row ? Number(row.seq) : undefined;
  }

  /** Newest first, optionally strictly before position `beforeSeq`. */
  async listNewest(
    groupId: string,
    orgId: string,
    beforeSeq: number | null,
    limit: number,
  ): Promise<MessageRow[]> {
    let query = this.#db
      .selectFrom('messages')
      .selectAll()
      .where('group_id', '=', groupId)
      .where('org_id', '=', orgId);
    if (beforeSeq !== null) query = query.where('seq', '<', beforeSeq);
    return query.orderBy('seq', 'desc').limit(limit).execute();
  }

  /** Oldest first, strictly after position `afterSeq`. */
  async listAfter(groupId: string, orgId: string, afterSeq: number, limit: number): Promise<MessageRow[]> {
    return this.#db
      .selectFrom('messages')
      .selectAll()
      .where('group_id', '=', groupId)
      .where('org_id', '=', orgId)
      .where('seq', '>', afterSeq)
      .orderBy('seq', 'asc')
      .limit(limit)
      .execute();
  }

  /** Highest committed position in the group (0 when empty). */
  async maxSeq(groupId: string, orgId: string): Promise<number> {
    const row = await this.#db
      .selectFrom('messages')
      .select((eb) => eb.fn.max('seq').as('max'))
      .where('group_id', '=', groupId)
      .where('org_id', '=', orgId)
      .executeTakeFirst();
    return row?.max === null || row?.max === undefined ? 0 : Number(row.max);
  }

  #findByClientId(
    db: Kysely<ChatDB> | Transaction<ChatDB>,
    message: NewMessage,
  ): Promise<MessageRow | undefined> {
    return db
      .selectFrom('messages')
      .selectAll()
      .where('group_id', '=', message.groupId)
      .where('sender_id', '=', message.senderId)
      .where('client_message_id', '=', message.clientMessageId)
      .executeTakeFirst();
  }
}

function isUniqueViolation(error: unknown, constraint: string): boolean {
  const { code, constraint: name } = (error ?? {}) as { code?: unknown; constraint?: unknown };
  return code === '23505' && (name === undefined || name === constraint);
}
