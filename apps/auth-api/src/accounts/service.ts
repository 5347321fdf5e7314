import { randomBytes } from 'node:crypto';
import type {
  ForgotPasswordDto,
  InvitationDto,
  LoginResponse as TokenResponseDto,
} from '@groupchat/contract';
import { type RateLimiter, uuidv7 } from '@groupchat/service-kit';
import type { Logger } from 'pino';
import type { AuditRepository } from '../audit/repository.ts';
import type { Argon2idHasher } from '../crypto/argon2id.ts';
import type { RunInTransaction, Tx } from '../db/transaction.ts';
import { emailTaken, notOrgAdmin } from '../identity/errors.ts';
import { type IdentityService, normalizeEmail, requireOrgMember } from '../identity/service.ts';
import type { OutboxRepository } from '../mail/outbox.ts';
import type { MailSender } from '../mail/sender.ts';
import type { MailTemplates } from '../mail/templates.ts';
import type { OrgRepository } from '../orgs/repository.ts';
import { isOrgAdmin, type Principal, type UserPrincipal } from '../principal/principal.ts';
import { hashSessionToken as hashToken, type SessionService } from '../sessions/service.ts';
import { EmailTakenError, type UserRecord, type UserRepository } from '../users/repository.ts';
import { invalidAccountToken, invitationNotFound, wrongCurrentPassword } from './errors.ts';
import { emailKey, enforceLimit } from './limits.ts';
import { type AccountRepository, type InvitationRecord, invitationStatus } from './repository.ts';

const INVITATION_TTL_MS = 7 * 24 * 3600 * 1000;
const RESET_TTL_MS = 3600 * 1000;
const VERIFY_TTL_MS = 7 * 24 * 3600 * 1000;

/** 256 random bits, base64url; only its SHA-256 is stored. */
function newToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: hashToken(token) };
}

export interface AccountMailDeps {
  accounts: AccountRepository;
  outbox: OutboxRepository;
  templates: MailTemplates;
  sender: MailSender;
  now: () => number;
}

/** Queues the mails of account changes inside the caller's transaction; `kick` after the commit. */
export class AccountMail {
  readonly #deps: AccountMailDeps;

  constructor(deps: AccountMailDeps) {
    this.#deps = deps;
  }

  async queueVerification(trx: Tx, user: UserRecord): Promise<void> {
    const { token, hash } = newToken();
    await this.#deps.accounts.insertToken(trx, {
      kind: 'email_verify',
      userId: user.id,
      tokenHash: hash,
      expiresAt: new Date(this.#deps.now() + VERIFY_TTL_MS),
    });
    await this.#deps.outbox.enqueue(
      trx,
      this.#deps.templates.emailVerification({ to: user.email, displayName: user.displayName, token }),
    );
  }

  /** Sends what the just-committed transaction queued, without the request waiting for SMTP. */
  kick(): void {
    this.#deps.sender.kick();
  }
}

export interface AccountsServiceDeps {
  transaction: RunInTransaction;
  accounts: AccountRepository;
  users: UserRepository;
  orgs: OrgRepository;
  passwords: Argon2idHasher;
  sessions: SessionService;
  identity: IdentityService;
  audit: AuditRepository;
  outbox: OutboxRepository;
  templates: MailTemplates;
  mail: AccountMail;
  rateLimiter: RateLimiter;
  limits: { accountPerIpPerMinute: number; forgotPerEmailPerHour: number; invitationsPerUserPerHour: number };
  logger: Logger;
  now: () => number;
}

export const FORGOT_ANSWER: ForgotPasswordDto = {
  status: 'accepted',
  detail: 'if an account uses this email, a mail with a link to reset its password is on its way',
};

/**
 * Invitations, email verification and passwords. Tokens are 256 random bits, kept as SHA-256 hashes,
 * used up by one conditional UPDATE (single use even under concurrency), and refused with one answer
 * whether unknown, used, revoked or expired. Every change, its mail and its audit event commit together.
 */
export class AccountsService {
  readonly #deps: AccountsServiceDeps;

  constructor(deps: AccountsServiceDeps) {
    this.#deps = deps;
  }

