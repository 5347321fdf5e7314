import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO, demoIds, eventually, request, startApi, type TestAuthApi } from './helpers.ts';

/**
 * A third-party OAuth client library (oauth4webapi, strict about the RFCs) against a real running
 * auth-api: discovery, client credentials with both authentication methods, introspection, revocation,
 * and the seed's exact call with the token it gets.
 */
describe('oauth4webapi against auth-api', () => {
  let api: TestAuthApi;
  let as: oauth.AuthorizationServer;
  const client: oauth.Client = { client_id: DEMO.serviceClientId };
  const basicAuth = oauth.ClientSecretBasic(DEMO.serviceClientSecret);
  const postAuth = oauth.ClientSecretPost(DEMO.serviceClientSecret);
  const insecure = { [oauth.allowInsecureRequests]: true } as const;

  beforeAll(async () => {
    api = await startApi();
  });
  afterAll(async () => {
    await api?.close();
  });

  it('discovers the authorization server (RFC 8414)', async () => {
    const issuer = new URL(api.url);
    const response = await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure });
    as = await oauth.processDiscoveryResponse(issuer, response);
    expect(as.issuer).toBe(api.running.core.config.issuer);
    expect(as.issuer).toBe(api.url);
    expect(as).toMatchObject({
      token_endpoint: `${api.url}/oauth/token`,
      introspection_endpoint: `${api.url}/oauth/introspect`,
      revocation_endpoint: `${api.url}/oauth/revoke`,
      jwks_uri: `${api.url}/.well-known/jwks.json`,
      grant_types_supported: ['client_credentials', 'authorization_code', 'refresh_token'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
      introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
      scopes_supported: [
        'groups:read',
        'groups:write',
        'members:read',
        'admin:clients',
        'openid',
        'profile',
        'email',
      ],
    });
  });

  it('publishes JWKS with kid, alg and use, cacheable for a short while', async () => {
    const response = await fetch(as.jwks_uri!);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toMatch(/max-age=\d+/);
    const jwks = (await response.json()) as { keys: Record<string, string>[] };
    expect(jwks.keys.length).toBeGreaterThanOrEqual(1);
    for (const key of jwks.keys) {
      expect(key).toMatchObject({
        kty: 'EC',
        crv: 'P-256',
        alg: 'ES256',
        use: 'sig',
        kid: expect.any(String),
      });
      expect(key.d).toBeUndefined();
    }
  });

  async function clientCredentials(auth: oauth.ClientAuth, parameters: Record<string, string> = {}) {
    const response = await oauth.clientCredentialsGrantRequest(as, client, auth, parameters, insecure);
    return oauth.processClientCredentialsResponse(as, client, response);
  }

  it('gets a token with client_secret_basic, and the seed’s call succeeds with it', async () => {
    const result = await clientCredentials(basicAuth, { scope: 'groups:read' });
    expect(result.token_type).toBe('bearer'); // oauth4webapi normalises the case
    expect(result.expires_in).toBe(900);
    expect(result.scope).toBe('groups:read');
    // The resource-server side of oauth4webapi accepts it as an RFC 9068 JWT access token for auth-api.
    const { groupId, acmeOrgId } = await demoIds(api);
    const url = `${api.url}/api/auth/groups/${groupId}`;
    const claims = await oauth.validateJwtAccessToken(
      as,
      new Request(url, { headers: { authorization: `Bearer ${result.access_token}` } }),
      'auth-api',
      insecure,
    );
    expect(claims).toMatchObject({
      sub: DEMO.serviceClientId,
      client_id: DEMO.serviceClientId,
      iss: api.url,
    });
    // The seed's blocker: GET /api/auth/groups/{id} with the client-credentials token.
    const group = await request(url, { token: result.access_token });
    expect(group.status).toBe(200);
    expect(group.body).toMatchObject({ id: groupId, name: 'general', org_id: acmeOrgId, member_count: 2 });
  });

  it('gets a token with client_secret_post, and for chat-api with a resource indicator', async () => {
    const result = await clientCredentials(postAuth, { resource: 'chat-api' });
    expect(result.scope).toBe('groups:read members:read');
    const claims = await oauth.validateJwtAccessToken(
      as,
      new Request('http://chat.example/', { headers: { authorization: `Bearer ${result.access_token}` } }),
      'chat-api',
      insecure,
    );
    expect(claims.aud).toBe('chat-api');
    // auth-api is not the audience of this token.
    const { groupId } = await demoIds(api);
    const refused = await request(`${api.url}/api/auth/groups/${groupId}`, { token: result.access_token });
    expect(refused.status).toBe(401);
  });

  it('surfaces OAuth errors as RFC 6749 error bodies', async () => {
    const response = await oauth.clientCredentialsGrantRequest(
      as,
      client,
      oauth.ClientSecretBasic('not-the-secret'),
      {},
      insecure,
    );
    expect(response.status).toBe(401);
    // A 401 carries the Basic challenge, which oauth4webapi surfaces as such.
    await expect(oauth.processClientCredentialsResponse(as, client, response)).rejects.toMatchObject({
      code: oauth.WWW_AUTHENTICATE_CHALLENGE,
      status: 401,
      cause: [{ scheme: 'basic', parameters: { realm: 'auth-api' } }],
    });
    const scoped = await oauth.clientCredentialsGrantRequest(
      as,
      client,
      basicAuth,
      { scope: 'admin:clients' },
      insecure,
    );
    await expect(oauth.processClientCredentialsResponse(as, client, scoped)).rejects.toMatchObject({
      error: 'invalid_scope',
    });
  });

  it('introspects with both authentication methods (RFC 7662)', async () => {
    const token = (await clientCredentials(basicAuth)).access_token;
    for (const auth of [basicAuth, postAuth]) {
      const response = await oauth.introspectionRequest(as, client, auth, token, insecure);
      const result = await oauth.processIntrospectionResponse(as, client, response);
      expect(result).toMatchObject({
        active: true,
        client_id: DEMO.serviceClientId,
        sub: DEMO.serviceClientId,
        aud: 'auth-api',
        iss: api.url,
        scope: 'groups:read members:read',
        token_type: 'Bearer',
        jti: expect.any(String),
        exp: expect.any(Number),
        iat: expect.any(Number),
      });
      expect(result.org_id).toBeUndefined();
    }
    const garbage = await oauth.introspectionRequest(as, client, basicAuth, 'not.a.token', insecure);
    expect(await oauth.processIntrospectionResponse(as, client, garbage)).toEqual({ active: false });
  });

  it('revokes with both authentication methods (RFC 7009); revoked tokens are inactive and refused', async () => {
    const { groupId } = await demoIds(api);
    for (const auth of [basicAuth, postAuth]) {
      const token = (await clientCredentials(auth)).access_token;
      expect((await request(`${api.url}/api/auth/groups/${groupId}`, { token })).status).toBe(200);
      const response = await oauth.revocationRequest(as, client, auth, token, insecure);
      expect(response.status).toBe(200);
      expect(await response.clone().text()).toBe('');
      await oauth.processRevocationResponse(response);
      const introspection = await oauth.processIntrospectionResponse(
        as,
        client,
        await oauth.introspectionRequest(as, client, basicAuth, token, insecure),
      );
      expect(introspection).toEqual({ active: false });
      await eventually(
        async () => (await request(`${api.url}/api/auth/groups/${groupId}`, { token })).status === 401,
        5_000,
      );
    }
    // Unknown and malformed tokens get the same empty 200.
    const unknown = await oauth.revocationRequest(as, client, basicAuth, 'garbage', insecure);
    expect(unknown.status).toBe(200);
    expect(await unknown.text()).toBe('');
  });
});
