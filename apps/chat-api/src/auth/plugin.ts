import {
  authenticationRequired,
  type HttpProblem,
  type HttpServer,
  invalidToken as kitInvalidToken,
  problems,
  registerPrincipal,
} from '@groupchat/service-kit';
import type { FastifyRequest } from 'fastify';
import {
  InvalidTokenError,
  SigningKeysUnavailableError,
  type UserPrincipal,
  type UserTokenVerifier,
} from './user-token-verifier.ts';

const REALM = 'chat-api';

/** RFC 6750 §3: no credentials → just the challenge; bad credentials → error="invalid_token". */
export function unauthenticated(): HttpProblem {
  return authenticationRequired(REALM, 'a user access token is required (Authorization: Bearer …)');
}

export function invalidToken(reason: string): HttpProblem {
  return kitInvalidToken(REALM, reason);
}

/** Extracts the bearer token, or null when the request carries none (or another scheme). */
export function bearerToken(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return null;
  const match = /^Bearer[ \t]+(\S*)[ \t]*$/i.exec(header);
  if (!match) return null;
  return match[1] ?? '';
}

/** Verifies a token and maps failures to the problems clients see (401, or 503 without keys). */
export async function authenticateToken(verifier: UserTokenVerifier, token: string): Promise<UserPrincipal> {
  if (token === '') throw invalidToken('empty token');
  try {
    return await verifier.verify(token);
  } catch (error) {
    if (error instanceof InvalidTokenError) throw invalidToken(error.message);
    if (error instanceof SigningKeysUnavailableError) {
      throw problems.unavailable(
        'tokens cannot be verified right now (auth-api keys unavailable); retry shortly',
        'auth_keys_unavailable',
      );
    }
    throw error;
  }
}

/**
 * Registers the user principal on a route scope (service-kit's one principal hook, in onRequest:
 * authentication comes before validation, so a caller without credentials learns nothing about which
 * inputs would be valid). Returns the accessor the scope's handlers use.
 */
export function registerUserPrincipal(
  scope: Parameters<typeof registerPrincipal>[0],
  verifier: UserTokenVerifier,
): (request: FastifyRequest) => UserPrincipal {
  registerPrincipal(scope, {
    authenticate: async (request) => {
      const token = bearerToken(request);
      return token === null ? null : authenticateToken(verifier, token);
    },
    unauthenticated,
  });
  return requireUser;
}

/** The caller of a route in a scope that registered the user principal. */
export function requireUser(request: FastifyRequest): UserPrincipal {
  if (!request.principal) throw unauthenticated();
  return request.principal as UserPrincipal;
}
