import { ACCOUNT_PROBLEM_CODES as CODES } from '@groupchat/contract';
import { HttpProblem } from '@groupchat/service-kit';

/** Typed errors of invitations, email verification, passwords and two-factor sign-in. */

/** One answer for a token that is unknown, used, revoked or expired: which one is not disclosed. */
export function invalidAccountToken(): HttpProblem {
  return new HttpProblem(400, CODES.invalidToken, 'the link is invalid, used, revoked or expired');
}

export function invitationNotFound(): HttpProblem {
  return new HttpProblem(404, CODES.invitationNotFound, 'no such invitation');
}

export function wrongCurrentPassword(): HttpProblem {
  return new HttpProblem(400, CODES.wrongPassword, 'the current password is wrong');
}

export function invalidMfaCode(status: 400 | 401): HttpProblem {
  return new HttpProblem(status, CODES.invalidMfaCode, 'the code is wrong or was already used', {
    ...(status === 401 ? { headers: { 'www-authenticate': 'Bearer realm="auth-api"' } } : {}),
  });
}

export function invalidMfaToken(): HttpProblem {
  return new HttpProblem(401, CODES.invalidMfaToken, 'the sign-in attempt expired or ended; sign in again', {
    headers: { 'www-authenticate': 'Bearer realm="auth-api"' },
  });
}

export function mfaAlreadyEnabled(): HttpProblem {
  return new HttpProblem(409, CODES.mfaAlreadyEnabled, 'two-factor sign-in is already enabled');
}

export function mfaNotSetUp(): HttpProblem {
  return new HttpProblem(
    409,
    CODES.mfaNotSetUp,
    'set up two-factor sign-in first (POST /api/auth/mfa/totp/setup)',
  );
}

export function mfaNotEnabled(): HttpProblem {
  return new HttpProblem(409, CODES.mfaNotEnabled, 'two-factor sign-in is not enabled');
}
