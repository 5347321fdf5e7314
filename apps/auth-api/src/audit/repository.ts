import type { AuditEventType } from '@groupchat/contract';
import { uuidv7 } from '@groupchat/service-kit';
import type { Kysely } from 'kysely';
import type { AuthDB } from '../db/schema.ts';
import { executorOf, type Tx } from '../db/transaction.ts';
import type { Principal } from '../principal/principal.ts';

export interface AuditParty {
  type:
    | 'user'
    | 'service'
    | 'anonymous'
    | 'system'
    | 'invitation'
    | 'group'
    | 'client'
    | 'signing_key'
    | 'session';
  id: string | null;
}

/** One audited change. Never a password, secret, token or code: only who, what, on what, from where. */
export interface AuditEntry {
  orgId: string | null;
  type: AuditEventType;
  actor: AuditParty;
  target: AuditParty;
  ip: string | null;
}

/** Who did it, as the audit log names a caller. */
export function actorOf(principal: Principal): AuditParty {
  return principal.type === 'user'
    ? { type: 'user', id: principal.userId }
    : { type: 'service', id: principal.clientId };
}

/** Work to run inside the audited change's transaction. */
export type AuditWrite = (tx: Tx) => Promise<void>;

export interface AuditRow {
  id: string;
  seq: number;
  type: string;
  actor_type: string;
  actor_id: string | null;
  target_type: string;
  target_id: string | null;
  ip: string | null;
  at: Date;
}

export function createAuditRepository(db: Kysely<AuthDB>) {
  return {
    /** Pass the transaction of the audited change: the event is written with it or not at all. */
    async record(tx: Tx | null, entry: AuditEntry): Promise<void> {
      const executor = executorOf(db, tx);
      await executor
        .insertInto('audit_events')
        .values({
          id: uuidv7(),
          org_id: entry.orgId,
          type: entry.type,
          actor_type: entry.actor.type,
          actor_id: entry.actor.id,
          target_type: entry.target.type,
          target_id: entry.target.id,
          ip: entry.ip,
        })
        .execute();
    },

    /** Oldest first after `afterSeq`; `orgId` undefined reads every org and the platform's own events. */
    async list(filter: {
      orgId?: string;
      afterSeq: number;
      limit: number;
      type?: string | undefined;
    }): Promise<AuditRow[]> {
      let query = db
        .selectFrom('audit_events')
        .select(['id', 'seq', 'type', 'actor_type', 'actor_id', 'target_type', 'target_id', 'ip', 'at'])
        .where('seq', '>', filter.afterSeq)
        .orderBy('seq')
        .limit(filter.limit);
      if (filter.orgId !== undefined) query = query.where('org_id', '=', filter.orgId);
      if (filter.type !== undefined) query = query.where('type', '=', filter.type);
      return query.execute();
    },
  };
}

export type AuditRepository = ReturnType<typeof createAuditRepository>;
