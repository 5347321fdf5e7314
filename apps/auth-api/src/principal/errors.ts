import {
  bearerChallenge,
  HttpProblem,
  authenticationRequired as kitAuthenticationRequired,
  insufficientScope as kitInsufficientScope,
  invalidToken as kitInvalidToken,
} from '@groupchat/service-kit';

const REALM = 'auth-api';

/** 401 without credentials: RFC 6750 §3, just the realm. */
export function authenticationRequired(): HttpProblem {
  return kitAuthenticationRequired(REALM, 'authentication is required: a session cookie or a Bearer token');
}

/** 401 for a token that was sent and is not acceptable. */
export function invalidToken(reason: string): HttpProblem {
  return kitInvalidToken(REALM, reason);
}

/** 401 for a session cookie that is unknown, expired or ended. */
export function invalidSession(): HttpProblem {
  return new HttpProblem(401, 'invalid_session', 'the session has expired or ended; sign in again', {
    headers: { 'www-authenticate': bearerChallenge({ realm: REALM }) },
  });
}

/** 403 for a token that lacks the scope a route needs (RFC 6750 §3.1). */
export function insufficientScope(scope: string): HttpProblem {
  return kitInsufficientScope(REALM, scope);
}

export function crossSiteRequest(): HttpProblem {
  return new HttpProblem(403, 'cross_site_request', 'cross-site requests may not use the session cookie');
}
