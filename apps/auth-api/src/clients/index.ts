import type { EventBus, HttpServer } from '@groupchat/service-kit';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { createAuditRepository } from '../audit/repository.ts';
import type { AuthCore } from '../core.ts';
import type { Argon2idHasher } from '../crypto/argon2id.ts';
import type { AuthDB } from '../db/schema.ts';
import { createClientRepository } from './repository.ts';
import { registerClientRoutes } from './routes.ts';
import { ClientService } from './service.ts';

export type { Actor, ClientView, CreatedClient, RotatedSecret } from './service.ts';
export { ClientService } from './service.ts';

export function createClientService(deps: {
  db: Kysely<AuthDB>;
  hasher: Argon2idHasher;
  logger: Logger;
  now?: () => number;
  exclusiveDatabase?: boolean;
  /** Shared database: announce changes here and hear other instances' (see ClientService). */
  bus?: EventBus;
}): ClientService {
  return new ClientService({
    repository: createClientRepository(deps.db),
    hasher: deps.hasher,
    audit: createAuditRepository(deps.db),
    logger: deps.logger,
    ...(deps.now ? { now: deps.now } : {}),
    exclusiveDatabase: deps.exclusiveDatabase ?? false,
    bus: deps.bus,
  });
}

const services = new WeakMap<Kysely<AuthDB>, ClientService>();

/**
 * The one ClientService per database handle: the admin routes, the OAuth endpoints (client
 * authentication) and boot-time configuration share it, and with it the caches. Client records are
 * cached on PGlite (the process owns the database: invalidated by our own writes) and on PostgreSQL
 * with a Redis bus (every instance announces its changes there); on PostgreSQL with an in-process bus
 * (which cannot reach other instances or the CLI) every authentication reads the database.
 */
export function clientServiceFor(core: AuthCore): ClientService {
  let service = services.get(core.db);
  if (!service) {
    service = createClientService({
      db: core.db,
      hasher: core.hasher,
      logger: core.logger,
      now: core.now,
      exclusiveDatabase: core.config.database.kind === 'pglite',
      ...(core.bus.kind === 'redis' ? { bus: core.bus } : {}),
    });
    services.set(core.db, service);
  }
  return service;
}

/** Wires this context's repository, service and routes from the core. */
export async function registerClientAdmin(app: HttpServer, core: AuthCore): Promise<void> {
  await registerClientRoutes(app, { service: clientServiceFor(core), principals: core.principals });
}

/** Creates (or updates the secret of) the clients declared in configuration, e.g. chat-api-service. */
export async function ensureDeclaredClients(core: AuthCore): Promise<void> {
  const service = clientServiceFor(core);
  await service.ensureDeclared(core.config.declaredClients);
  const purged = await service.deleteExpiredSecrets();
  if (purged > 0)
    core.logger.info(
      { event: 'oauth_client_secrets_purged', count: purged },
      'expired client secrets purged',
    );
}
