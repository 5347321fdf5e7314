import { createHmac, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenIssuer } from '../../src/tokens/issuer.ts';
import {
  basic,
  createClient,
  DEMO,
  decodeJwt,
  demoIds,
  postForm,
  request,
  serviceToken,
  startApi,
  type TestAuthApi,
  tokenFor,
} from './helpers.ts';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function signEs256(header: object, payload: object, key: KeyObject): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const signature = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}

/** RFC 6750 §3: error_description is limited to these characters; quoted-string values never break out. */
const INVALID_TOKEN_CHALLENGE =
  /^Bearer realm="auth-api", error="invalid_token", error_description="[\x20\x21\x23-\x5B\x5D-\x7E]*"$/;

describe('forged and invalid Bearer tokens', () => {
  let api: TestAuthApi;
  let ids: Awaited<ReturnType<typeof demoIds>>;
  let forged: Record<string, string>;

  beforeAll(async () => {
    api = await startApi();
    ids = await demoIds(api);
    const core = api.running.core;
    const valid = await serviceToken(api);
    const { header, payload } = decodeJwt(valid);
    const kid = header.kid as string;
    const now = Math.floor(Date.now() / 1000);
    const claims = { ...payload, iat: now, exp: now + 600, jti: crypto.randomUUID() };
    const ourKey = core.keys.signingKey().privateKey;
    const foreign = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const [h, p, s] = valid.split('.');
    const publicJwk = core.keys.jwks().keys.find((key) => key.kid === kid)!;
    const hsInput = `${b64({ alg: 'HS256', typ: 'at+jwt', kid })}.${b64({ ...claims, scope: 'admin:clients' })}`;
    const pastIssuer = new TokenIssuer({
      keys: core.keys,
      issuer: core.config.issuer,
      ttlSeconds: 60,
      now: () => Date.now() - 3_600_000,
    });
    forged = {
      'alg none': `${b64({ alg: 'none', typ: 'at+jwt', kid })}.${b64({ ...claims, scope: 'admin:clients' })}.`,
      'alg none, signature kept': `${b64({ alg: 'none', typ: 'at+jwt', kid })}.${p}.${s}`,
      'tampered payload': `${h}.${b64({ ...payload, scope: 'groups:read members:read admin:clients' })}.${s}`,
      'tampered header': `${b64({ alg: 'ES256', typ: 'at+jwt', kid, jku: 'https://evil.example/jwks' })}.${p}.${s}`,
      'foreign key with a known kid': signEs256({ alg: 'ES256', typ: 'at+jwt', kid }, claims, foreign),
      'foreign key with an unknown kid': signEs256(
        { alg: 'ES256', typ: 'at+jwt', kid: 'nope' },
        claims,
        foreign,
      ),
      'no kid': signEs256({ alg: 'ES256', typ: 'at+jwt' }, claims, ourKey),
      'HS256 keyed with our public key (alg confusion)': `${hsInput}.${createHmac(
        'sha256',
        JSON.stringify(publicJwk),
      )
        .update(hsInput)
        .digest('base64url')}`,
      expired: pastIssuer.issueServiceToken(DEMO.serviceClientId, ['groups:read'], 'auth-api').access_token,
      'wrong audience (chat-api)': core.tokenIssuer.issueServiceToken(
        DEMO.serviceClientId,
        ['groups:read'],
        'chat-api',
      ).access_token,
      'unknown audience': signEs256(
        { alg: 'ES256', typ: 'at+jwt', kid },
        { ...claims, aud: 'other-api' },
        ourKey,
      ),
      'wrong issuer': signEs256(
        { alg: 'ES256', typ: 'at+jwt', kid },
        { ...claims, iss: 'https://evil.example' },
        ourKey,
      ),
      'typ JWT instead of at+jwt': signEs256({ alg: 'ES256', typ: 'JWT', kid }, claims, ourKey),
      'missing jti': signEs256({ alg: 'ES256', typ: 'at+jwt', kid }, { ...claims, jti: undefined }, ourKey),
      'not yet valid (nbf)': signEs256(
        { alg: 'ES256', typ: 'at+jwt', kid },
        { ...claims, nbf: now + 3600 },
        ourKey,
      ),
      garbage: 'garbage',
      'three garbage parts': 'abc.def.ghi',
      'quotes and backslashes': 'a"b\\c',
      'very long': 'x'.repeat(6000),
    };
  });
  afterAll(async () => {
    await api?.close();
  });

  it('the valid token it derives from is accepted (control)', async () => {
    const token = await serviceToken(api);
    expect((await request(`${api.url}/api/auth/groups/${ids.groupId}`, { token })).status).toBe(200);
  });

  it('refuses each one on the group endpoint and the admin endpoint: 401 invalid_token', async () => {
    for (const [name, token] of Object.entries(forged)) {
      for (const url of [`${api.url}/api/auth/groups/${ids.groupId}`, `${api.url}/admin/oauth/clients`]) {
        const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
        expect(response.status, `${name} on ${url}`).toBe(401);
        expect(response.headers.get('content-type'), name).toContain('application/problem+json');
        const challenge = response.headers.get('www-authenticate') ?? '';
        expect(challenge, name).toMatch(INVALID_TOKEN_CHALLENGE);
        const body = (await response.json()) as { status: number; detail: string };
        expect(body.status).toBe(401);
        expect(JSON.stringify(body)).not.toMatch(/at \w+ \(|node_modules/); // no stack trace
      }
    }
  });

  it('reports each one inactive on introspection', async () => {
    const auth = { authorization: basic(DEMO.serviceClientId, DEMO.serviceClientSecret) };
    for (const [name, token] of Object.entries(forged)) {
      const response = await postForm(`${api.url}/oauth/introspect`, { token }, auth);
      expect(response.status, name).toBe(200);
      // A genuine chat-api token is not valid at auth-api, but it is ours and valid: introspection
      // answers for every resource server.
      if (name === 'wrong audience (chat-api)')
        expect(response.body).toMatchObject({ active: true, aud: 'chat-api' });
      else expect(response.body, name).toEqual({ active: false });
    }
  });

  it('revoking any of them is a no-op 200 with an empty body', async () => {
    const auth = { authorization: basic(DEMO.serviceClientId, DEMO.serviceClientSecret) };
    for (const [name, token] of Object.entries(forged)) {
      if (name.startsWith('wrong audience')) continue; // a real token of ours: revocable (tested elsewhere)
      const response = await postForm(`${api.url}/oauth/revoke`, { token }, auth);
      expect(response.status, name).toBe(200);
      expect(response.text, name).toBe('');
    }
  });

  it('answers malformed Authorization headers with 401, and none with a bare challenge', async () => {
    for (const authorization of ['Bearer', 'Bearer ', 'Basic abc', 'bearer  two words', 'Token abc']) {
      const response = await fetch(`${api.url}/api/auth/groups/${ids.groupId}`, {
        headers: { authorization },
      });
      expect(response.status, authorization).toBe(401);
      expect(response.headers.get('www-authenticate'), authorization).toMatch(INVALID_TOKEN_CHALLENGE);
    }
    const none = await fetch(`${api.url}/api/auth/groups/${ids.groupId}`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="auth-api"');
  });
});

describe('insufficient scope on each group route', () => {
  let api: TestAuthApi;
  let ids: Awaited<ReturnType<typeof demoIds>>;

  beforeAll(async () => {
    api = await startApi();
    ids = await demoIds(api);
  });
  afterAll(async () => {
    await api?.close();
  });

  /** Every group route, the scope a service needs for it, and a request that would otherwise succeed. */
  function routes() {
    const group = `${api.url}/api/auth/groups/${ids.groupId}`;
    return [
      {
        scope: 'groups:write',
        method: 'POST',
        url: `${api.url}/api/auth/groups`,
        body: { name: 'svc', org_id: ids.acmeOrgId },
        ok: 201,
      },
      {
        scope: 'groups:read',
        method: 'GET',
        url: `${api.url}/api/auth/groups?org_id=${ids.acmeOrgId}`,
        ok: 200,
      },
      { scope: 'groups:read', method: 'GET', url: group, ok: 200 },
      { scope: 'members:read', method: 'GET', url: `${group}/members`, ok: 200 },
      { scope: 'members:read', method: 'GET', url: `${group}/members/${ids.bob}`, ok: 200 },
      {
        scope: 'groups:write',
        method: 'POST',
        url: `${group}/members`,
        body: { user_id: ids.mallory },
        ok: 404,
      },
      { scope: 'groups:write', method: 'DELETE', url: `${group}/members/${ids.mallory}`, ok: 404 },
      // Not in the contract's table (deleting a group); a group that does not exist, to keep "general".
      {
        scope: 'groups:write',
        method: 'DELETE',
        url: `${api.url}/api/auth/groups/01900000-0000-7000-8000-000000000000`,
        ok: 404,
      },
    ] as const;
  }

  it('refuses a service token without the route’s scope: 403 with WWW-Authenticate insufficient_scope', async () => {
    const scopes = ['groups:read', 'groups:write', 'members:read'];
    for (const route of routes()) {
      // A token with every scope but the one this route needs.
      const client = await createClient(api, { scopes: scopes.filter((scope) => scope !== route.scope) });
      const token = await tokenFor(api, client.clientId, client.secret);
      const response = await request(route.url, {
        method: route.method,
        token,
        ...('body' in route ? { body: route.body } : {}),
      });
      const label = `${route.method} ${route.url.replace(api.url, '')}`;
      expect(response.status, label).toBe(403);
      expect(response.headers.get('www-authenticate'), label).toBe(
        `Bearer realm="auth-api", error="insufficient_scope", scope="${route.scope}"`,
      );
      expect(response.headers.get('content-type'), label).toContain('application/problem+json');
    }
  });

  it('refuses a token with no scope at all on every route', async () => {
    const client = await createClient(api, { scopes: [] });
    const token = await tokenFor(api, client.clientId, client.secret);
    for (const route of routes()) {
      const response = await request(route.url, {
        method: route.method,
        token,
        ...('body' in route ? { body: route.body } : {}),
      });
      expect(response.status, `${route.method} ${route.url}`).toBe(403);
      expect(response.headers.get('www-authenticate')).toContain(`scope="${route.scope}"`);
    }
  });

  it('lets the same requests through with the scope (control)', async () => {
    const client = await createClient(api, { scopes: ['groups:read', 'groups:write', 'members:read'] });
    const token = await tokenFor(api, client.clientId, client.secret);
    for (const route of routes()) {
      const response = await request(route.url, {
        method: route.method,
        token,
        ...('body' in route ? { body: route.body } : {}),
      });
      expect(response.status, `${route.method} ${route.url} ${response.text}`).toBe(route.ok);
    }
  });
});
