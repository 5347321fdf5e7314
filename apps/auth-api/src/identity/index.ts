import type { HttpServer } from '@groupchat/service-kit';
import type { AuthCore } from '../core.ts';
import { createOrgRepository } from '../orgs/repository.ts';
import { identityRoutes } from './routes.ts';
import { IdentityService } from './service.ts';

const services = new WeakMap<AuthCore, IdentityService>();

/** The one IdentityService of a core: the API routes and the authorization endpoint's sign-in page share it. */
export function identityServiceFor(core: AuthCore): IdentityService {
  let identity = services.get(core);
  if (!identity) {
    identity = createIdentityService(core);
    services.set(core, identity);
  }
  return identity;
}

/** Wires this context's repositories, service and routes from the core. */
export async function registerIdentity(app: HttpServer, core: AuthCore): Promise<void> {
  const identity = identityServiceFor(core);
  await identityRoutes(app, {
    identity,
    principals: core.principals,
    cookie: core.config.session,
  });
}

function createIdentityService(core: AuthCore): IdentityService {
  return new IdentityService({
    users: core.users,
    orgs: createOrgRepository(core.db),
    passwords: core.passwords,
    sessions: core.sessions,
    tokens: core.tokenIssuer,
    rateLimiter: core.rateLimiter,
    limits: core.config.rateLimits,
    transaction: (work) => core.db.transaction().execute(work),
  });
}
