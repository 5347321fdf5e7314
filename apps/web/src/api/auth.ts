/** auth-api: identity, session, groups and members. */

import type {
  AddMemberBody,
  Group,
  LoginResponse,
  Member,
  Org,
  User as OrgUser,
  RegisterBody,
  LoginUser as User,
} from '@groupchat/contract';
import { ApiError, apiFetch, asList, asObject, authedFetch, type TokenSource } from './http.ts';

export type RegisterInput = RegisterBody;

export function register(input: RegisterInput): Promise<{ user: User; org: Org }> {
  return apiFetch('/api/auth/register', { method: 'POST', body: input });
}

export function login(email: string, password: string): Promise<LoginResponse> {
  return apiFetch('/api/auth/login', { method: 'POST', body: { email, password } });
}

/** Exchanges the HttpOnly session cookie for a fresh access token. */
export function refreshToken(): Promise<LoginResponse> {
  return apiFetch('/api/auth/token/refresh', { method: 'POST' });
}

export function logout(token: string | null): Promise<void> {
  return apiFetch('/api/auth/logout', { method: 'POST', token });
}

export class AuthApi {
  readonly #tokens: TokenSource;

  constructor(tokens: TokenSource) {
    this.#tokens = tokens;
  }

  async listGroups(): Promise<Group[]> {
    return asList<Group>(await authedFetch(this.#tokens, '/api/auth/groups'), 'groups');
  }

  async createGroup(name: string): Promise<Group> {
    return asObject<Group>(
      await authedFetch(this.#tokens, '/api/auth/groups', { method: 'POST', body: { name } }),
      'group',
    );
  }

  /** The direct conversation with `userId` (created on first use; the same one from either side). */
  async openDirect(userId: string): Promise<Group> {
    return asObject<Group>(
      await authedFetch(this.#tokens, '/api/auth/direct-groups', {
        method: 'POST',
        body: { user_id: userId },
      }),
      'group',
    );
  }

  async listMembers(groupId: string): Promise<Member[]> {
    const data = await authedFetch(this.#tokens, `/api/auth/groups/${encodeURIComponent(groupId)}/members`);
    return asList<Member>(data, 'members');
  }

  async addMember(groupId: string, who: AddMemberBody): Promise<Member> {
    const data = await authedFetch(this.#tokens, `/api/auth/groups/${encodeURIComponent(groupId)}/members`, {
      method: 'POST',
      body: who,
    });
    return asObject<Member>(data, 'member');
  }

  /**
   * The users of my organization, if auth-api offers such a list (the contract does not require it).
   * Null when it does not, or when I may not read it.
   */
  async listOrgUsers(orgId: string): Promise<OrgUser[] | null> {
    try {
      const data = await authedFetch(this.#tokens, `/api/auth/orgs/${encodeURIComponent(orgId)}/users`);
      return asList<OrgUser>(data, 'users');
    } catch (error) {
      if (error instanceof ApiError && [403, 404, 405, 501].includes(error.status)) return null;
      throw error;
    }
  }
}
