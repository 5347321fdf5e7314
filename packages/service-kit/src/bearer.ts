import { HttpProblem } from './problem.ts';

/**
 * RFC 6750 §3 challenges, built one way for both services. No credentials: just the realm. A token
 * sent and refused: `error="invalid_token"`. A token without the scope: `error="insufficient_scope"`
 * with the scope needed (403).
 */
export interface BearerChallenge {
  realm: string;
  error?: 'invalid_request' | 'invalid_token' | 'insufficient_scope';
  description?: string;
  scope?: string;
}

/** A quoted-string (RFC 9110 §5.6.4) without the characters that would need escaping. */
function quoted(value: string): string {
  return `"${value.replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, ' ')}"`;
}

export function bearerChallenge(challenge: BearerChallenge): string {
  const params = [`realm=${quoted(challenge.realm)}`];
  if (challenge.error) params.push(`error=${quoted(challenge.error)}`);
  if (challenge.description) params.push(`error_description=${quoted(challenge.description)}`);
  if (challenge.scope) params.push(`scope=${quoted(challenge.scope)}`);
  return `Bearer ${params.join(', ')}`;
}

/** 401 without credentials. */
export function authenticationRequired(realm: string, detail: string): HttpProblem {
  return new HttpProblem(401, 'authentication_required', detail, {
    headers: { 'www-authenticate': bearerChallenge({ realm }) },
  });
}

/** 401 for a token that was sent and is not acceptable; `reason` goes to the client. */
export function invalidToken(realm: string, reason: string): HttpProblem {
  return new HttpProblem(401, 'invalid_token', `invalid access token: ${reason}`, {
    headers: {
      'www-authenticate': bearerChallenge({ realm, error: 'invalid_token', description: reason }),
    },
  });
}

/** 403 for a token that lacks the scope a route needs (RFC 6750 §3.1). */
export function insufficientScope(realm: string, scope: string): HttpProblem {
  return new HttpProblem(403, 'insufficient_scope', `this operation needs the scope "${scope}"`, {
    headers: { 'www-authenticate': bearerChallenge({ realm, error: 'insufficient_scope', scope }) },
    extensions: { scope },
  });
}