  async invite(
    caller: Principal,
    orgId: string,
    input: { email: string; role?: 'member' | 'admin' | undefined },
    ip: string,
  ): Promise<InvitationDto> {
    const admin = requireOrgMember(caller, orgId);
    if (!isOrgAdmin(admin)) throw notOrgAdmin();
    const { transaction, accounts, users, orgs, outbox, templates, audit, now } = this.#deps;
    await enforceLimit(
      this.#deps.rateLimiter,
      `invite:user:${admin.userId}`,
      this.#deps.limits.invitationsPerUserPerHour,
      3600,
    );
    const email = normalizeEmail(input.email);
    if (await users.emailExists(email)) throw emailTaken();
    const org = await orgs.findById(admin.orgId);
    const { token, hash } = newToken();
    const invitation = await transaction(async (trx) => {
      const created = await accounts.insertInvitation(trx, {
        id: uuidv7(),
        orgId: admin.orgId,
        email,
        role: input.role ?? 'member',
        tokenHash: hash,
        invitedBy: admin.userId,
        expiresAt: new Date(now() + INVITATION_TTL_MS),
      });
      await outbox.enqueue(
        trx,
        templates.invitation({
          to: email,
          orgName: org?.name ?? 'your team',
          inviterName: admin.displayName,
          token,
          expiresAt: created.expiresAt,
        }),
      );
      await audit.record(trx, {
        orgId: admin.orgId,
        type: 'invitation.created',
        actor: { type: 'user', id: admin.userId },
        target: { type: 'invitation', id: created.id },
        ip,
      });
      return created;
    });
    this.#deps.mail.kick();
    return this.#toDto(invitation);
  }

