import type { HttpServer } from '@groupchat/service-kit';
import type { AuthCore } from '../core.ts';

/** Wires this context's repository, service and routes from the core. */
export async function registerGroups(_app: HttpServer, _core: AuthCore): Promise<void> {}
