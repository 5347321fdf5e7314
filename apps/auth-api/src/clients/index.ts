import type { HttpServer } from '@groupchat/service-kit';
import type { AuthCore } from '../core.ts';

/** Wires this context's repository, service and routes from the core. */
export async function registerClientAdmin(_app: HttpServer, _core: AuthCore): Promise<void> {}

/** Creates (or updates the secret of) the clients declared in configuration, e.g. chat-api-service. */
export async function ensureDeclaredClients(_core: AuthCore): Promise<void> {}