  async listInvitations(caller: Principal, orgId: string): Promise<InvitationDto[]> {
    const admin = requireOrgMember(caller, orgId);
    if (!isOrgAdmin(admin)) throw notOrgAdmin();
    return (await this.#deps.accounts.listInvitations(admin.orgId)).map((i) => this.#toDto(i));
  }

  /** 204 for a pending one (revoked now) and, idempotently, for one already revoked, accepted or expired. */
  async revokeInvitation(caller: Principal, orgId: string, invitationId: string, ip: string): Promise<void> {
    const admin = requireOrgMember(caller, orgId);
    if (!isOrgAdmin(admin)) throw notOrgAdmin();
    const { transaction, accounts, audit, now } = this.#deps;
    const invitation = await accounts.findInvitation(admin.orgId, invitationId.toLowerCase());
    if (!invitation) throw invitationNotFound();
    await transaction(async (trx) => {
      if (!(await accounts.revokeInvitation(trx, admin.orgId, invitation.id, new Date(now())))) return;
      await audit.record(trx, {
        orgId: admin.orgId,
        type: 'invitation.revoked',
        actor: { type: 'user', id: admin.userId },
        target: { type: 'invitation', id: invitation.id },
        ip,
      });
    });
  }

  async acceptInvitation(
    input: { token: string; password: string; display_name: string },
    ip: string,
  ): Promise<{ response: TokenResponseDto; cookieValue: string }> {
    await this.#throttleIp('accept', ip);
    const { transaction, accounts, users, passwords, audit, now } = this.#deps;
    // Hashed before the transaction: Argon2 must not hold a database connection.
    const passwordHash = await passwords.hash(input.password);
    let user: UserRecord;
    try {
      user = await transaction(async (trx) => {
        const invitation = await accounts.claimInvitation(trx, hashToken(input.token), new Date(now()));
        if (!invitation) throw invalidAccountToken();
        const created = await users.insert(
          {
            id: uuidv7(),
            orgId: invitation.orgId,
            email: invitation.email,
            passwordHash,
            displayName: input.display_name.trim(),
            role: invitation.role,
            // The mail with the token reached this address: that proves it.
            emailVerified: true,
          },
          trx,
        );
        const actor = { type: 'user' as const, id: created.id };
        await audit.record(trx, {
          orgId: invitation.orgId,
          type: 'invitation.accepted',
          actor,
          target: { type: 'invitation', id: invitation.id },
          ip,
        });
        await audit.record(trx, {
          orgId: invitation.orgId,
          type: 'user.created',
          actor,
          target: { type: 'user', id: created.id },
          ip,
        });
        return created;
      });
    } catch (error) {
      if (error instanceof EmailTakenError) throw emailTaken();
      throw error;
    }
    return this.#deps.identity.startSession(user, ip);
  }

  async verifyEmail(token: string, ip: string): Promise<void> {
    await this.#throttleIp('verify', ip);
    const { transaction, accounts, users, audit, now } = this.#deps;
    await transaction(async (trx) => {
      const userId = await accounts.consumeToken(trx, 'email_verify', hashToken(token), new Date(now()));
      if (!userId) throw invalidAccountToken();
      await users.markEmailVerified(userId, trx);
      const user = await users.findById(userId, trx);
      await audit.record(trx, {
        orgId: user?.orgId ?? null,
        type: 'user.email_verified',
        actor: { type: 'user', id: userId },
        target: { type: 'user', id: userId },
        ip,
      });
    });
  }

  /**
   * Always the same answer, and the same time: after the limits, the request does no work that
   * depends on the email; the token and its mail are queued in the background by one statement that
   * does the same work whether the email exists or not.
   */
  async forgot(rawEmail: string, ip: string): Promise<ForgotPasswordDto> {
    const email = normalizeEmail(rawEmail);
    await this.#throttleIp('forgot', ip);
    await enforceLimit(
      this.#deps.rateLimiter,
      `forgot:email:${emailKey(email)}`,
      this.#deps.limits.forgotPerEmailPerHour,
      3600,
    );
    const { token, hash } = newToken();
    const sealedMail = this.#deps.outbox.seal(this.#deps.templates.passwordReset({ to: email, token }));
    void this.#deps.accounts
      .insertResetIfUserExists({
        email,
        tokenHash: hash,
        expiresAt: new Date(this.#deps.now() + RESET_TTL_MS),
        sealedMail,
      })
      .then((created) => {
        if (created) this.#deps.mail.kick();
      })
      .catch((error) =>
        this.#deps.logger.error({ err: error, event: 'password_forgot_failed' }, 'password reset not queued'),
      );
    return FORGOT_ANSWER;
  }

  /** New password; every session of the user ends and every token minted before is refused. */
  async reset(input: { token: string; password: string }, ip: string): Promise<void> {
    await this.#throttleIp('reset', ip);
    const { transaction, accounts, users, passwords, audit, now } = this.#deps;
    const passwordHash = await passwords.hash(input.password);
    const userId = await transaction(async (trx) => {
      const at = new Date(now());
      const found = await accounts.consumeToken(trx, 'password_reset', hashToken(input.token), at);
      if (!found) throw invalidAccountToken();
      await accounts.expireTokens(trx, 'password_reset', found, at);
      await users.setPasswordHash(found, passwordHash, trx);
      // A reset proves the mailbox too.
      await users.markEmailVerified(found, trx);
      const user = await users.findById(found, trx);
      await audit.record(trx, {
        orgId: user?.orgId ?? null,
        type: 'user.password_reset',
        actor: { type: 'anonymous', id: null },
        target: { type: 'user', id: found },
        ip,
      });
      return found;
    });
    await this.#endSessions(userId, undefined, ip);
  }

  async changePassword(
    caller: UserPrincipal,
    input: { current_password: string; new_password: string },
    ip: string,
  ): Promise<void> {
    const { transaction, users, passwords, audit } = this.#deps;
    await enforceLimit(
      this.#deps.rateLimiter,
      `password-change:user:${caller.userId}`,
      this.#deps.limits.accountPerIpPerMinute,
      60,
    );
    const current = await users.findCredentialsById(caller.userId);
    if (!current || !(await passwords.verify(current.passwordHash, input.current_password)))
      throw wrongCurrentPassword();
    const passwordHash = await passwords.hash(input.new_password);
    await transaction(async (trx) => {
      await users.setPasswordHash(caller.userId, passwordHash, trx);
      await audit.record(trx, {
        orgId: caller.orgId,
        type: 'user.password_changed',
        actor: { type: 'user', id: caller.userId },
        target: { type: 'user', id: caller.userId },
        ip,
      });
    });
    await this.#endSessions(caller.userId, caller.sessionId, ip);
  }

  /** Through the logout path: the same revocations and `session_ended` events chat-api honours. */
  async #endSessions(userId: string, exceptSessionId: string | undefined, ip: string): Promise<void> {
    const ended = await this.#deps.sessions.endAllForUser(userId, exceptSessionId);
    const user = await this.#deps.users.findById(userId);
    for (const sessionId of ended) {
      await this.#deps.audit.record(null, {
        orgId: user?.orgId ?? null,
        type: 'session.ended',
        actor: { type: 'system', id: null },
        target: { type: 'session', id: sessionId },
        ip,
      });
    }
  }

  async #throttleIp(action: string, ip: string): Promise<void> {
    await enforceLimit(
      this.#deps.rateLimiter,
      `${action}:ip:${ip}`,
      this.#deps.limits.accountPerIpPerMinute,
      60,
    );
  }

  #toDto(invitation: InvitationRecord): InvitationDto {
    return {
      id: invitation.id,
      email: invitation.email,
      role: invitation.role,
      org_id: invitation.orgId,
      status: invitationStatus(invitation, this.#deps.now()),
      expires_at: invitation.expiresAt.toISOString(),
      created_at: invitation.createdAt.toISOString(),
    };
  }
}
