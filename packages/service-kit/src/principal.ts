import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { HttpServer } from './http.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * Who is calling, set by the principal hook of the route scope (registerPrincipal). Typed by the
     * accessor that registerPrincipal returns; null outside such a scope.
     */
    principal: unknown;
  }
}

export interface PrincipalOptions<P> {
  /** The caller, or null when the request carries no credentials; bad credentials throw (401). */
  authenticate(request: FastifyRequest): Promise<P | null>;
  /** The 401 to throw when there are no credentials at all. */
  unauthenticated(): Error;
  /** Checks every route of the scope needs (e.g. platform admin: 403), before any validation. */
  authorize?(principal: P, request: FastifyRequest): void | Promise<void>;
}

/**
 * The one way a route scope learns who is calling. Registered once per scope, it decorates
 * `request.principal` and fills it in the scope's `onRequest` hook, which runs before the body is
 * parsed and validated: an anonymous caller gets 401 (and a caller without the right, 403) before
 * any 400, and learns nothing about the inputs. Returns the typed accessor the scope's handlers use.
 */
export function registerPrincipal<P>(
  scope: FastifyInstance | HttpServer,
  options: PrincipalOptions<P>,
): (request: FastifyRequest) => P {
  const instance = scope as FastifyInstance;
  if (!instance.hasRequestDecorator('principal')) instance.decorateRequest('principal', null);
  instance.addHook('onRequest', async (request) => {
    const principal = await options.authenticate(request);
    if (principal === null) throw options.unauthenticated();
    await options.authorize?.(principal, request);
    request.principal = principal;
  });
  return (request) => {
    if (request.principal === null || request.principal === undefined)
      throw new Error('principal read outside a scope that registered it');
    return request.principal as P;
  };
}

/**
 * Registers `routes` in their own encapsulated scope (hooks and decorators stay inside), typed as the
 * service's HTTP server so route schemas keep their TypeBox types.
 */
export async function routeScope(
  app: HttpServer,
  routes: (scope: HttpServer) => void | Promise<void>,
): Promise<void> {
  await app.register(async (plugin) => routes(plugin as unknown as HttpServer));
}
