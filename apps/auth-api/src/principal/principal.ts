import type { UserRole } from '../db/schema.ts';

/** Who is calling: a user (by session cookie or user access token) or a service (client-credentials token). */
export type Principal = UserPrincipal | ServicePrincipal;

export interface UserPrincipal {
  type: 'user';
  userId: string;
  orgId: string;
  role: UserRole;
  email: string;
  displayName: string;
  emailVerified: boolean;
  mfaEnabled: boolean;
  sessionId: string;
  via: 'session' | 'bearer';
  /**
   * Set when an app acts for the user (a token from the authorization-code flow): the app's
   * client_id. Such a caller may do only what both the user and the token's scopes allow.
   */
  delegatedTo: string | null;
  /** The token's scopes for a Bearer caller; null for the session cookie (the user's own rights). */
  scopes: ReadonlySet<string> | null;
}

export interface ServicePrincipal {
  type: 'service';
  clientId: string;
  scopes: ReadonlySet<string>;
}

export function isPlatformAdmin(principal: Principal): boolean {
  return principal.type === 'user'
    ? principal.role === 'platform_admin' &&
        (principal.delegatedTo === null || principal.scopes?.has('admin:clients') === true)
    : principal.scopes.has('admin:clients');
}

export function isOrgAdmin(principal: UserPrincipal): boolean {
  return principal.role === 'owner' || principal.role === 'admin';
}
