import type { HttpServer } from '@groupchat/service-kit';
import type { AuthCore } from '../core.ts';
import { createOrgRepository } from '../orgs/repository.ts';
import { identityRoutes } from './routes.ts';
import { IdentityService } from './service.ts';

/** Wires this context's repositories, service and routes from the core. */
export async function registerIdentity(app: HttpServer, core: AuthCore): Promise<void> {
  const identity = new IdentityService({
    users: core.users,
    orgs: createOrgRepository(core.db),
    passwords: core.passwords,
    sessions: core.sessions,
    tokens: core.tokenIssuer,
    limits: core.limits,
    transaction: (work) => core.db.transaction().execute(work),
  });
  await identityRoutes(app, {
    identity,
    principals: core.principals,
    cookie: core.config.session,
  });
}
