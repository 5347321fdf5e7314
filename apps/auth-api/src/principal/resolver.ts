import type { FastifyRequest } from 'fastify';
import type { SessionService } from '../sessions/service.ts';
import { type AccessTokenClaims, isUserToken, PLATFORM_CLIENT_ID, scopesOf } from '../tokens/claims.ts';
import { InvalidTokenError, type TokenVerifier } from '../tokens/verifier.ts';
import type { UserRepository } from '../users/repository.ts';
import {
  authenticationRequired,
  crossSiteRequest,
  insufficientScope,
  invalidSession,
  invalidToken,
} from './errors.ts';
import type { Principal, ServicePrincipal } from './principal.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const resolved = new WeakMap<FastifyRequest, Principal | null>();

/**
 * The one way every protected route learns who is calling. Order: an Authorization header wins (and
 * must then be a valid Bearer token: a bad token is never silently replaced by a cookie); otherwise
 * the session cookie, which for writes must pass the Fetch-metadata cross-site check.
 */
export class PrincipalResolver {
  readonly #verifier: TokenVerifier;
  readonly #sessions: SessionService;
  readonly #users: UserRepository;
  readonly #cookieName: string;
  readonly #allowedOrigins: ReadonlySet<string>;

  constructor(options: {
    verifier: TokenVerifier;
    sessions: SessionService;
    users: UserRepository;
    cookieName: string;
    allowedOrigins: readonly string[];
  }) {
    this.#verifier = options.verifier;
    this.#sessions = options.sessions;
    this.#users = options.users;
    this.#cookieName = options.cookieName;
    this.#allowedOrigins = new Set(options.allowedOrigins);
  }

  /** The caller, or null when the request carries no credentials at all. Bad credentials throw 401. */
  async optional(request: FastifyRequest): Promise<Principal | null> {
    if (resolved.has(request)) return resolved.get(request) ?? null;
    const principal = await this.#resolve(request);
    resolved.set(request, principal);
    return principal;
  }

  async require(request: FastifyRequest): Promise<Principal> {
    const principal = await this.optional(request);
    if (!principal) throw authenticationRequired();
    return principal;
  }

  /**
   * A service, or a user's Bearer token, must hold `scope`; a user's rights (roles, membership) are
   * checked by the service layer on top, so an app acting for a user never does more than the user could.
   */
  requireScope(principal: Principal, scope: string): void {
    if (principal.scopes !== null && !principal.scopes.has(scope)) throw insufficientScope(scope);
  }

  /** Endpoints about the account itself (sessions, connected apps): the user, not an app acting for them. */
  requireOwnAccount(principal: Principal): void {
    if (principal.type !== 'user' || principal.delegatedTo !== null) throw insufficientScope('account');
  }

  async requireService(request: FastifyRequest, scope: string): Promise<ServicePrincipal> {
    const principal = await this.require(request);
    if (principal.type !== 'service') throw insufficientScope(scope);
    this.requireScope(principal, scope);
    return principal;
  }

  /** Fetch-metadata defence for cookie-authenticated writes (and for login, against login CSRF). */
  assertSameSite(request: FastifyRequest): void {
    if (SAFE_METHODS.has(request.method)) return;
    const site = request.headers['sec-fetch-site'];
    if (site === 'cross-site') throw crossSiteRequest();
    const origin = request.headers.origin;
    if (origin !== undefined && !this.#allowedOrigins.has(origin)) throw crossSiteRequest();
  }

  cookieValue(request: FastifyRequest): string | undefined {
    const value = (request as FastifyRequest & { cookies?: Record<string, string | undefined> }).cookies?.[
      this.#cookieName
    ];
    return value || undefined;
  }

  async #resolve(request: FastifyRequest): Promise<Principal | null> {
    const authorization = request.headers.authorization;
    if (authorization !== undefined) return this.#fromAuthorization(authorization);
    const cookie = this.cookieValue(request);
    if (cookie === undefined) return null;
    this.assertSameSite(request);
    const session = await this.#sessions.findByCookie(cookie);
    if (!session) throw invalidSession();
    const user = await this.#users.findById(session.userId);
    if (!user) throw invalidSession();
    return {
      type: 'user',
      userId: user.id,
      orgId: user.orgId,
      role: user.role,
      email: user.email,
      displayName: user.displayName,
      emailVerified: user.emailVerified,
      mfaEnabled: user.mfaEnabled,
      sessionId: session.id,
      via: 'session',
      delegatedTo: null,
      scopes: null,
    };
  }

  async #fromAuthorization(authorization: string): Promise<Principal> {
    const match = /^Bearer ([A-Za-z0-9\-_.~+/]+=*)$/i.exec(authorization.trim());
    if (!match?.[1]) throw invalidToken('the Authorization header must be "Bearer <access token>"');
    let claims: AccessTokenClaims;
    try {
      claims = await this.#verifier.verify(match[1]);
    } catch (error) {
      if (error instanceof InvalidTokenError) throw invalidToken(error.message);
      throw error;
    }
    if (!isUserToken(claims)) {
      return { type: 'service', clientId: claims.client_id, scopes: new Set(scopesOf(claims)) };
    }
    const user = await this.#users.findById(claims.sub);
    if (!user || user.orgId !== claims.org_id || !claims.sid)
      throw invalidToken('the token names no current user');
    return {
      type: 'user',
      userId: user.id,
      orgId: user.orgId,
      role: user.role,
      email: user.email,
      displayName: user.displayName,
      emailVerified: user.emailVerified,
      mfaEnabled: user.mfaEnabled,
      sessionId: claims.sid,
      via: 'bearer',
      delegatedTo: claims.client_id === PLATFORM_CLIENT_ID ? null : claims.client_id,
      scopes: new Set(scopesOf(claims)),
    };
  }
}
