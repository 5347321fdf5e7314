import {
  CreateUserBody,
  CreateUserResponse,
  LoginBody,
  LoginResponse,
  MeResponse,
  MfaChallengeResponse,
  OrgParams,
  OrgSchema,
  RegisterBody,
  RegisterResponse,
  UserListResponse,
} from '@groupchat/contract';
import { HttpProblem, type HttpServer, problemResponses, routeScope } from '@groupchat/service-kit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Principal } from '../principal/principal.ts';
import type { PrincipalResolver } from '../principal/resolver.ts';
import { clearSessionCookie, type SessionCookieSettings, setSessionCookie } from '../sessions/cookie.ts';
import type { IdentityService } from './service.ts';

export interface IdentityRouteDeps {
  identity: IdentityService;
  principals: PrincipalResolver;
  cookie: SessionCookieSettings;
}

const userOrService: Record<string, string[]>[] = [{ session: [] }, { bearer: [] }];

/** Thin HTTP layer: authenticate, hand validated input to the service, shape the reply. */
export async function identityRoutes(app: HttpServer, deps: IdentityRouteDeps): Promise<void> {
  const { identity, principals, cookie } = deps;

  app.post(
    '/api/auth/register',
    {
      schema: {
        tags: ['identity'],
        summary: 'Create an organization and its first user, its owner',
        description: 'Rate limited per client address and per email: 429 with Retry-After.',
        body: RegisterBody,
        response: { 201: RegisterResponse, ...problemResponses(400, 403, 409, 429, 503) },
      },
    },
    async (request, reply) => {
      principals.assertSameSite(request);
      return reply.code(201).send(await identity.register(request.body, request.ip, request.clientKey));
    },
  );

  app.post(
    '/api/auth/login',
    {
      schema: {
        tags: ['identity'],
        summary: 'Sign in: a user access token, and an HttpOnly session cookie',
        description:
          'A wrong email and a wrong password get the same 401. Rate limited per client IP and per ' +
          'email: 429 with Retry-After. A user with two-factor sign-in gets `{mfa_required, mfa_token, ' +
          'expires_in}` (no token, no cookie) and completes at POST /api/auth/login/mfa.',
        body: LoginBody,
        response: {
          200: Type.Union([LoginResponse, MfaChallengeResponse]),
          ...problemResponses(400, 401, 403, 429),
        },
      },
    },
    async (request, reply) => {
      // Login CSRF: a foreign site must not sign the browser in to an account of its choosing.
      principals.assertSameSite(request);
      const result = await identity.login(request.body, request.ip, request.clientKey);
      reply.header('cache-control', 'no-store');
      if (result.kind === 'mfa') return reply.send(result.challenge);
      setSessionCookie(reply, cookie, result.cookieValue);
      return reply.send(result.response);
    },
  );

  // Body-less POSTs: many clients still send `Content-Type: application/json` with no body, which
  // Fastify's JSON parser refuses; in this scope an empty JSON body simply means "no body".
  await app.register(async (scope) => {
    acceptEmptyJsonBody(scope);

    scope.post(
      '/api/auth/token/refresh',
      {
        schema: {
          tags: ['identity'],
          summary: 'A fresh user access token for the session cookie',
          security: [{ session: [] }],
          response: { 200: LoginResponse, ...problemResponses(401, 403) },
        },
      },
      async (request, reply) => {
        principals.assertSameSite(request);
        const response = await identity.refresh(principals.cookieValue(request));
        return reply.header('cache-control', 'no-store').send(response);
      },
    );

    scope.post(
      '/api/auth/logout',
      {
        schema: {
          tags: ['identity'],
          summary: 'End the session (cookie or user Bearer token); its tokens die with it',
          description:
            'Idempotent for the cookie: a cookie whose session already ended is cleared with 204. ' +
            'Without any credentials: 401.',
          security: userOrService,
          response: { 204: Type.Null({ description: 'signed out' }), ...problemResponses(401, 403) },
        },
      },
      async (request, reply) => {
        const caller = await callerOrEndedSession(principals, request);
        if (caller) await identity.logout(caller, request.ip);
        clearSessionCookie(reply, cookie);
        return reply.code(204).send(null);
      },
    );
  });

  // Everything else needs a caller: a user (session or Bearer) or a service (client credentials).
  await routeScope(app, (scope) => authenticatedRoutes(scope, deps));
}

function authenticatedRoutes(app: HttpServer, deps: IdentityRouteDeps): void {
  const { identity, principals } = deps;
  const caller = principals.registerOn(app);

  app.get(
    '/api/auth/orgs/:org_id',
    {
      schema: {
        tags: ['identity'],
        summary: 'The caller’s organization (another organization: 404)',
        security: userOrService,
        params: OrgParams,
        response: { 200: OrgSchema, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => identity.getOrg(caller(request), request.params.org_id),
  );

  app.post(
    '/api/auth/orgs/:org_id/users',
    {
      schema: {
        tags: ['identity'],
        summary: 'Create a user in the organization (its owners and admins only)',
        description:
          'role is member (default) or admin. Another organization answers 404; an email already ' +
          'registered anywhere answers 409.',
        security: userOrService,
        params: OrgParams,
        body: CreateUserBody,
        response: { 201: CreateUserResponse, ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const user = await identity.createUser(
        caller(request),
        request.params.org_id,
        request.body,
        request.ip,
      );
      return reply.code(201).send({ user });
    },
  );

  app.get(
    '/api/auth/orgs/:org_id/users',
    {
      schema: {
        tags: ['identity'],
        summary: 'The users of the caller’s organization',
        security: userOrService,
        params: OrgParams,
        response: { 200: UserListResponse, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => ({
      users: await identity.listOrgUsers(caller(request), request.params.org_id),
    }),
  );

  app.get(
    '/api/auth/me',
    {
      schema: {
        tags: ['identity'],
        summary: 'The caller: a user, or a service (client-credentials token)',
        security: userOrService,
        response: { 200: MeResponse, ...problemResponses(401) },
      },
    },
    async (request) => identity.me(caller(request)),
  );
}

/** In this scope a JSON content type with an empty body means "no body" (as many clients send it). */
export function acceptEmptyJsonBody(
  scope: Pick<FastifyInstance, 'removeContentTypeParser' | 'addContentTypeParser'>,
): void {
  scope.removeContentTypeParser('application/json');
  scope.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(new HttpProblem(400, 'malformed_body', 'the request body is not valid JSON'), undefined);
    }
  });
}

/** The caller, or null when the only credential is a cookie whose session has already ended. */
async function callerOrEndedSession(
  principals: PrincipalResolver,
  request: FastifyRequest,
): Promise<Principal | null> {
  try {
    return await principals.require(request);
  } catch (error) {
    if (error instanceof HttpProblem && error.code === 'invalid_session') return null;
    throw error;
  }
}
