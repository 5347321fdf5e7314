import type { Scope } from '@groupchat/contract';
import {
  authenticationRequired,
  type HttpProblem,
  type HttpServer,
  insufficientScope,
  invalidToken as kitInvalidToken,
  problems,
  registerPrincipal,
} from '@groupchat/service-kit';
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import {
  type ChatUser,
  SigningKeysUnavailableError,
  TokenRejectedError,
  type UserTokenVerifier,
} from './user-token-verifier.ts';

const REALM = 'chat-api';

/**
 * The scopes chat-api's user routes need. The contract names no chat scopes of its own, so they are the
 * ones auth-api's group endpoints require: reading a group's messages (timeline, threads, events,
 * receipts, unread, search, presence, WebSocket subscribe) is `groups:read`; changing anything (post,
 * edit, delete, react, read marker, typing) is `groups:write`. The platform's own web tokens
 * (client_id groupchat-web) carry both; a third-party app's token only what the user granted it.
 */
export const ChatScopes = { read: 'groups:read', write: 'groups:write' } as const satisfies Record<
  string,
  Scope
>;
export type ChatScope = (typeof ChatScopes)[keyof typeof ChatScopes];

/**
 * A user route's OpenAPI `security`, naming the scope it needs (OpenAPI 3.1 allows them on an http
 * scheme). It is also what the principal hook enforces: the one declaration is both documentation
 * and check, and a user route that declares none fails at start (registerUserPrincipal).
 */
export function userSecurity(scope: ChatScope): { bearerAuth: string[] }[] {
  return [{ bearerAuth: [scope] }];
}

/** 403 insufficient_scope (RFC 6750 §3.1 challenge) unless the token carries `scope`. */
export function requireScope(user: ChatUser, scope: ChatScope): void {
  if (!user.scopes.has(scope)) throw insufficientScope(REALM, scope);
}

const knownScopes = new Set<string>(Object.values(ChatScopes));

/** The one chat scope a route's schema declares in `security`, or null. */
function declaredScope(route: RouteOptions): ChatScope | null {
  const security = (route.schema as { security?: { bearerAuth?: unknown }[] } | undefined)?.security;
  const scopes = (security ?? []).flatMap((entry) =>
    Array.isArray(entry.bearerAuth) ? (entry.bearerAuth as unknown[]) : [],
  );
  const scope = scopes[0];
  return scopes.length === 1 && typeof scope === 'string' && knownScopes.has(scope)
    ? (scope as ChatScope)
    : null;
}

interface ScopedRouteConfig {
  requiredScope?: ChatScope;
}

/** RFC 6750 §3: no credentials → just the challenge; bad credentials → error="invalid_token". */
export function unauthenticated(): HttpProblem {
  return authenticationRequired(REALM, 'a user access token is required (Authorization: Bearer …)');
}

export function invalidToken(reason: string): HttpProblem {
  return kitInvalidToken(REALM, reason);
}

/** Extracts the bearer token, or null when the request carries none (or another scheme). */
function bearerToken(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return null;
  const match = /^Bearer[ \t]+(\S*)[ \t]*$/i.exec(header);
  if (!match) return null;
  return match[1] ?? '';
}

/** Verifies a token and maps failures to the problems clients see (401, or 503 without keys). */
export async function authenticateToken(verifier: UserTokenVerifier, token: string): Promise<ChatUser> {
  if (token === '') throw invalidToken('empty token');
  try {
    return await verifier.verify(token);
  } catch (error) {
    if (error instanceof TokenRejectedError) throw invalidToken(error.message);
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
 * inputs would be valid), and with it each route's scope: every route registered in the scope after
 * this call must declare its scope with `security: userSecurity(…)` (else the start fails), and a token
 * without it is refused with 403 insufficient_scope before validation and before any handler runs, so
 * nothing is stored. Call it before the scope's routes. Returns the accessor the handlers use.
 */
export function registerUserPrincipal(
  scope: Parameters<typeof registerPrincipal>[0],
  verifier: UserTokenVerifier,
): (request: FastifyRequest) => ChatUser {
  (scope as FastifyInstance).addHook('onRoute', (route) => {
    const needed = declaredScope(route);
    if (!needed)
      throw new Error(
        `${String(route.method)} ${route.url}: a user route must declare its scope (security: userSecurity(…))`,
      );
    route.config = { ...(route.config as object), requiredScope: needed } as typeof route.config;
  });
  registerPrincipal(scope, {
    authenticate: async (request) => {
      const token = bearerToken(request);
      return token === null ? null : authenticateToken(verifier, token);
    },
    unauthenticated,
    authorize: (user, request) => {
      // A request that reached no declared route (none today) needs the stronger scope: fail closed.
      const config = request.routeOptions.config as ScopedRouteConfig | undefined;
      requireScope(user, config?.requiredScope ?? ChatScopes.write);
    },
  });
  return requireUser;
}

/** The caller of a route in a scope that registered the user principal. */
export function requireUser(request: FastifyRequest): ChatUser {
  if (!request.principal) throw unauthenticated();
  return request.principal as ChatUser;
}
