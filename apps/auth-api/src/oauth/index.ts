import type { HttpServer } from '@groupchat/service-kit';
import { clientServiceFor } from '../clients/index.ts';
import type { AuthCore } from '../core.ts';
import { RESOURCE_SERVERS } from '../tokens/claims.ts';
import { TokenVerifier } from '../tokens/verifier.ts';
import { DelegatedGrants } from './delegated-grants.ts';
import { authorizationServerMetadata, openidConfiguration } from './metadata.ts';
import { OAuthRateLimits } from './rate-limits.ts';
import { registerOAuthRoutes } from './routes.ts';
import { OAuthService } from './service.ts';
import { UserInfo } from './userinfo.ts';

/** Wires this context's repository, service and routes from the core. */
export async function registerOAuth(app: HttpServer, core: AuthCore): Promise<void> {
  const { config } = core;
  const service = new OAuthService({
    clients: clientServiceFor(core),
    issuer: core.tokenIssuer,
    // auth-api's own verifier accepts only aud=auth-api; introspection and revocation are about every
    // token we issue, whichever resource server it names.
    verifier: new TokenVerifier({
      keys: core.keys,
      revocations: core.revocations.list,
      issuer: config.issuer,
      audience: RESOURCE_SERVERS,
      now: core.now,
    }),
    revocations: core.revocations,
    limits: new OAuthRateLimits(core.rateLimiter, {
      tokenPerClientPerMinute: config.rateLimits.tokenPerClientPerMinute,
      tokenPerIpPerMinute: config.rateLimits.tokenPerIpPerMinute,
      slowVerificationsPerIpPerMinute: config.rateLimits.clientAuthPerIpPerMinute,
    }),
    logger: core.logger,
    issuerUrl: config.issuer,
    grants: core.grants,
    delegated: new DelegatedGrants({
      grants: core.grants,
      users: core.users,
      issuer: core.tokenIssuer,
      issuerUrl: config.issuer,
      logger: core.logger,
    }),
  });
  await registerOAuthRoutes(app, {
    service,
    keys: core.keys,
    metadata: authorizationServerMetadata(config.issuer),
    openidConfiguration: openidConfiguration(config.issuer),
    userinfo: new UserInfo({ verifier: core.tokenVerifier, users: core.users }),
    jwksMaxAgeSeconds: Math.min(300, config.keys.publishAheadSeconds),
  });
}
