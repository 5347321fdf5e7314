/**
 * The authorization endpoint and the registry rules behind it, over plain HTTP (a form agent with a
 * cookie jar): every error of RFC 6749 §4.1.2.1 (page or redirect), CSRF and cross-site refusals, the
 * sign-in limit, code expiry and binding, connected apps, and client registration validation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientServiceFor } from '../../src/clients/index.ts';
import { DEMO, OPERATOR, postForm, request, startApi, type TestAuthApi } from '../oauth/helpers.ts';
import { type AgentResponse, FormAgent, pkce } from './form-agent.ts';

let api: TestAuthApi;
const REDIRECT = 'http://127.0.0.1:9/callback';
let secret: string;

beforeAll(async () => {
  api = await startApi({
    RATE_LIMIT_LOGIN_PER_EMAIL: '8',
    AUTHORIZATION_CODE_TTL_SECONDS: '5',
    RATE_LIMIT_CONNECTED_APPS_PER_USER: '4',
  });
  const clients = clientServiceFor(api.running.core);
  const created = await clients.create(OPERATOR, {
    clientId: 'web-app',
    clientName: 'Web <App> & Co',
    clientType: 'confidential',
    allowedScopes: ['openid', 'email', 'groups:read'],
    grantTypes: ['authorization_code', 'refresh_token'],
    redirectUris: [REDIRECT, 'https://app.example/cb?x=1'],
  });
  secret = created.clientSecret!;
  await clients.create(OPERATOR, {
    clientId: 'other-app',
    clientName: 'Other',
    clientType: 'public',
    allowedScopes: ['openid', 'email', 'groups:read'],
    grantTypes: ['authorization_code', 'refresh_token'],
    redirectUris: [REDIRECT],
  });
  await clients.create(OPERATOR, {
    clientId: 'machine-only',
    clientName: 'Machine',
    clientType: 'confidential',
    allowedScopes: ['groups:read'],
    grantTypes: ['client_credentials'],
    redirectUris: [REDIRECT],
  });
}, 120_000);

afterAll(async () => {
  await api?.close();
});

function authorizeUrl(params: Record<string, string | null> = {}, extra: [string, string][] = []): string {
  const { challenge } = pkce();
  const url = new URL(`${api.url}/oauth/authorize`);
  const all: Record<string, string | null> = {
    response_type: 'code',
    client_id: 'web-app',
    redirect_uri: REDIRECT,
    scope: 'openid email',
    state: 'st-123',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...params,
  };
  for (const [name, value] of Object.entries(all)) if (value !== null) url.searchParams.set(name, value);
  for (const [name, value] of extra) url.searchParams.append(name, value);
  return url.href;
}

function expectErrorPage(response: AgentResponse, status = 400) {
  expect(response.status).toBe(status);
  expect(response.location).toBeNull();
  expect(response.headers.get('content-type')).toContain('text/html');
  expect(response.text).toContain('data-testid="authorize-error"');
}

function expectErrorRedirect(response: AgentResponse, error: string, state: string | null = 'st-123') {
  expect([302, 303]).toContain(response.status);
  expect(response.location).not.toBeNull();
  const url = response.location!;
  expect(`${url.origin}${url.pathname}`).toBe(REDIRECT);
  expect(url.searchParams.get('error')).toBe(error);
  expect(url.searchParams.get('state')).toBe(state);
  expect(url.searchParams.get('iss')).toBe(api.url);
  expect(url.searchParams.get('code')).toBeNull();
}

async function signedInAgent(email: string = DEMO.users.bob): Promise<FormAgent> {
  const agent = new FormAgent(api.url);
  const page = await agent.get(authorizeUrl({ prompt: null }));
  const after = await agent.submit(page, '/oauth/authorize/login', { email, password: DEMO.password });
  expect(after.status === 200 || after.status === 303).toBe(true);
  return agent;
}

describe('GET /oauth/authorize: errors per RFC 6749 §4.1.2.1', () => {
  it('shows an error page (never redirects) for a bad client_id or redirect_uri', async () => {
    const agent = new FormAgent(api.url);
    expectErrorPage(await agent.get(authorizeUrl({ client_id: null })));
    expectErrorPage(await agent.get(authorizeUrl({ client_id: 'nobody' })));
    expectErrorPage(await agent.get(authorizeUrl({ redirect_uri: null })));
    expectErrorPage(await agent.get(authorizeUrl({ redirect_uri: 'http://127.0.0.1:9/callback/' })));
    expectErrorPage(await agent.get(authorizeUrl({ redirect_uri: 'https://evil.example/cb' })));
    expectErrorPage(await agent.get(authorizeUrl({}, [['redirect_uri', REDIRECT]])));
    expectErrorPage(await agent.get(authorizeUrl({}, [['client_id', 'web-app']])));
  });

  it('redirects every other error with error, state and iss', async () => {
    const agent = new FormAgent(api.url);
    expectErrorRedirect(await agent.get(authorizeUrl({ response_type: null })), 'invalid_request');
    expectErrorRedirect(
      await agent.get(authorizeUrl({ response_type: 'token' })),
      'unsupported_response_type',
    );
    expectErrorRedirect(await agent.get(authorizeUrl({ code_challenge: null })), 'invalid_request');
    expectErrorRedirect(await agent.get(authorizeUrl({ code_challenge_method: null })), 'invalid_request');
    expectErrorRedirect(await agent.get(authorizeUrl({ code_challenge_method: 'plain' })), 'invalid_request');
    expectErrorRedirect(await agent.get(authorizeUrl({ code_challenge: 'short' })), 'invalid_request');
    expectErrorRedirect(await agent.get(authorizeUrl({ scope: null })), 'invalid_scope');
    expectErrorRedirect(await agent.get(authorizeUrl({ scope: 'openid admin:clients' })), 'invalid_scope');
    expectErrorRedirect(await agent.get(authorizeUrl({}, [['scope', 'email']])), 'invalid_request');
    expectErrorRedirect(await agent.get(authorizeUrl({ prompt: 'none login' })), 'invalid_request');
    expectErrorRedirect(await agent.get(authorizeUrl({ request: 'eyJ' })), 'request_not_supported');
    expectErrorRedirect(await agent.get(authorizeUrl({ response_mode: 'fragment' })), 'invalid_request');
    expectErrorRedirect(await agent.get(authorizeUrl({ client_id: 'machine-only' })), 'unauthorized_client');
    // prompt=none without a session: login_required (OIDC Core §3.1.2.6).
    expectErrorRedirect(await agent.get(authorizeUrl({ prompt: 'none' })), 'login_required');
    // No state sent: none comes back.
    expectErrorRedirect(
      await agent.get(authorizeUrl({ state: null, response_type: 'token' })),
      'unsupported_response_type',
      null,
    );
  });

  it('keeps the query of a registered redirect URI', async () => {
    const response = await new FormAgent(api.url).get(
      authorizeUrl({ redirect_uri: 'https://app.example/cb?x=1', response_type: 'token' }),
    );
    expect(response.location?.searchParams.get('x')).toBe('1');
    expect(response.location?.searchParams.get('error')).toBe('unsupported_response_type');
  });

  it('serves the sign-in page with a strict CSP, no framing, no caching, and escaped names', async () => {
    const page = await new FormAgent(api.url).get(authorizeUrl());
    expect(page.status).toBe(200);
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("form-action 'self' http://127.0.0.1:9");
    expect(csp).not.toContain('script-src');
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.text).toContain('name="email"');
    expect(page.text).toContain('name="password"');
    expect(page.text).toContain('Web &lt;App&gt; &amp; Co');
    expect(page.text).not.toContain('<script');
  });
});

describe('the sign-in and consent forms', () => {
  it('refuses a form without its CSRF token, or sent cross-site', async () => {
    const agent = new FormAgent(api.url);
    const page = await agent.get(authorizeUrl());
    const forged = await agent.submit(page, '/oauth/authorize/login', {
      email: DEMO.users.bob,
      password: DEMO.password,
      csrf_token: 'x'.repeat(43),
    });
    expect(forged.status).toBe(403);
    expect(agent.cookies.has('sid')).toBe(false);
    const crossSite = await agent.post(
      '/oauth/authorize/login',
      { email: DEMO.users.bob, password: DEMO.password },
      { 'sec-fetch-site': 'cross-site' },
    );
    expect(crossSite.status).toBe(403);
    const foreignOrigin = await agent.post('/oauth/authorize/login', {}, { origin: 'https://evil.example' });
    expect(foreignOrigin.status).toBe(403);
  });

  it('answers a wrong password with the sign-in page again (401), the same for an unknown email', async () => {
    const agent = new FormAgent(api.url);
    const page = await agent.get(authorizeUrl());
    const wrong = await agent.submit(page, '/oauth/authorize/login', {
      email: DEMO.users.carol,
      password: 'wrong-password',
    });
    const unknown = await agent.submit(page, '/oauth/authorize/login', {
      email: 'nobody@acme.example',
      password: 'wrong-password',
    });
    for (const response of [wrong, unknown]) {
      expect(response.status).toBe(401);
      expect(response.text).toContain('The email or the password is wrong.');
      expect(response.text).toContain('name="password"');
    }
    expect(agent.cookies.has('sid')).toBe(false);
  });

  it('is rate limited like login (429 with Retry-After)', async () => {
    const agent = new FormAgent(api.url);
    const page = await agent.get(authorizeUrl());
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) {
      const response = await agent.submit(page, '/oauth/authorize/login', {
        email: 'limited@acme.example',
        password: 'wrong-password',
      });
      statuses.push(response.status);
      if (response.status === 429) expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    expect(statuses.slice(0, 8)).toEqual(Array(8).fill(401));
    expect(statuses.at(-1)).toBe(429);
  });

  it('consent names the app and the scopes; allow redirects with code, state and iss; the code is bound and short-lived', async () => {
    const agent = new FormAgent(api.url);
    const { verifier, challenge } = pkce();
    const page = await agent.get(
      authorizeUrl({ code_challenge: challenge, scope: 'openid email groups:read' }),
    );
    const consent = await agent.submit(page, '/oauth/authorize/login', {
      email: DEMO.users.bob,
      password: DEMO.password,
    });
    expect(consent.status).toBe(200);
    expect(consent.text).toContain('Web &lt;App&gt; &amp; Co');
    expect(consent.text).toContain('data-scope="groups:read"');
    expect(consent.text).toContain('name="decision" value="allow"');
    expect(consent.text).toContain('name="decision" value="deny"');
    const back = await agent.submit(consent, '/oauth/authorize/consent', { decision: 'allow' });
    expect(back.status).toBe(303);
    const code = back.location!.searchParams.get('code')!;
    expect(back.location!.searchParams.get('state')).toBe('st-123');
    expect(back.location!.searchParams.get('iss')).toBe(api.url);

    const token = (params: Record<string, string>) =>
      postForm(`${api.url}/oauth/token`, {
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT,
        code_verifier: verifier,
        client_id: 'web-app',
        client_secret: secret,
        ...params,
      });
    expect((await token({ redirect_uri: 'https://app.example/cb?x=1' })).body.error).toBe('invalid_grant');
    expect((await token({ code_verifier: pkce().verifier })).body.error).toBe('invalid_grant');
    // Bound to the client it was issued to (RFC 6749 §4.1.3): another client cannot redeem it.
    const otherClient = await postForm(`${api.url}/oauth/token`, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT,
      code_verifier: verifier,
      client_id: 'other-app',
    });
    expect(otherClient.body.error).toBe('invalid_grant');
    const noVerifier = await postForm(`${api.url}/oauth/token`, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT,
      client_id: 'web-app',
      client_secret: secret,
    });
    expect(noVerifier.body.error).toBe('invalid_grant');
    // Unauthenticated: invalid_client, and the code is not spent by it.
    expect((await token({ client_secret: 'x'.repeat(43) })).status).toBe(401);
    const good = await token({});
    expect(good.status).toBe(200);
    expect(good.headers.get('cache-control')).toBe('no-store');
    expect(good.body).toMatchObject({ token_type: 'Bearer', scope: 'openid email groups:read' });
    expect(typeof good.body.refresh_token).toBe('string');
    expect(typeof good.body.id_token).toBe('string');
    // The refresh token is bound to its client too (RFC 6749 §10.4).
    const stolen = await postForm(`${api.url}/oauth/token`, {
      grant_type: 'refresh_token',
      refresh_token: good.body.refresh_token as string,
      client_id: 'other-app',
    });
    expect(stolen.body.error).toBe('invalid_grant');

    // Remembered: the same scopes again go straight back; a scope not yet agreed to asks again.
    const again = await agent.get(authorizeUrl({ scope: 'openid email' }));
    expect(again.status).toBe(302);
    expect(again.location!.searchParams.get('code')).toBeTruthy();
    const more = await agent.get(authorizeUrl({ scope: 'openid email groups:read', prompt: 'consent' }));
    expect(more.status).toBe(200);
    expect(more.text).toContain('name="decision"');

    // A code unused for longer than its lifetime (5 s in this test) is refused.
    await new Promise((resolve) => setTimeout(resolve, 5_500));
    const stale = await postForm(`${api.url}/oauth/token`, {
      grant_type: 'authorization_code',
      code: again.location!.searchParams.get('code')!,
      redirect_uri: REDIRECT,
      code_verifier: verifier,
      client_id: 'web-app',
      client_secret: secret,
    });
    expect(stale.body.error).toBe('invalid_grant');
  }, 60_000);

  it('prompt=none with a session but no consent: consent_required', async () => {
    const agent = await signedInAgent(DEMO.users.carol);
    expectErrorRedirect(
      await agent.get(authorizeUrl({ prompt: 'none', scope: 'groups:read' })),
      'consent_required',
    );
  });
});

describe('OpenID Connect: discovery, prompt, max_age, userinfo errors', () => {
  it('serves /.well-known/openid-configuration with the same issuer and endpoints as RFC 8414', async () => {
    const oidc = (await request(`${api.url}/.well-known/openid-configuration`)).body;
    const oauth = (await request(`${api.url}/.well-known/oauth-authorization-server`)).body;
    for (const field of [
      'issuer',
      'authorization_endpoint',
      'token_endpoint',
      'jwks_uri',
      'userinfo_endpoint',
      'revocation_endpoint',
    ])
      expect(oidc[field]).toBe(oauth[field]);
    expect(oidc.issuer).toBe(api.url);
    expect(oauth).toMatchObject({
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256'],
      authorization_response_iss_parameter_supported: true,
    });
    expect(oidc).toMatchObject({
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['ES256'],
      scopes_supported: expect.arrayContaining(['openid', 'profile', 'email']),
    });
  });

  it('prompt=login and max_age=0 ask for the password again even with a session', async () => {
    const agent = await signedInAgent(DEMO.users.carol);
    for (const params of [{ prompt: 'login' }, { max_age: '0' }] as Record<string, string>[]) {
      const page = await agent.get(authorizeUrl(params));
      expect(page.status).toBe(200);
      expect(page.text).toContain('name="password"');
    }
  });

  it('userinfo: 401 without or with a bad token, 403 for a token without openid', async () => {
    const none = await request(`${api.url}/oauth/userinfo`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toContain('Bearer');
    const bad = await request(`${api.url}/oauth/userinfo`, { token: 'not.a.token' });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('www-authenticate')).toContain('invalid_token');
    const login = await request<{ access_token: string }>(`${api.url}/api/auth/login`, {
      method: 'POST',
      body: { email: DEMO.users.carol, password: DEMO.password },
    });
    const noOpenid = await request(`${api.url}/oauth/userinfo`, { token: login.body.access_token });
    expect(noOpenid.status).toBe(403);
    expect(noOpenid.headers.get('www-authenticate')).toContain('insufficient_scope');
  });
});

describe('token endpoint: the user grants beside client credentials', () => {
  it('refuses a client not registered for the grant, and a confidential client without its secret', async () => {
    const chat = { client_id: DEMO.serviceClientId, client_secret: DEMO.serviceClientSecret };
    for (const grant_type of ['authorization_code', 'refresh_token']) {
      const response = await postForm(`${api.url}/oauth/token`, { grant_type, code: 'x', ...chat });
      expect(response.body.error).toBe('unauthorized_client');
      const secretless = await postForm(`${api.url}/oauth/token`, { grant_type, client_id: 'web-app' });
      expect(secretless.status).toBe(401);
      expect(secretless.body.error).toBe('invalid_client');
      const nobody = await postForm(`${api.url}/oauth/token`, { grant_type, client_id: 'nobody-at-all' });
      expect(nobody.body.error).toBe('invalid_client');
    }
    const malformed = await postForm(`${api.url}/oauth/token`, {
      grant_type: 'refresh_token',
      refresh_token: 'not a token',
      client_id: 'web-app',
      client_secret: secret,
    });
    expect(malformed.body.error).toBe('invalid_grant');
  });
});

describe('connected apps', () => {
  it('lists the consented app, disconnects it (refresh tokens end at once), 404/400/401/403/429', async () => {
    const agent = new FormAgent(api.url);
    const { verifier, challenge } = pkce();
    const page = await agent.get(authorizeUrl({ code_challenge: challenge, scope: 'openid groups:read' }));
    const consent = await agent.submit(page, '/oauth/authorize/login', {
      email: DEMO.users.mallory,
      password: DEMO.password,
    });
    const back =
      consent.status === 303
        ? consent
        : await agent.submit(consent, '/oauth/authorize/consent', { decision: 'allow' });
    const tokens = await postForm<{ refresh_token: string; access_token: string }>(`${api.url}/oauth/token`, {
      grant_type: 'authorization_code',
      code: back.location!.searchParams.get('code')!,
      redirect_uri: REDIRECT,
      code_verifier: verifier,
      client_id: 'web-app',
      client_secret: secret,
    });
    expect(tokens.status).toBe(200);
    const login = await request<{ access_token: string }>(`${api.url}/api/auth/login`, {
      method: 'POST',
      body: { email: DEMO.users.mallory, password: DEMO.password },
    });
    const own = login.body.access_token;
    const list = await request<{ apps: { client_id: string; scopes: string[] }[] }>(
      `${api.url}/api/auth/connected-apps`,
      { token: own },
    );
    expect(list.status).toBe(200);
    expect(list.body.apps).toEqual([
      expect.objectContaining({ client_id: 'web-app', scopes: ['openid', 'groups:read'] }),
    ]);

    expect((await request(`${api.url}/api/auth/connected-apps`)).status).toBe(401);
    // The app's own token cannot see or change connected apps.
    expect(
      (await request(`${api.url}/api/auth/connected-apps`, { token: tokens.body.access_token })).status,
    ).toBe(403);
    expect(
      (await request(`${api.url}/api/auth/connected-apps/a%20b`, { method: 'DELETE', token: own })).status,
    ).toBe(400);
    // Carol never connected it (Mallory did): another user's connection is not hers to see (404).
    const bob = await request<{ access_token: string }>(`${api.url}/api/auth/login`, {
      method: 'POST',
      body: { email: DEMO.users.carol, password: DEMO.password },
    });
    expect(bob.status).toBe(200);
    expect(
      (
        await request(`${api.url}/api/auth/connected-apps/web-app`, {
          method: 'DELETE',
          token: bob.body.access_token,
        })
      ).status,
    ).toBe(404);

    const removed = await request(`${api.url}/api/auth/connected-apps/web-app`, {
      method: 'DELETE',
      token: own,
    });
    expect(removed.status).toBe(204);
    const refresh = await postForm(`${api.url}/oauth/token`, {
      grant_type: 'refresh_token',
      refresh_token: tokens.body.refresh_token,
      client_id: 'web-app',
      client_secret: secret,
    });
    expect(refresh.body.error).toBe('invalid_grant');
    expect((await request(`${api.url}/api/auth/groups`, { token: tokens.body.access_token })).status).toBe(
      401,
    );
    expect(
      (await request<{ apps: unknown[] }>(`${api.url}/api/auth/connected-apps`, { token: own })).body.apps,
    ).toEqual([]);

    let limited = 0;
    for (let i = 0; i < 6; i++) {
      const response = await request(`${api.url}/api/auth/connected-apps/web-app`, {
        method: 'DELETE',
        token: own,
      });
      if (response.status === 429) limited++;
      else expect(response.status).toBe(404);
    }
    expect(limited).toBeGreaterThan(0);
  }, 60_000);
});

describe('refresh tokens end with their user', () => {
  it('a removed user’s refresh tokens and access tokens stop working', async () => {
    const owner = await request<{ access_token: string; user: { org_id: string } }>(
      `${api.url}/api/auth/login`,
      {
        method: 'POST',
        body: { email: DEMO.users.bob, password: DEMO.password },
      },
    );
    const made = await request<{ user: { id: string } }>(
      `${api.url}/api/auth/orgs/${owner.body.user.org_id}/users`,
      {
        method: 'POST',
        token: owner.body.access_token,
        body: { email: 'leaver@acme.example', password: DEMO.password, display_name: 'Leaver' },
      },
    );
    expect(made.status).toBe(201);
    const agent = new FormAgent(api.url);
    const { verifier, challenge } = pkce();
    const page = await agent.get(authorizeUrl({ code_challenge: challenge }));
    const consent = await agent.submit(page, '/oauth/authorize/login', {
      email: 'leaver@acme.example',
      password: DEMO.password,
    });
    const back = await agent.submit(consent, '/oauth/authorize/consent', { decision: 'allow' });
    const tokens = await postForm<{ refresh_token: string; access_token: string }>(`${api.url}/oauth/token`, {
      grant_type: 'authorization_code',
      code: back.location!.searchParams.get('code')!,
      redirect_uri: REDIRECT,
      code_verifier: verifier,
      client_id: 'web-app',
      client_secret: secret,
    });
    expect(tokens.status).toBe(200);
    // The user is removed (the row goes; grants and refresh tokens go with it).
    await api.running.core.db.deleteFrom('users').where('id', '=', made.body.user.id).execute();
    const refresh = await postForm(`${api.url}/oauth/token`, {
      grant_type: 'refresh_token',
      refresh_token: tokens.body.refresh_token,
      client_id: 'web-app',
      client_secret: secret,
    });
    expect(refresh.body.error).toBe('invalid_grant');
    expect((await request(`${api.url}/oauth/userinfo`, { token: tokens.body.access_token })).status).toBe(
      401,
    );
  }, 60_000);
});

describe('client registration for the authorization-code flow', () => {
  const admin = async () =>
    (
      await request<{ access_token: string }>(`${api.url}/api/auth/login`, {
        method: 'POST',
        body: { email: DEMO.users.admin, password: DEMO.password },
      })
    ).body.access_token;

  it('validates redirect URIs, auth methods and grants; stores nothing on a 400', async () => {
    const token = await admin();
    const base = {
      client_name: 'x',
      client_type: 'confidential',
      allowed_scopes: ['openid'],
      grant_types: ['authorization_code', 'refresh_token'],
      redirect_uris: ['https://app.example/cb'],
    };
    const create = (body: Record<string, unknown>) =>
      request<{ code: string }>(`${api.url}/admin/oauth/clients`, {
        method: 'POST',
        token,
        body: { ...base, ...body },
      });
    const before = (await request<{ clients: unknown[] }>(`${api.url}/admin/oauth/clients`, { token })).body
      .clients.length;
    const cases: [Record<string, unknown>, string][] = [
      [{ redirect_uris: ['http://app.example/cb'] }, 'invalid_redirect_uri'],
      [{ redirect_uris: ['https://app.example/cb#frag'] }, 'invalid_redirect_uri'],
      [{ redirect_uris: ['/relative'] }, 'invalid_redirect_uri'],
      [{ redirect_uris: ['https://user:pw@app.example/cb'] }, 'invalid_redirect_uri'],
      [{ redirect_uris: [] }, 'redirect_uris_required'],
      [{ grant_types: ['refresh_token'] }, 'refresh_without_code'],
      [{ token_endpoint_auth_method: 'none' }, 'invalid_auth_method'],
      [{ client_type: 'public', token_endpoint_auth_method: 'client_secret_basic' }, 'invalid_auth_method'],
      [{ client_type: 'public', client_secret: 'y'.repeat(40) }, 'public_client_secret'],
    ];
    for (const [body, code] of cases) {
      const response = await create(body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.code).toBe(code);
    }
    expect((await create({ token_endpoint_auth_method: 'magic' })).status).toBe(400);
    expect((await create({ client_id: 'groupchat-web' })).status).toBe(409);
    const after = (await request<{ clients: unknown[] }>(`${api.url}/admin/oauth/clients`, { token })).body
      .clients.length;
    expect(after).toBe(before);

    const ok = await create({
      client_id: 'native-app',
      client_type: 'public',
      redirect_uris: ['http://127.0.0.1:7777/cb', 'http://[::1]:7777/cb', 'https://app.example/cb'],
      first_party: true,
    });
    expect(ok.status).toBe(201);
    expect(ok.body).toMatchObject({
      client_id: 'native-app',
      token_endpoint_auth_method: 'none',
      first_party: true,
      redirect_uris: ['http://127.0.0.1:7777/cb', 'http://[::1]:7777/cb', 'https://app.example/cb'],
    });
    expect((ok.body as Record<string, unknown>).client_secret).toBeUndefined();
  });

  it('declares apps in configuration (OAUTH_CLIENTS), with the same validation', async () => {
    const { loadAuthConfig } = await import('../../src/config.ts');
    const good = loadAuthConfig({
      OAUTH_CLIENTS: JSON.stringify([
        {
          client_id: 'docs-app',
          client_name: 'Docs',
          client_type: 'public',
          allowed_scopes: ['openid'],
          redirect_uris: ['https://docs.example/cb'],
          first_party: true,
        },
      ]),
    });
    expect(good.declaredClients).toEqual([
      expect.objectContaining({ clientId: 'docs-app', clientType: 'public', secret: null, firstParty: true }),
    ]);
    expect(() => loadAuthConfig({ OAUTH_CLIENTS: '[{"client_id":"a"}]' })).toThrow(/OAUTH_CLIENTS\[0\]/);
    expect(() =>
      loadAuthConfig({ OAUTH_CLIENTS: '[{"client_id":"abc","client_name":"A","allowed_scopes":["nope"]}]' }),
    ).toThrow();
    await clientServiceFor(api.running.core).ensureDeclared(good.declaredClients);
    const stored = await clientServiceFor(api.running.core).find('docs-app');
    expect(stored).toMatchObject({
      tokenEndpointAuthMethod: 'none',
      firstParty: true,
      redirectUris: ['https://docs.example/cb'],
    });
    await expect(
      clientServiceFor(api.running.core).ensureDeclared([
        { ...good.declaredClients[0]!, clientId: 'bad-app', redirectUris: ['http://docs.example/cb'] },
      ]),
    ).rejects.toMatchObject({ code: 'invalid_redirect_uri' });
  });
});
