import type {
  MeResponse as MeDto,
  MfaChallengeDto,
  Org as OrgDto,
  LoginResponse as TokenResponseDto,
  User as UserDto,
} from '@groupchat/contract';
import { addressKey, uuidv7 } from '@groupchat/service-kit';
import { emailKey } from '../accounts/limits.ts';
import type { AccountMail } from '../accounts/service.ts';
import type { AuditEntry, AuditRepository } from '../audit/repository.ts';
import type { Argon2idHasher } from '../crypto/argon2id.ts';
import type { RunInTransaction, Tx } from '../db/transaction.ts';
import type { AuthLimits } from '../limits.ts';
import type { MfaService } from '../mfa/service.ts';
import type { OrgRecord, OrgRepository } from '../orgs/repository.ts';
import { authenticationRequired, invalidSession } from '../principal/errors.ts';
import { isOrgAdmin, type Principal, type UserPrincipal } from '../principal/principal.ts';
import type { SessionService } from '../sessions/service.ts';
import type { TokenIssuer } from '../tokens/issuer.ts';
import { EmailTakenError, type UserRecord, type UserRepository } from '../users/repository.ts';
import { emailTaken, invalidCredentials, notOrgAdmin, orgNotFound, userRequired } from './errors.ts';

/** What a user access token from login or refresh may do at the resource servers. */
export const USER_TOKEN_SCOPES = ['groups:read', 'groups:write', 'members:read'];

export interface IdentityServiceDeps {
  users: UserRepository;
  orgs: OrgRepository;
  passwords: Argon2idHasher;
  sessions: SessionService;
  tokens: TokenIssuer;
  limits: AuthLimits;
  audit: AuditRepository;
  mail: AccountMail;
  mfa: MfaService;
  transaction: RunInTransaction;
}

/** The caller as a user of `orgId`; another organization is answered as if it did not exist. */
export function requireOrgMember(caller: Principal, orgId: string): UserPrincipal {
  if (caller.type !== 'user') throw userRequired();
  if (caller.orgId !== orgId.toLowerCase()) throw orgNotFound();
  return caller;
}

export type LoginResult =
  | { kind: 'session'; response: TokenResponseDto; cookieValue: string }
  | { kind: 'mfa'; challenge: MfaChallengeDto };

/**
 * Registration, organization users, login sessions and the user access tokens minted for them. Every
 * method that acts for a caller checks the caller's right first, before any expensive or visible work.
 */
export class IdentityService {
  readonly #deps: IdentityServiceDeps;

  constructor(deps: IdentityServiceDeps) {
    this.#deps = deps;
  }

