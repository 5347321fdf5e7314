import type { HttpServer } from '@groupchat/service-kit';
import { clientServiceFor } from '../clients/index.ts';
import type { AuthCore } from '../core.ts';
import { identityServiceFor } from '../identity/index.ts';
import { ConnectedApps, registerConnectedAppRoutes } from './connected-apps.ts';
import { registerAuthorizeRoutes } from './routes.ts';
import { AuthorizeService } from './service.ts';

/** Wires the authorization endpoint (pages) and connected apps from the core. */
export async function registerAuthorize(app: HttpServer, core: AuthCore): Promise<void> {
  const { config } = core;
  const service = new AuthorizeService({
    clients: clientServiceFor(core),
    grants: core.grants,
    identity: identityServiceFor(core),
    sessions: core.sessions,
    users: core.users,
    rateLimiter: core.rateLimiter,
    issuer: config.issuer,
    pagesPerIpPerMinute: config.rateLimits.authorizePerIpPerMinute,
    now: core.now,
  });
  await registerAuthorizeRoutes(app, {
    service,
    principals: core.principals,
    cookie: config.session,
    issuer: config.issuer,
  });
  registerConnectedAppRoutes(app, {
    apps: new ConnectedApps({
      grants: core.grants,
      principals: core.principals,
      limiter: core.rateLimiter,
      perUserPerMinute: config.rateLimits.connectedAppChangesPerUserPerMinute,
    }),
    principals: core.principals,
  });
}
