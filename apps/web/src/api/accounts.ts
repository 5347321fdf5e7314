/** auth-api accounts: invitations, email verification, passwords, two-factor, audit log. */
import type {
  AuditEventsDto,
  InvitationDto,
  MfaChallengeDto,
  User as OrgUser,
  RecoveryCodesDto,
  LoginResponse as TokenResponse,
  TotpSetupDto,
} from '@groupchat/contract';
import { apiFetch, asList, authedFetch, type TokenSource } from './http.ts';

export type { AuditEventDto, AuditEventsDto, InvitationDto, MfaChallengeDto } from '@groupchat/contract';

export function isMfaChallenge(value: unknown): value is MfaChallengeDto {
  return (
    typeof value === 'object' && value !== null && (value as { mfa_required?: unknown }).mfa_required === true
  );
}

export function loginMfa(mfaToken: string, code: string): Promise<TokenResponse> {
  return apiFetch('/api/auth/login/mfa', { method: 'POST', body: { mfa_token: mfaToken, code } });
}

export function acceptInvitation(
  token: string,
  password: string,
  displayName: string,
): Promise<TokenResponse> {
  return apiFetch('/api/auth/invitations/accept', {
    method: 'POST',
    body: { token, password, display_name: displayName },
  });
}

export function verifyEmail(token: string): Promise<void> {
  return apiFetch('/api/auth/email/verify', { method: 'POST', body: { token } });
}

export function forgotPassword(email: string): Promise<{ detail: string }> {
  return apiFetch('/api/auth/password/forgot', { method: 'POST', body: { email } });
}

export function resetPassword(token: string, password: string): Promise<void> {
  return apiFetch('/api/auth/password/reset', { method: 'POST', body: { token, password } });
}

export class AccountsApi {
  readonly #tokens: TokenSource;

  constructor(tokens: TokenSource) {
    this.#tokens = tokens;
  }

  changePassword(current: string, next: string): Promise<void> {
    return authedFetch(this.#tokens, '/api/auth/password/change', {
      method: 'POST',
      body: { current_password: current, new_password: next },
    });
  }

  setupTotp(): Promise<TotpSetupDto> {
    return authedFetch(this.#tokens, '/api/auth/mfa/totp/setup', { method: 'POST' });
  }

  enableTotp(code: string): Promise<RecoveryCodesDto> {
    return authedFetch(this.#tokens, '/api/auth/mfa/totp/enable', { method: 'POST', body: { code } });
  }

  disableTotp(code: string): Promise<void> {
    return authedFetch(this.#tokens, '/api/auth/mfa/totp', { method: 'DELETE', body: { code } });
  }

  async members(orgId: string): Promise<OrgUser[]> {
    return asList<OrgUser>(
      await authedFetch(this.#tokens, `/api/auth/orgs/${encodeURIComponent(orgId)}/users`),
      'users',
    );
  }

  async invitations(orgId: string): Promise<InvitationDto[]> {
    const data = await authedFetch(this.#tokens, `/api/auth/orgs/${encodeURIComponent(orgId)}/invitations`);
    return asList<InvitationDto>(data, 'invitations');
  }

  invite(orgId: string, email: string, role: 'member' | 'admin'): Promise<{ invitation: InvitationDto }> {
    return authedFetch(this.#tokens, `/api/auth/orgs/${encodeURIComponent(orgId)}/invitations`, {
      method: 'POST',
      body: { email, role },
    });
  }

  revokeInvitation(orgId: string, id: string): Promise<void> {
    return authedFetch(
      this.#tokens,
      `/api/auth/orgs/${encodeURIComponent(orgId)}/invitations/${encodeURIComponent(id)}`,
      { method: 'DELETE' },
    );
  }

  auditEvents(
    orgId: string,
    query: { after?: string | null; type?: string; limit?: number },
  ): Promise<AuditEventsDto> {
    return authedFetch(this.#tokens, `/api/auth/orgs/${encodeURIComponent(orgId)}/audit-events`, {
      query: { after: query.after ?? undefined, type: query.type || undefined, limit: query.limit ?? 20 },
    });
  }
}
