import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import { createHttpServer, type HttpServer } from '@groupchat/service-kit';
import { sql } from 'kysely';
import { registerAccounts } from './accounts/index.ts';
import { registerAudit } from './audit/routes.ts';
import { registerAuthorize } from './authorize/index.ts';
import { registerChangeFeed } from './changes/routes.ts';
import { registerClientAdmin } from './clients/index.ts';
import type { AuthCore } from './core.ts';
import { registerGroups } from './groups/index.ts';
import { registerIdentity } from './identity/index.ts';
import { registerOAuth } from './oauth/index.ts';

/**
 * Builds the auth-api HTTP application from an already-started core. Listening is the caller's job
 * (main.ts, tests, the platform launcher).
 */
export async function buildApp(core: AuthCore): Promise<HttpServer> {
  const app = await createHttpServer({
    serviceName: 'auth-api',
    description:
      'Identity (users, organizations, sessions), groups and members, and an OAuth 2.0 authorization server ' +
      '(client credentials; authorization code with PKCE, refresh tokens, OpenID Connect; RFC 9068 JWT access tokens, JWKS, ' +
      'RFC 8414 metadata, RFC 7662 introspection, RFC 7009 revocation).',
    logger: core.logger,
    trustProxy: core.config.operations.trustProxy,
    metrics: core.config.operations.metrics,
    readinessChecks: {
      database: async () => {
        await sql`select 1`.execute(core.db);
      },
      signing_key: async () => {
        core.keys.signingKey();
      },
    },
    openapi: {
      securitySchemes: {
        session: { type: 'apiKey', in: 'cookie', name: core.config.session.cookieName },
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT (RFC 9068)' },
        clientBasic: { type: 'http', scheme: 'basic', description: 'OAuth client_secret_basic' },
      },
      tags: [
        { name: 'identity', description: 'registration, login, sessions' },
        {
          name: 'accounts',
          description: 'invitations, email verification, passwords, two-factor sign-in, audit log',
        },
        { name: 'groups', description: 'groups and their members' },
        { name: 'oauth', description: 'OAuth 2.0 authorization server' },
        { name: 'admin', description: 'OAuth client administration (platform admins)' },
        { name: 'operations', description: 'health, readiness, metrics' },
      ],
    },
  });
  await app.register(cookie);
  await app.register(formbody);
  await registerIdentity(app, core);
  await registerAccounts(app, core);
  registerAudit(app, core);
  await registerGroups(app, core);
  await registerOAuth(app, core);
  await registerAuthorize(app, core);
  await registerClientAdmin(app, core);
  await registerChangeFeed(app, core);
  return app;
}
