/**
 * The baseline for token issuance: oidc-provider (panva/node-oidc-provider, OpenID Certified) set up to
 * do what our /oauth/token does for chat-api-service: the client_credentials grant, client_secret_basic,
 * JWT access tokens signed ES256, chosen per resource server: the benchmark's requests carry
 * `resource=<PEER_RESOURCE>` (RFC 8707), which getResourceServerInfo maps to `accessTokenFormat: 'jwt'`.
 *
 * One process, plain node:http, the provider's own Koa stack. The client is static configuration and a
 * JWT access token is never stored (oidc-provider only persists opaque tokens), so no adapter call is
 * on this path: the peer does strictly less storage work per token than auth-api.
 *
 * Env: PORT, PEER_CLIENT_ID, PEER_CLIENT_SECRET, PEER_RESOURCE.
 */
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import Provider, { errors } from 'oidc-provider';

const port = Number(process.env.PORT ?? 0);
const clientId = process.env.PEER_CLIENT_ID ?? 'bench-client';
const clientSecret = process.env.PEER_CLIENT_SECRET ?? 'bench-client-secret-0123456789abcdef';
const resource = process.env.PEER_RESOURCE ?? 'urn:groupchat:auth-api';
const issuer = `http://127.0.0.1:${port}`;
const scopes = ['groups:read', 'members:read'];

const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signingJwk = { ...privateKey.export({ format: 'jwk' }), kid: 'bench-es256', alg: 'ES256', use: 'sig' };

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'ES256',
      scope: scopes.join(' '),
    },
  ],
  jwks: { keys: [signingJwk] },
  scopes,
  ttl: { ClientCredentials: 900 },
  cookies: { keys: ['bench-cookie-key-not-used-by-client-credentials'] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: false },
    revocation: { enabled: false },
    resourceIndicators: {
      enabled: true,
      getResourceServerInfo: async (_ctx, indicator) => {
        if (indicator !== resource) throw new errors.InvalidTarget();
        return {
          scope: scopes.join(' '),
          audience: 'auth-api',
          accessTokenTTL: 900,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'ES256' } },
        };
      },
    },
  },
});

const callback = provider.callback();
const server = createServer((request, response) => {
  if (request.url === '/health') {
    response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    return;
  }
  callback(request, response);
});
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1');

const shutdown = () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
};
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
