import { HttpProblem } from '@groupchat/service-kit';

const REALM = 'auth-api';

function quote(value: string): string {
  return `"${value.replace(/["\\]/g, '')}"`;
}

/** 401 without credentials: RFC 6750 §3, just the realm. */
export function authenticationRequired(): HttpProblem {
  return new HttpProblem(
    401,
    'authentication_required',
    'authentication is required: a session cookie or a Bearer token',
    {
      headers: { 'www-authenticate': `Bearer realm=${quote(REALM)}` },
    },
  );
}

/** 401 for a token that was sent and is not acceptable. */
export function invalidToken(reason: string): HttpProblem {
  return new HttpProblem(401, 'invalid_token', reason, {
    headers: {
      'www-authenticate': `Bearer realm=${quote(REALM)}, error="invalid_token", error_description=${quote(reason)}`,
    },
  });
}

/** 401 for a session cookie that is unknown, expired or ended. */
export function invalidSession(): HttpProblem {
  return new HttpProblem(401, 'invalid_session', 'the session has expired or ended; sign in again', {
    headers: { 'www-authenticate': `Bearer realm=${quote(REALM)}` },
  });
}

/** 403 for a token that lacks the scope a route needs (RFC 6750 §3.1). */
export function insufficientScope(scope: string): HttpProblem {
  return new HttpProblem(403, 'insufficient_scope', `this operation needs the scope "${scope}"`, {
    headers: {
      'www-authenticate': `Bearer realm=${quote(REALM)}, error="insufficient_scope", scope=${quote(scope)}`,
    },
    extensions: { scope },
  });
}

export function crossSiteRequest(): HttpProblem {
  return new HttpProblem(403, 'cross_site_request', 'cross-site requests may not use the session cookie');
}
