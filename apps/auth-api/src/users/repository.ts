import { isUniqueViolation } from '@groupchat/service-kit';
import type { Kysely } from 'kysely';
import type { AuthDB, UserRole } from '../db/schema.ts';
import { executorOf, type Tx } from '../db/transaction.ts';

export interface UserRecord {
  id: string;
  orgId: string;
  email: string;
  displayName: string;
  role: UserRole;
  createdAt: Date;
  emailVerified: boolean;
  mfaEnabled: boolean;
}

/** The email is registered already (unique across the platform: a login names one user). */
export class EmailTakenError extends Error {
  constructor() {
    super('email already registered');
    this.name = 'EmailTakenError';
  }
}

const userColumns = [
  'id',
  'org_id',
  'email',
  'display_name',
  'role',
  'created_at',
  'email_verified',
  'mfa_enabled',
] as const;

function toUser(row: {
  id: string;
  org_id: string;
  email: string;
  display_name: string;
  role: UserRole;
  created_at: Date;
  email_verified: boolean;
  mfa_enabled: boolean;
}): UserRecord {
  return {
    id: row.id,
    orgId: row.org_id,
    email: row.email,
    displayName: row.display_name,
    role: row.role,
    createdAt: row.created_at,
    emailVerified: row.email_verified,
    mfaEnabled: row.mfa_enabled,
  };
}

export function createUserRepository(db: Kysely<AuthDB>) {
  return {
    async findById(id: string, tx?: Tx): Promise<UserRecord | undefined> {
      const executor = executorOf(db, tx);
      const row = await executor
        .selectFrom('users')
        .select(userColumns)
        .where('id', '=', id)
        .executeTakeFirst();
      return row ? toUser(row) : undefined;
    },

    /** With the password hash, for login only. */
    async findCredentialsByEmail(
      email: string,
    ): Promise<(UserRecord & { passwordHash: string }) | undefined> {
      const row = await db
        .selectFrom('users')
        .select([...userColumns, 'password_hash'])
        .where('email', '=', email.toLowerCase())
        .executeTakeFirst();
      return row ? { ...toUser(row), passwordHash: row.password_hash } : undefined;
    },

    async insert(
      user: {
        id: string;
        orgId: string;
        email: string;
        passwordHash: string;
        displayName: string;
        role: UserRole;
        emailVerified?: boolean;
      },
      tx?: Tx,
    ): Promise<UserRecord> {
      const executor = executorOf(db, tx);
      try {
        const row = await executor
          .insertInto('users')
          .values({
            id: user.id,
            org_id: user.orgId,
            email: user.email.toLowerCase(),
            password_hash: user.passwordHash,
            display_name: user.displayName,
            role: user.role,
            email_verified: user.emailVerified ?? false,
          })
          .returning(userColumns)
          .executeTakeFirstOrThrow();
        return toUser(row);
      } catch (error) {
        // The only unique column besides the primary key (a fresh UUIDv7) is the email; the
        // constraint, not a prior SELECT, decides, so two concurrent registrations cannot both win.
        if (isUniqueViolation(error)) throw new EmailTakenError();
        throw error;
      }
    },

    /** Cheap pre-check so a taken email is refused before paying for an Argon2 hash. */
    async emailExists(email: string): Promise<boolean> {
      const row = await db
        .selectFrom('users')
        .select('id')
        .where('email', '=', email.toLowerCase())
        .executeTakeFirst();
      return row !== undefined;
    },

    /** A user of that organization, or undefined (unknown, or in another organization). */
    async findInOrg(id: string, orgId: string): Promise<UserRecord | undefined> {
      const row = await db
        .selectFrom('users')
        .select(userColumns)
        .where('id', '=', id)
        .where('org_id', '=', orgId)
        .executeTakeFirst();
      return row ? toUser(row) : undefined;
    },

    async listByOrg(orgId: string): Promise<UserRecord[]> {
      const rows = await db
        .selectFrom('users')
        .select(userColumns)
        .where('org_id', '=', orgId)
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      return rows.map(toUser);
    },

    /** With the password hash, for a password change. */
    async findCredentialsById(id: string): Promise<(UserRecord & { passwordHash: string }) | undefined> {
      const row = await db
        .selectFrom('users')
        .select([...userColumns, 'password_hash'])
        .where('id', '=', id)
        .executeTakeFirst();
      return row ? { ...toUser(row), passwordHash: row.password_hash } : undefined;
    },

    async setPasswordHash(id: string, passwordHash: string, tx?: Tx): Promise<void> {
      const executor = executorOf(db, tx);
      await executor.updateTable('users').set({ password_hash: passwordHash }).where('id', '=', id).execute();
    },

    async markEmailVerified(id: string, tx?: Tx): Promise<void> {
      const executor = executorOf(db, tx);
      await executor.updateTable('users').set({ email_verified: true }).where('id', '=', id).execute();
    },

    async setMfaEnabled(id: string, enabled: boolean, tx?: Tx): Promise<void> {
      const executor = executorOf(db, tx);
      await executor.updateTable('users').set({ mfa_enabled: enabled }).where('id', '=', id).execute();
    },
  };
}

export type UserRepository = ReturnType<typeof createUserRepository>;
