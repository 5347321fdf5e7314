import type { InvitationStatusDto } from '@groupchat/contract';
import { uuidv7 } from '@groupchat/service-kit';
import { type Kysely, sql } from 'kysely';
import type { AccountTokenKind, AuthDB } from '../db/schema.ts';
import { executorOf, type Tx } from '../db/transaction.ts';

export interface InvitationRecord {
  id: string;
  orgId: string;
  email: string;
  role: 'admin' | 'member';
  invitedBy: string | null;
  createdAt: Date;
  expiresAt: Date;
  acceptedAt: Date | null;
  revokedAt: Date | null;
}

const invitationColumns = [
  'id',
  'org_id',
  'email',
  'role',
  'invited_by',
  'created_at',
  'expires_at',
  'accepted_at',
  'revoked_at',
] as const;

function toInvitation(row: {
  id: string;
  org_id: string;
  email: string;
  role: 'admin' | 'member';
  invited_by: string | null;
  created_at: Date;
  expires_at: Date;
  accepted_at: Date | null;
  revoked_at: Date | null;
}): InvitationRecord {
  return {
    id: row.id,
    orgId: row.org_id,
    email: row.email,
    role: row.role,
    invitedBy: row.invited_by,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    acceptedAt: row.accepted_at,
    revokedAt: row.revoked_at,
  };
}

export function invitationStatus(invitation: InvitationRecord, now: number): InvitationStatusDto {
  if (invitation.acceptedAt) return 'accepted';
  if (invitation.revokedAt) return 'revoked';
  if (invitation.expiresAt.getTime() <= now) return 'expired';
  return 'pending';
}

/** Single-use account tokens (email verification, password reset) and invitations; only hashes stored. */
export function createAccountRepository(db: Kysely<AuthDB>) {
  return {
    async insertToken(
      tx: Tx | null,
      token: { kind: AccountTokenKind; userId: string; tokenHash: string; expiresAt: Date },
    ): Promise<void> {
      const executor = executorOf(db, tx);
      await executor
        .insertInto('account_tokens')
        .values({
          id: uuidv7(),
          kind: token.kind,
          user_id: token.userId,
          token_hash: token.tokenHash,
          expires_at: token.expiresAt,
        })
        .execute();
    },

    /** Uses the token up (one statement, so two concurrent uses cannot both win); its user, or undefined. */
    async consumeToken(
      tx: Tx | null,
      kind: AccountTokenKind,
      tokenHash: string,
      now: Date,
    ): Promise<string | undefined> {
      const executor = executorOf(db, tx);
      const row = await executor
        .updateTable('account_tokens')
        .set({ used_at: now })
        .where('kind', '=', kind)
        .where('token_hash', '=', tokenHash)
        .where('used_at', 'is', null)
        .where('expires_at', '>', now)
        .returning('user_id')
        .executeTakeFirst();
      return row?.user_id;
    },

    /** Every other outstanding token of that kind dies too (an older reset mail stops working). */
    async expireTokens(tx: Tx | null, kind: AccountTokenKind, userId: string, now: Date): Promise<void> {
      const executor = executorOf(db, tx);
      await executor
        .updateTable('account_tokens')
        .set({ used_at: now })
        .where('kind', '=', kind)
        .where('user_id', '=', userId)
        .where('used_at', 'is', null)
        .execute();
    },

    /**
     * A password-reset token and its mail for the user with that email, if there is one, in one
     * statement that does the same work (one round trip, one index lookup) whether the email exists or
     * not: the forgot answer takes the same time either way.
     */
    async insertResetIfUserExists(input: {
      email: string;
      tokenHash: string;
      expiresAt: Date;
      sealedMail: string;
    }): Promise<boolean> {
      const result = await sql<{ created: number }>`
        with u as (select id from users where email = ${input.email}),
        t as (
          insert into account_tokens (id, kind, user_id, token_hash, expires_at)
          select ${uuidv7()}, 'password_reset', u.id, ${input.tokenHash}, ${input.expiresAt} from u
          returning user_id),
        m as (
          insert into mail_outbox (id, kind, to_address, sealed_message)
          select ${uuidv7()}, 'password_reset', ${input.email}, ${input.sealedMail} from u
          returning id)
        select (select count(*) from t)::int + (select count(*) from m)::int as created`.execute(db);
      return Number(result.rows[0]?.created ?? 0) > 0;
    },

    async insertInvitation(
      tx: Tx | null,
      invitation: {
        id: string;
        orgId: string;
        email: string;
        role: 'admin' | 'member';
        tokenHash: string;
        invitedBy: string;
        expiresAt: Date;
      },
    ): Promise<InvitationRecord> {
      const executor = executorOf(db, tx);
      const row = await executor
        .insertInto('invitations')
        .values({
          id: invitation.id,
          org_id: invitation.orgId,
          email: invitation.email,
          role: invitation.role,
          token_hash: invitation.tokenHash,
          invited_by: invitation.invitedBy,
          expires_at: invitation.expiresAt,
        })
        .returning(invitationColumns)
        .executeTakeFirstOrThrow();
      return toInvitation(row);
    },

    async listInvitations(orgId: string): Promise<InvitationRecord[]> {
      const rows = await db
        .selectFrom('invitations')
        .select(invitationColumns)
        .where('org_id', '=', orgId)
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(500)
        .execute();
      return rows.map(toInvitation);
    },

    async findInvitation(orgId: string, id: string): Promise<InvitationRecord | undefined> {
      const row = await db
        .selectFrom('invitations')
        .select(invitationColumns)
        .where('org_id', '=', orgId)
        .where('id', '=', id)
        .executeTakeFirst();
      return row ? toInvitation(row) : undefined;
    },

    /** True when a pending invitation was revoked now. */
    async revokeInvitation(tx: Tx | null, orgId: string, id: string, now: Date): Promise<boolean> {
      const executor = executorOf(db, tx);
      const row = await executor
        .updateTable('invitations')
        .set({ revoked_at: now })
        .where('org_id', '=', orgId)
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .where('accepted_at', 'is', null)
        .returning('id')
        .executeTakeFirst();
      return row !== undefined;
    },

    /** Marks a pending, unexpired invitation accepted (single use); the invitation, or undefined. */
    async claimInvitation(
      tx: Tx | null,
      tokenHash: string,
      now: Date,
    ): Promise<InvitationRecord | undefined> {
      const executor = executorOf(db, tx);
      const row = await executor
        .updateTable('invitations')
        .set({ accepted_at: now })
        .where('token_hash', '=', tokenHash)
        .where('accepted_at', 'is', null)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', now)
        .returning(invitationColumns)
        .executeTakeFirst();
      return row ? toInvitation(row) : undefined;
    },
  };
}

export type AccountRepository = ReturnType<typeof createAccountRepository>;
