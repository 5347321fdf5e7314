import type { HttpServer } from '@groupchat/service-kit';
import type { AuthCore } from '../core.ts';
import { createOrgRepository } from '../orgs/repository.ts';
import { groupCacheFor } from './cache.ts';
import { MembershipEvents } from './events.ts';
import { createGroupRepository } from './repository.ts';
import { groupRoutes } from './routes.ts';
import { GroupService } from './service.ts';

/** Wires this context's repository, service and routes from the core. */
export async function registerGroups(app: HttpServer, core: AuthCore): Promise<void> {
  const groups = new GroupService({
    groups: createGroupRepository(core.db),
    users: core.users,
    orgs: createOrgRepository(core.db),
    scopes: core.principals,
    events: new MembershipEvents({ bus: core.bus, logger: core.logger, now: core.now }),
    audit: core.audit,
    cache: groupCacheFor(core),
  });
  await groupRoutes(app, { groups, principals: core.principals });
}
