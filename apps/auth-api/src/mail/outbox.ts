import { uuidv7 } from '@groupchat/service-kit';
import { type Kysely, sql } from 'kysely';
import type { AuthDB } from '../db/schema.ts';
import { executorOf, type Tx } from '../db/transaction.ts';
import { openAtRest, sealAtRest } from '../keys/at-rest.ts';

export interface OutgoingMail {
  kind: string;
  to: string;
  subject: string;
  text: string;
  html: string;
}

export interface ClaimedMail extends OutgoingMail {
  id: string;
  attempts: number;
}

/**
 * The mail outbox: rows written in the transaction of the change that causes the mail, claimed by a
 * sender with a lease (`FOR UPDATE SKIP LOCKED`, so concurrent instances never take the same row), and
 * marked sent or rescheduled by the sender that holds the claim.
 */
export function createOutboxRepository(db: Kysely<AuthDB>, sealingSecret: string | undefined) {
  return {
    /** The sealed message for `enqueueSealed`; separate so a caller can build it before its statement. */
    seal(mail: OutgoingMail): string {
      return sealAtRest(JSON.stringify(mail), sealingSecret);
    },

    async enqueue(tx: Tx | null, mail: OutgoingMail): Promise<string> {
      const executor = executorOf(db, tx);
      const id = uuidv7();
      await executor
        .insertInto('mail_outbox')
        .values({ id, kind: mail.kind, to_address: mail.to, sealed_message: this.seal(mail) })
        .execute();
      return id;
    },

    async claim(senderId: string, leaseSeconds: number, limit: number): Promise<ClaimedMail[]> {
      const result = await sql<{ id: string; attempts: number; sealed_message: string }>`
        update mail_outbox
           set claimed_by = ${senderId},
               claimed_until = now() + make_interval(secs => ${leaseSeconds}),
               attempts = attempts + 1
         where id in (
           select id from mail_outbox
            where sent_at is null and failed_at is null and next_attempt_at <= now()
              and (claimed_until is null or claimed_until < now())
            order by next_attempt_at
            limit ${limit}
            for update skip locked)
        returning id, attempts, sealed_message`.execute(db);
      return result.rows.map((row) => ({
        id: row.id,
        attempts: Number(row.attempts),
        ...(JSON.parse(openAtRest(row.sealed_message, sealingSecret)) as OutgoingMail),
      }));
    },

    /** Sent: the message (and the token in it) is erased; the row stays as the record of delivery. */
    async markSent(id: string, senderId: string): Promise<void> {
      await db
        .updateTable('mail_outbox')
        .set({ sent_at: new Date(), sealed_message: '', claimed_until: null, last_error: null })
        .where('id', '=', id)
        .where('claimed_by', '=', senderId)
        .execute();
    },

    async reschedule(id: string, senderId: string, delayMs: number, error: string): Promise<void> {
      await db
        .updateTable('mail_outbox')
        .set({
          next_attempt_at: sql`now() + make_interval(secs => ${delayMs / 1000})`,
          claimed_by: null,
          claimed_until: null,
          last_error: error.slice(0, 500),
        })
        .where('id', '=', id)
        .where('claimed_by', '=', senderId)
        .execute();
    },

    async markFailed(id: string, senderId: string, error: string): Promise<void> {
      await db
        .updateTable('mail_outbox')
        .set({
          failed_at: new Date(),
          sealed_message: '',
          claimed_until: null,
          last_error: error.slice(0, 500),
        })
        .where('id', '=', id)
        .where('claimed_by', '=', senderId)
        .execute();
    },
  };
}

export type OutboxRepository = ReturnType<typeof createOutboxRepository>;
