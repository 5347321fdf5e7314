import type { HttpServer } from '@groupchat/service-kit';
import { accountServicesFor } from '../accounts/index.ts';
import type { AuthCore } from '../core.ts';
import { identityRoutes } from './routes.ts';
import type { IdentityService } from './service.ts';

/** Wires this context's routes to the shared identity service (see accounts/index.ts). */
export async function registerIdentity(app: HttpServer, core: AuthCore): Promise<void> {
  await identityRoutes(app, {
    identity: accountServicesFor(core).identity,
    principals: core.principals,
    cookie: core.config.session,
  });
}

/** The one IdentityService of a core: the API routes and the authorization endpoint's sign-in page share it. */
export function identityServiceFor(core: AuthCore): IdentityService {
  return accountServicesFor(core).identity;
}
