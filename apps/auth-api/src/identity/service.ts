import { createHash } from 'node:crypto';
import type {
  MeResponse as MeDto,
  Org as OrgDto,
  LoginResponse as TokenResponseDto,
  User as UserDto,
} from '@groupchat/contract';
import { uuidv7 } from '@groupchat/service-kit';
import type { Kysely } from 'kysely';
import type { AuthDB } from '../db/schema.ts';
import type { AuthLimits } from '../limits.ts';
import type { OrgRecord, OrgRepository } from '../orgs/repository.ts';
import { authenticationRequired, invalidSession } from '../principal/errors.ts';
import { isOrgAdmin, type Principal, type UserPrincipal } from '../principal/principal.ts';
import type { SessionService } from '../sessions/service.ts';
import type { TokenIssuer } from '../tokens/issuer.ts';
import type { PasswordHasher } from '../users/passwords.ts';
import { EmailTakenError, type UserRecord, type UserRepository } from '../users/repository.ts';
import { emailTaken, invalidCredentials, notOrgAdmin, orgNotFound, userRequired } from './errors.ts';

/** What a user access token from login or refresh may do at the resource servers. */
export const USER_TOKEN_SCOPES = ['groups:read', 'groups:write', 'members:read'];

export type Transactional = <T>(work: (trx: Kysely<AuthDB>) => Promise<T>) => Promise<T>;

export interface IdentityServiceDeps {
  users: UserRepository;
  orgs: OrgRepository;
  passwords: PasswordHasher;
  sessions: SessionService;
  tokens: TokenIssuer;
  limits: AuthLimits;
  transaction: Transactional;
}

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
    clientKey: string,
  ): Promise<{ user: UserDto; org: OrgDto }> {
    const { users, orgs, passwords, transaction } = this.#deps;
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
      return await transaction(async (trx) => {
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
        return { user: toUserDto(user), org: toOrgDto(org) };
      });
    } catch (error) {
      if (error instanceof EmailTakenError) throw emailTaken();
      throw error;
    }
  }

  async createUser(
    caller: Principal,
    orgId: string,
    input: { email: string; password: string; display_name: string; role?: 'member' | 'admin' | undefined },
  ): Promise<UserDto> {
    const admin = this.#memberOf(caller, orgId);
    if (!isOrgAdmin(admin)) throw notOrgAdmin();
    const { users, passwords } = this.#deps;
    const email = normalizeEmail(input.email);
    if (await users.emailExists(email)) throw emailTaken();
    const passwordHash = await passwords.hash(input.password);
    try {
      const user = await users.insert({
        id: uuidv7(),
        orgId,
        email,
        passwordHash,
        displayName: input.display_name.trim(),
        role: input.role ?? 'member',
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
   */
  async login(
    input: { email: string; password: string },
    clientIp: string,
  ): Promise<{ response: TokenResponseDto; cookieValue: string }> {
    const { users, passwords, sessions, limits } = this.#deps;
    const email = normalizeEmail(input.email);
    await limits.check(
      [
        ['login_ip', clientIp],
        ['login_email', emailKey(email)],
      ],
      'too many login attempts; retry later',
    );
    const found = await users.findCredentialsByEmail(email);
    const valid = await passwords.verifyOrBurn(found?.passwordHash, input.password);
    if (!found || !valid) throw invalidCredentials();
    const { session, cookieValue } = await sessions.create(found.id);
    return { response: this.#tokenResponse(found, session.id), cookieValue };
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
  async logout(caller: Principal): Promise<void> {
    if (caller.type !== 'user') throw userRequired();
    await this.#deps.sessions.end({ id: caller.sessionId, userId: caller.userId });
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
    };
  }

  /** The caller as a user of `orgId`; another organization is answered as if it did not exist. */
  #memberOf(caller: Principal, orgId: string): UserPrincipal {
    if (caller.type !== 'user') throw userRequired();
    if (caller.orgId !== orgId.toLowerCase()) throw orgNotFound();
    return caller;
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
      },
      access_token: issued.access_token,
      token_type: 'Bearer',
      expires_in: issued.expires_in,
    };
  }
}

/** An email as a limit subject: hashed, so the limiter's store (Redis) holds no addresses. */
export function emailKey(email: string): string {
  return sha256(normalizeEmail(email));
}

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

function sha256(value: string): string {
  return createHash('sha256').update(value).digest('base64url');
}

export function toUserDto(user: UserRecord): UserDto {
  return {
    id: user.id,
    email: user.email,
    display_name: user.displayName,
    org_id: user.orgId,
    role: user.role,
    created_at: user.createdAt.toISOString(),
  };
}

function toOrgDto(org: OrgRecord): OrgDto {
  return { id: org.id, name: org.name, created_at: org.createdAt.toISOString() };
}
