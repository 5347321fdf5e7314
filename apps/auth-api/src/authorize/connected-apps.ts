import { ConnectedAppParams, ConnectedAppsResponse } from '@groupchat/contract';
import { HttpProblem, type HttpServer, type RateLimiter } from '@groupchat/service-kit';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { GrantService } from '../grants/service.ts';
import type { Principal, UserPrincipal } from '../principal/principal.ts';
import type { PrincipalResolver } from '../principal/resolver.ts';

const Problem = (description: string) => Type.Ref('Problem', { description });
const security: { [label: string]: string[] }[] = [{ session: [] }, { bearer: [] }];

/**
 * The apps a user has connected (consented to), and disconnecting one: the consent is forgotten and
 * every grant of the user to the app ends at once (refresh tokens refused from now on, its access
 * tokens refused within the revocation delay). The user's own session or login token only: an app
 * acting for the user cannot see or change which apps are connected.
 */
export class ConnectedApps {
  readonly #grants: GrantService;
  readonly #principals: PrincipalResolver;
  readonly #limiter: RateLimiter;
  readonly #perUserPerMinute: number;

  constructor(deps: {
    grants: GrantService;
    principals: PrincipalResolver;
    limiter: RateLimiter;
    perUserPerMinute: number;
  }) {
    this.#grants = deps.grants;
    this.#principals = deps.principals;
    this.#limiter = deps.limiter;
    this.#perUserPerMinute = deps.perUserPerMinute;
  }

  async list(caller: Principal) {
    const user = this.#owner(caller);
    const apps = await this.#grants.listConsents(user.userId);
    return {
      apps: apps.map((app) => ({
        client_id: app.clientId,
        client_name: app.clientName,
        scopes: app.scopes,
        first_party: app.firstParty,
        connected_at: app.createdAt.toISOString(),
        updated_at: app.updatedAt.toISOString(),
      })),
    };
  }

  async disconnect(caller: Principal, clientId: string): Promise<void> {
    const user = this.#owner(caller);
    const decision = await this.#limiter.hit(
      `connected-apps:user:${user.userId}`,
      this.#perUserPerMinute,
      60,
    );
    if (!decision.allowed)
      throw new HttpProblem(429, 'rate_limited', 'too many changes; retry later', {
        headers: { 'retry-after': String(decision.retryAfterSeconds) },
      });
    if (!(await this.#grants.disconnect(user.userId, clientId)))
      throw new HttpProblem(404, 'connected_app_not_found', 'this app is not connected to your account');
  }

  #owner(caller: Principal): UserPrincipal {
    this.#principals.requireOwnAccount(caller);
    return caller as UserPrincipal;
  }
}

export function registerConnectedAppRoutes(
  app: HttpServer,
  deps: { apps: ConnectedApps; principals: PrincipalResolver },
): void {
  const { apps, principals } = deps;
  const authenticate = async (request: FastifyRequest) => {
    await principals.require(request);
  };

  app.get(
    '/api/auth/connected-apps',
    {
      onRequest: authenticate,
      schema: {
        tags: ['identity'],
        summary: 'The apps the caller agreed may act for them (OAuth consents)',
        security,
        response: {
          200: ConnectedAppsResponse,
          401: Problem('not signed in'),
          403: Problem('an app’s token (not the user’s own session or login token)'),
        },
      },
    },
    async (request) => apps.list(await principals.require(request)),
  );

  app.delete(
    '/api/auth/connected-apps/:client_id',
    {
      onRequest: authenticate,
      schema: {
        tags: ['identity'],
        summary: 'Disconnect an app: forget the consent, end its refresh tokens and access tokens now',
        security,
        params: ConnectedAppParams,
        response: {
          204: Type.Null({ description: 'disconnected' }),
          400: Problem('malformed client_id'),
          401: Problem('not signed in'),
          403: Problem('an app’s token, or a cross-site request'),
          404: Problem('no such connected app'),
          429: Problem('too many changes (Retry-After)'),
        },
      },
    },
    async (request, reply) => {
      const caller = await principals.require(request);
      principals.assertSameSite(request);
      await apps.disconnect(caller, request.params.client_id);
      return reply.code(204).send(null);
    },
  );
}