  /** A new organization and its first user, its owner, created together or not at all. */
  async register(
    input: {
      email: string;
      password: string;
      display_name: string;
      org_name: string;
    },
    ip: string | null = null,
    /** The subject of the per-address limit (request.clientKey: IPv6 per /64). */
    clientKey: string = addressKey(ip ?? ''),
  ): Promise<{ user: UserDto; org: OrgDto }> {
    const { users, orgs, passwords, transaction, audit, mail } = this.#deps;
    const email = normalizeEmail(input.email);
    // Before any lookup or Argon2 work: a flood costs one counter each.
    await this.#deps.limits.check(
      [
        ['register_ip', clientKey],
        ['register_email', emailKey(email)],
      ],
      'too many registrations; retry later',
    );
    if (await users.emailExists(email)) throw emailTaken();
    // Hashed before the transaction opens: ~30 ms of CPU must not hold a database connection.
    const passwordHash = await passwords.hash(input.password);
    try {
      const result = await transaction(async (trx) => {
        const org = await orgs.insert({ id: uuidv7(), name: input.org_name.trim() }, trx);
        const user = await users.insert(
          {
            id: uuidv7(),
            orgId: org.id,
            email,
            passwordHash,
            displayName: input.display_name.trim(),
            role: 'owner',
          },
          trx,
        );
        await mail.queueVerification(trx, user);
        await audit.record(trx, userCreated(user, { type: 'anonymous', id: null }, ip));
        return { user: toUserDto(user), org: toOrgDto(org) };
      });
      mail.kick();
      return result;
    } catch (error) {
      if (error instanceof EmailTakenError) throw emailTaken();
      throw error;
    }
  }

  async createUser(
    caller: Principal,
    orgId: string,
    input: { email: string; password: string; display_name: string; role?: 'member' | 'admin' | undefined },
    ip: string | null = null,
  ): Promise<UserDto> {
    const admin = this.#memberOf(caller, orgId);
    // Creating accounts is not something an app acting for an admin may do.
    if (!isOrgAdmin(admin) || admin.delegatedTo !== null) throw notOrgAdmin();
    const { users, passwords } = this.#deps;
    const email = normalizeEmail(input.email);
    if (await users.emailExists(email)) throw emailTaken();
    const passwordHash = await passwords.hash(input.password);
    try {
      const user = await this.#deps.transaction(async (trx) => {
        const created = await users.insert(
          {
            id: uuidv7(),
            orgId: admin.orgId,
            email,
            passwordHash,
            displayName: input.display_name.trim(),
            role: input.role ?? 'member',
          },
          trx,
        );
        await this.#deps.audit.record(trx, userCreated(created, { type: 'user', id: admin.userId }, ip));
        return created;
      });
      return toUserDto(user);
    } catch (error) {
      if (error instanceof EmailTakenError) throw emailTaken();
      throw error;
    }
  }

  async listOrgUsers(caller: Principal, orgId: string): Promise<UserDto[]> {
    this.#memberOf(caller, orgId);
    return (await this.#deps.users.listByOrg(orgId)).map(toUserDto);
  }

  async getOrg(caller: Principal, orgId: string): Promise<OrgDto> {
    this.#memberOf(caller, orgId);
    const org = await this.#deps.orgs.findById(orgId);
    if (!org) throw orgNotFound();
    return toOrgDto(org);
  }

  /**
   * Checks the rate limits, then the password. The limits come first so a flood costs no Argon2 work;
   * `verifyOrBurn` spends the same work for an unknown email, and both failures get the same answer.
   * A user with two-factor sign-in gets a challenge (mfa_token) instead of a session.
   */
  async login(
    input: { email: string; password: string },
    clientIp: string,
    /** The subject of the per-address limit (request.clientKey: IPv6 per /64). */
    clientKey: string = addressKey(clientIp),
  ): Promise<LoginResult> {
    const { users, passwords, limits, audit } = this.#deps;
    const email = normalizeEmail(input.email);
    await limits.check(
      [
        ['login_ip', clientKey],
        ['login_email', emailKey(email)],
      ],
      'too many login attempts; retry later',
    );
    const found = await users.findCredentialsByEmail(email);
    const valid = await passwords.verifyOrBurn(found?.passwordHash, input.password);
    if (!found || !valid) {
      await audit.record(null, {
        orgId: found?.orgId ?? null,
        type: 'user.login_failed',
        actor: { type: 'anonymous', id: null },
        target: { type: 'user', id: found?.id ?? null },
        ip: clientIp,
      });
      throw invalidCredentials();
    }
    if (found.mfaEnabled) return { kind: 'mfa', challenge: await this.#deps.mfa.startChallenge(found.id) };
    return { kind: 'session', ...(await this.startSession(found, clientIp)) };
  }

  /** The second step of a two-factor login. */
  async loginMfa(
    input: { mfa_token: string; code: string },
    clientIp: string,
  ): Promise<{ response: TokenResponseDto; cookieValue: string }> {
    const { userId } = await this.#deps.mfa.completeChallenge(input.mfa_token, input.code, clientIp);
    const user = await this.#deps.users.findById(userId);
    if (!user) throw invalidCredentials();
    return this.startSession(user, clientIp);
  }

  /** A new session and its first access token for a user who has just proven who they are. */
  async startSession(
    user: UserRecord,
    clientIp: string,
  ): Promise<{ response: TokenResponseDto; cookieValue: string }> {
    const { session, cookieValue } = await this.#deps.sessions.create(
      user.id,
      (created) => (tx) =>
        this.#deps.audit.record(tx, {
          orgId: user.orgId,
          type: 'user.login_succeeded',
          actor: { type: 'user', id: user.id },
          target: { type: 'session', id: created.id },
          ip: clientIp,
        }),
    );
    return { response: this.#tokenResponse(user, session.id), cookieValue };
  }

  /** A fresh access token for the session the cookie names. */
  async refresh(cookieValue: string | undefined): Promise<TokenResponseDto> {
    if (cookieValue === undefined) throw authenticationRequired();
    const session = await this.#deps.sessions.findByCookie(cookieValue);
    if (!session) throw invalidSession();
    const user = await this.#deps.users.findById(session.userId);
    if (!user) throw invalidSession();
    return this.#tokenResponse(user, session.id);
  }

  /** Ends the caller's session: the cookie and every access token minted for it stop working at once. */
  async logout(caller: Principal, clientIp: string | null = null): Promise<void> {
    if (caller.type !== 'user') throw userRequired();
    await this.#deps.sessions.end({ id: caller.sessionId, userId: caller.userId }, (tx) =>
      this.#deps.audit.record(tx, {
        orgId: caller.orgId,
        type: 'session.ended',
        actor: { type: 'user', id: caller.userId },
        target: { type: 'session', id: caller.sessionId },
        ip: clientIp,
      }),
    );
  }

  me(caller: Principal): MeDto {
    if (caller.type === 'service') {
      return { type: 'service', client_id: caller.clientId, scopes: [...caller.scopes].sort() };
    }
    return {
      type: 'user',
      id: caller.userId,
      email: caller.email,
      display_name: caller.displayName,
      org_id: caller.orgId,
      role: caller.role,
      email_verified: caller.emailVerified,
      mfa_enabled: caller.mfaEnabled,
    };
  }

  #memberOf(caller: Principal, orgId: string): UserPrincipal {
    return requireOrgMember(caller, orgId);
  }

  #tokenResponse(user: UserRecord, sessionId: string): TokenResponseDto {
    const issued = this.#deps.tokens.issueUserToken(user, sessionId, USER_TOKEN_SCOPES);
    return {
      user: {
        id: user.id,
        email: user.email,
        display_name: user.displayName,
        org_id: user.orgId,
        role: user.role,
        email_verified: user.emailVerified,
        mfa_enabled: user.mfaEnabled,
      },
      access_token: issued.access_token,
      token_type: 'Bearer',
      expires_in: issued.expires_in,
    };
  }
}

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

function userCreated(user: UserRecord, actor: AuditEntry['actor'], ip: string | null): AuditEntry {
  return { orgId: user.orgId, type: 'user.created', actor, target: { type: 'user', id: user.id }, ip };
}

export function toUserDto(user: UserRecord): UserDto {
  return {
    id: user.id,
    email: user.email,
    display_name: user.displayName,
    org_id: user.orgId,
    role: user.role,
    created_at: user.createdAt.toISOString(),
    email_verified: user.emailVerified,
    mfa_enabled: user.mfaEnabled,
  };
}

function toOrgDto(org: OrgRecord): OrgDto {
  return { id: org.id, name: org.name, created_at: org.createdAt.toISOString() };
}
