import { createHash } from 'node:crypto';
import { DEMO, startTestAuthApi, type TestAuthApi } from '@groupchat/testkit/auth-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectAuthenticationRequired,
  expectInvalidToken,
  expectProblem,
  FORGED_TOKEN,
  MALFORMED_IDS,
  setCookieLine,
  TestClient,
} from '../support/test-client.ts';

const NEW_PASSWORD = 'a-fresh-password-for-tests-42';

describe('identity: registration, org users, login, sessions', () => {
  let api: TestAuthApi;
  let http: TestClient;
  let acmeOrgId: string;
  let globexOrgId: string;

  beforeAll(async () => {
    // Generous limits: this file signs in many times from one address; the limits have their own file.
    api = await startTestAuthApi({
      env: { RATE_LIMIT_LOGIN_PER_IP: '1000', RATE_LIMIT_LOGIN_PER_EMAIL: '1000' },
    });
    http = new TestClient(api.url, api.running.core.config.session.cookieName);
    acmeOrgId = (await http.login(DEMO.users.bob, DEMO.password)).user.org_id;
    globexOrgId = (await http.login(DEMO.users.mallory, DEMO.password)).user.org_id;
  });

  afterAll(async () => {
    // No response of the whole file carried a password or a password hash.
    for (const text of http?.seen ?? []) {
      expect(text).not.toContain(DEMO.password);
      expect(text).not.toContain(NEW_PASSWORD);
      expect(text).not.toContain('$argon2');
      expect(text).not.toContain('password_hash');
    }
    await api?.close();
  });

  const serviceToken = (scopes: string[]) =>
    api.running.core.tokenIssuer.issueServiceToken(DEMO.serviceClientId, scopes, 'auth-api').access_token;

  describe('POST /api/auth/register', () => {
    it('creates an organization and its owner; the password is stored only as an Argon2id hash', async () => {
      const response = await http.post('/api/auth/register', {
        body: {
          email: 'Founder@Initech.Example',
          password: NEW_PASSWORD,
          display_name: '  Founder ',
          org_name: 'Initech',
        },
      });
      expect(response.status, response.text).toBe(201);
      const { user, org } = response.body;
      expect(org).toEqual({ id: expect.any(String), name: 'Initech', created_at: expect.any(String) });
      expect(user).toEqual({
        id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-7/),
        email: 'founder@initech.example',
        display_name: 'Founder',
        org_id: org.id,
        role: 'owner',
        created_at: expect.stringMatching(/Z$/),
        email_verified: false,
        mfa_enabled: false,
      });
      const row = await api.running.core.db
        .selectFrom('users')
        .select('password_hash')
        .where('id', '=', user.id)
        .executeTakeFirstOrThrow();
      expect(row.password_hash).toMatch(/^\$argon2id\$/);
      expect(row.password_hash).not.toContain(NEW_PASSWORD);

      const login = await http.login('founder@initech.example', NEW_PASSWORD);
      expect(login.user).toEqual({
        id: user.id,
        email: user.email,
        display_name: 'Founder',
        org_id: org.id,
        role: 'owner',
        email_verified: false,
        mfa_enabled: false,
      });
    });

    it('answers 409 for an email already registered, whatever its case', async () => {
      const response = await http.post('/api/auth/register', {
        body: {
          email: 'BOB@acme.example',
          password: NEW_PASSWORD,
          display_name: 'Bob 2',
          org_name: 'Acme 2',
        },
      });
      expectProblem(response, 409, 'email_taken');
    });

    it.each([
      ['a short password', { password: 'short77' }],
      ['a password over 1024 characters', { password: 'x'.repeat(1025) }],
      ['a malformed email', { email: 'not-an-email' }],
      ['an empty display name', { display_name: '' }],
      ['a blank display name', { display_name: '   ' }],
      ['a display name over 100 characters', { display_name: 'd'.repeat(101) }],
      ['an org name over 100 characters', { org_name: 'o'.repeat(101) }],
      ['a missing org name', { org_name: undefined }],
      ['a number for the email', { email: 42 }],
    ])('answers 400 problem+json for %s', async (_label, change) => {
      const body = {
        email: `valid-${Math.random().toString(36).slice(2)}@example.com`,
        password: NEW_PASSWORD,
        display_name: 'Valid',
        org_name: 'Valid Org',
        ...change,
      };
      expectProblem(await http.post('/api/auth/register', { body }), 400);
    });

    it('answers 400 for a body that is not JSON, an array, or absent', async () => {
      expectProblem(await http.post('/api/auth/register', { rawBody: '{"email":' }), 400, 'malformed_body');
      expectProblem(await http.post('/api/auth/register', { body: [] }), 400);
      expectProblem(await http.post('/api/auth/register'), 400);
    });

    it('refuses a cross-site registration (login CSRF)', async () => {
      const body = { email: 'csrf@example.com', password: NEW_PASSWORD, display_name: 'X', org_name: 'X' };
      const crossSite = await http.post('/api/auth/register', {
        body,
        headers: { 'sec-fetch-site': 'cross-site' },
      });
      expectProblem(crossSite, 403, 'cross_site_request');
      const foreign = await http.post('/api/auth/register', {
        body,
        headers: { origin: 'https://evil.example' },
      });
      expectProblem(foreign, 403, 'cross_site_request');
    });
  });

  describe('POST and GET /api/auth/orgs/{org_id}/users', () => {
    it('lets the org owner create a member (default) or an admin, who can then sign in', async () => {
      const bob = await http.login(DEMO.users.bob, DEMO.password);
      const member = await http.post(`/api/auth/orgs/${acmeOrgId}/users`, {
        token: bob.token,
        body: { email: 'dave@acme.example', password: NEW_PASSWORD, display_name: 'Dave' },
      });
      expect(member.status, member.text).toBe(201);
      expect(member.body.user).toMatchObject({
        email: 'dave@acme.example',
        org_id: acmeOrgId,
        role: 'member',
      });
      expect(Object.keys(member.body.user).sort()).toEqual(
        [
          'created_at',
          'display_name',
          'email',
          'email_verified',
          'id',
          'mfa_enabled',
          'org_id',
          'role',
        ].sort(),
      );

      // By session cookie too (a header-less client passes the cross-site check).
      const admin = await http.post(`/api/auth/orgs/${acmeOrgId}/users`, {
        cookie: bob.cookie,
        body: { email: 'erin@acme.example', password: NEW_PASSWORD, display_name: 'Erin', role: 'admin' },
      });
      expect(admin.status, admin.text).toBe(201);
      expect(admin.body.user.role).toBe('admin');

      // An org admin may create users too.
      const erin = await http.login('erin@acme.example', NEW_PASSWORD);
      const byAdmin = await http.post(`/api/auth/orgs/${acmeOrgId}/users`, {
        token: erin.token,
        body: { email: 'frank@acme.example', password: NEW_PASSWORD, display_name: 'Frank' },
      });
      expect(byAdmin.status, byAdmin.text).toBe(201);
    });

    it('refuses a member of the org (403), another org (404) and services (403)', async () => {
      const body = { email: 'nobody@acme.example', password: NEW_PASSWORD, display_name: 'Nobody' };
      const carol = await http.login(DEMO.users.carol, DEMO.password);
      expectProblem(
        await http.post(`/api/auth/orgs/${acmeOrgId}/users`, { token: carol.token, body }),
        403,
        'not_org_admin',
      );
      const mallory = await http.login(DEMO.users.mallory, DEMO.password);
      expectProblem(
        await http.post(`/api/auth/orgs/${acmeOrgId}/users`, { token: mallory.token, body }),
        404,
        'org_not_found',
      );
      // The platform admin administers OAuth clients, not other organizations' users.
      const admin = await http.login(DEMO.users.admin, DEMO.password);
      expectProblem(
        await http.post(`/api/auth/orgs/${acmeOrgId}/users`, { token: admin.token, body }),
        404,
        'org_not_found',
      );
      const unknownOrg = '0190f3a0-0000-7000-8000-000000000000';
      expectProblem(
        await http.post(`/api/auth/orgs/${unknownOrg}/users`, { token: mallory.token, body }),
        404,
      );
      const service = serviceToken(['groups:read', 'groups:write', 'members:read', 'admin:clients']);
      expectProblem(
        await http.post(`/api/auth/orgs/${acmeOrgId}/users`, { token: service, body }),
        403,
        'user_required',
      );
    });

    it('answers 401 without credentials or with a bad token', async () => {
      const body = { email: 'nobody@acme.example', password: NEW_PASSWORD, display_name: 'Nobody' };
      expectAuthenticationRequired(await http.post(`/api/auth/orgs/${acmeOrgId}/users`, { body }));
      expectInvalidToken(await http.post(`/api/auth/orgs/${acmeOrgId}/users`, { token: FORGED_TOKEN, body }));
      expectInvalidToken(
        await http.post(`/api/auth/orgs/${acmeOrgId}/users`, {
          body,
          headers: { authorization: 'Basic Ym9iOnB3' },
        }),
      );
      expectAuthenticationRequired(await http.get(`/api/auth/orgs/${acmeOrgId}/users`));
      expectInvalidToken(await http.get(`/api/auth/orgs/${acmeOrgId}/users`, { token: FORGED_TOKEN }));
    });

    it('answers 409 for a taken email and 400 for malformed input', async () => {
      const bob = await http.login(DEMO.users.bob, DEMO.password);
      const path = `/api/auth/orgs/${acmeOrgId}/users`;
      expectProblem(
        await http.post(path, {
          token: bob.token,
          body: { email: 'Carol@Acme.Example', password: NEW_PASSWORD, display_name: 'Carol again' },
        }),
        409,
        'email_taken',
      );
      for (const role of ['owner', 'platform_admin', 'king']) {
        expectProblem(
          await http.post(path, {
            token: bob.token,
            body: { email: 'x@acme.example', password: NEW_PASSWORD, display_name: 'X', role },
          }),
          400,
        );
      }
      expectProblem(
        await http.post(path, {
          token: bob.token,
          body: { email: 'x@acme.example', password: 'short', display_name: 'X' },
        }),
        400,
      );
      expectProblem(await http.post(path, { token: bob.token, rawBody: 'nope' }), 400);
      for (const id of MALFORMED_IDS) {
        const at = `/api/auth/orgs/${encodeURIComponent(id)}/users`;
        expectProblem(
          await http.post(at, {
            token: bob.token,
            body: { email: 'x@acme.example', password: NEW_PASSWORD, display_name: 'X' },
          }),
          400,
        );
        expectProblem(await http.get(at, { token: bob.token }), 400);
      }
    });

    it('refuses cookie-authenticated writes from another site, not Bearer ones', async () => {
      const bob = await http.login(DEMO.users.bob, DEMO.password);
      const body = { email: 'gina@acme.example', password: NEW_PASSWORD, display_name: 'Gina' };
      const path = `/api/auth/orgs/${acmeOrgId}/users`;
      expectProblem(
        await http.post(path, { cookie: bob.cookie, body, headers: { 'sec-fetch-site': 'cross-site' } }),
        403,
        'cross_site_request',
      );
      expectProblem(
        await http.post(path, { cookie: bob.cookie, body, headers: { origin: 'https://evil.example' } }),
        403,
        'cross_site_request',
      );
      // A Bearer token is not sent by browsers on their own: no cross-site risk, no refusal.
      const bearer = await http.post(path, {
        token: bob.token,
        body,
        headers: { 'sec-fetch-site': 'cross-site' },
      });
      expect(bearer.status, bearer.text).toBe(201);
    });

    it('lists the users of the caller’s own organization only, without secrets', async () => {
      const carol = await http.login(DEMO.users.carol, DEMO.password);
      const list = await http.get(`/api/auth/orgs/${acmeOrgId}/users`, { cookie: carol.cookie });
      expect(list.status, list.text).toBe(200);
      const emails = list.body.users.map((u: { email: string }) => u.email);
      expect(emails).toEqual(expect.arrayContaining([DEMO.users.bob, DEMO.users.carol]));
      expect(emails).not.toContain(DEMO.users.mallory);
      for (const user of list.body.users) expect(user.org_id).toBe(acmeOrgId);

      const org = await http.get(`/api/auth/orgs/${acmeOrgId}`, { token: carol.token });
      expect(org.status).toBe(200);
      expect(org.body).toMatchObject({ id: acmeOrgId, name: 'Acme' });

      const mallory = await http.login(DEMO.users.mallory, DEMO.password);
      expectProblem(
        await http.get(`/api/auth/orgs/${acmeOrgId}/users`, { token: mallory.token }),
        404,
        'org_not_found',
      );
      expectProblem(
        await http.get(`/api/auth/orgs/${acmeOrgId}`, { token: mallory.token }),
        404,
        'org_not_found',
      );
      expectProblem(
        await http.get(`/api/auth/orgs/${globexOrgId}/users`, { token: serviceToken(['members:read']) }),
        403,
        'user_required',
      );
    });
  });

  describe('POST /api/auth/login', () => {
    it('returns the user and a Bearer token, and sets an HttpOnly SameSite=Lax session cookie', async () => {
      const response = await http.post('/api/auth/login', {
        body: { email: 'Bob@Acme.Example', password: DEMO.password },
      });
      expect(response.status, response.text).toBe(200);
      expect(response.body).toEqual({
        user: {
          id: expect.any(String),
          email: DEMO.users.bob,
          display_name: 'Bob',
          org_id: acmeOrgId,
          role: 'owner',
          email_verified: true,
          mfa_enabled: false,
        },
        access_token: expect.any(String),
        token_type: 'Bearer',
        expires_in: 900,
      });
      expect(response.headers.get('cache-control')).toBe('no-store');
      const line = setCookieLine(response)!;
      expect(line).toMatch(/^sid=[A-Za-z0-9_-]{43};/);
      expect(line).toContain('HttpOnly');
      expect(line).toContain('SameSite=Lax');
      expect(line).toContain('Path=/');
      expect(line).toContain(`Max-Age=${api.running.core.config.session.ttlSeconds}`);
      expect(line).not.toContain('Secure'); // the test issuer is http://; Secure follows configuration

      const claims = JSON.parse(
        Buffer.from(response.body.access_token.split('.')[1], 'base64url').toString(),
      );
      expect(claims).toMatchObject({
        sub: response.body.user.id,
        org_id: acmeOrgId,
        aud: ['auth-api', 'chat-api'],
        scope: 'groups:read groups:write members:read',
        sid: expect.any(String),
      });
    });

    it('gives the same 401 for an unknown email and for a wrong password', async () => {
      const unknown = await http.post('/api/auth/login', {
        body: { email: 'nobody@nowhere.example', password: DEMO.password },
      });
      const wrong = await http.post('/api/auth/login', {
        body: { email: DEMO.users.bob, password: 'wrong-password-123' },
      });
      expectProblem(unknown, 401, 'invalid_credentials');
      expect(wrong.status).toBe(401);
      expect(wrong.text).toBe(unknown.text);
      expect(wrong.headers.get('www-authenticate')).toBe(unknown.headers.get('www-authenticate'));
      expect(wrong.headers.get('content-type')).toBe(unknown.headers.get('content-type'));
      expect(setCookieLine(unknown)).toBeUndefined();
      expect(setCookieLine(wrong)).toBeUndefined();
    });

    it('answers 400 for malformed input', async () => {
      expectProblem(await http.post('/api/auth/login', { body: { email: DEMO.users.bob } }), 400);
      expectProblem(await http.post('/api/auth/login', { body: { email: 'bob', password: 'x' } }), 400);
      expectProblem(
        await http.post('/api/auth/login', { body: { email: DEMO.users.bob, password: '' } }),
        400,
      );
      expectProblem(await http.post('/api/auth/login', { rawBody: '{' }), 400);
    });

    it('refuses cross-site logins and accepts same-site, allowed-origin and header-less ones', async () => {
      const body = { email: DEMO.users.carol, password: DEMO.password };
      expectProblem(
        await http.post('/api/auth/login', { body, headers: { 'sec-fetch-site': 'cross-site' } }),
        403,
        'cross_site_request',
      );
      expectProblem(
        await http.post('/api/auth/login', { body, headers: { origin: 'https://evil.example' } }),
        403,
        'cross_site_request',
      );
      const variants: Record<string, string>[] = [
        {},
        { 'sec-fetch-site': 'same-origin' },
        { 'sec-fetch-site': 'same-site', origin: 'http://127.0.0.1:8080' },
        { origin: api.url },
      ];
      for (const headers of variants) {
        const ok = await http.post('/api/auth/login', { body, headers });
        expect(ok.status, JSON.stringify(headers)).toBe(200);
      }
    });
  });

  describe('sessions: refresh, logout, storage', () => {
    it('refreshes the access token from the session cookie', async () => {
      const carol = await http.login(DEMO.users.carol, DEMO.password);
      const refreshed = await http.post('/api/auth/token/refresh', { cookie: carol.cookie });
      expect(refreshed.status, refreshed.text).toBe(200);
      expect(refreshed.body).toEqual({
        user: carol.user,
        access_token: expect.any(String),
        token_type: 'Bearer',
        expires_in: 900,
      });
      expect(refreshed.body.access_token).not.toBe(carol.token);
      expect(refreshed.headers.get('cache-control')).toBe('no-store');
      const me = await http.get('/api/auth/me', { token: refreshed.body.access_token });
      expect(me.body).toMatchObject({ type: 'user', id: carol.user.id });

      // Clients that always send a JSON content type with no body are served too.
      const emptyJson = await http.post('/api/auth/token/refresh', {
        cookie: carol.cookie,
        headers: { 'content-type': 'application/json' },
      });
      expect(emptyJson.status, emptyJson.text).toBe(200);
    });

    it('refuses a refresh without a cookie, with an unknown one, or from another site', async () => {
      expectAuthenticationRequired(await http.post('/api/auth/token/refresh'));
      const bogus = await http.post('/api/auth/token/refresh', { cookie: 'A'.repeat(43) });
      expectProblem(bogus, 401, 'invalid_session');
      expect(bogus.headers.get('www-authenticate')).toBe('Bearer realm="auth-api"');
      const carol = await http.login(DEMO.users.carol, DEMO.password);
      expectProblem(
        await http.post('/api/auth/token/refresh', {
          cookie: carol.cookie,
          headers: { 'sec-fetch-site': 'cross-site' },
        }),
        403,
        'cross_site_request',
      );
    });

    it('logout by cookie kills the session at once: the cookie and its Bearer token are refused', async () => {
      const carol = await http.login(DEMO.users.carol, DEMO.password);
      const refreshed = await http.post('/api/auth/token/refresh', { cookie: carol.cookie });
      expect((await http.get('/api/auth/me', { cookie: carol.cookie })).status).toBe(200);

      const logout = await http.post('/api/auth/logout', { cookie: carol.cookie });
      expect(logout.status, logout.text).toBe(204);
      expect(logout.text).toBe('');
      const cleared = setCookieLine(logout)!;
      expect(cleared).toMatch(/^sid=;/);
      expect(cleared).toMatch(/Max-Age=0|Expires=Thu, 01 Jan 1970/);

      expectProblem(await http.get('/api/auth/me', { cookie: carol.cookie }), 401, 'invalid_session');
      expectInvalidToken(await http.get('/api/auth/me', { token: carol.token }));
      expectInvalidToken(await http.get('/api/auth/me', { token: refreshed.body.access_token }));
      expectInvalidToken(await http.get('/api/auth/groups', { token: carol.token }));
      expectProblem(
        await http.post('/api/auth/token/refresh', { cookie: carol.cookie }),
        401,
        'invalid_session',
      );
      // Logging out again with the dead cookie is harmless: 204, and the cookie is cleared.
      expect((await http.post('/api/auth/logout', { cookie: carol.cookie })).status).toBe(204);
    });

    it('logout by user Bearer token kills the session its token was minted for', async () => {
      const bob = await http.login(DEMO.users.bob, DEMO.password);
      const other = await http.login(DEMO.users.bob, DEMO.password);
      const logout = await http.post('/api/auth/logout', { token: bob.token });
      expect(logout.status, logout.text).toBe(204);
      expectInvalidToken(await http.get('/api/auth/me', { token: bob.token }));
      expectProblem(await http.get('/api/auth/me', { cookie: bob.cookie }), 401, 'invalid_session');
      // Another session of the same user lives on.
      expect((await http.get('/api/auth/me', { token: other.token })).status).toBe(200);
      expect((await http.get('/api/auth/me', { cookie: other.cookie })).status).toBe(200);
    });

    it('refuses logout without credentials, with a bad token, from another site, or for a service', async () => {
      expectAuthenticationRequired(await http.post('/api/auth/logout'));
      expectInvalidToken(await http.post('/api/auth/logout', { token: FORGED_TOKEN }));
      const carol = await http.login(DEMO.users.carol, DEMO.password);
      expectProblem(
        await http.post('/api/auth/logout', {
          cookie: carol.cookie,
          headers: { origin: 'https://evil.example' },
        }),
        403,
        'cross_site_request',
      );
      expect((await http.get('/api/auth/me', { cookie: carol.cookie })).status).toBe(200);
      expectProblem(
        await http.post('/api/auth/logout', { token: serviceToken(['groups:read']) }),
        403,
        'user_required',
      );
    });

    it('stores only a hash of the session cookie', async () => {
      const bob = await http.login(DEMO.users.bob, DEMO.password);
      const rows = await api.running.core.db
        .selectFrom('sessions')
        .select(['id', 'token_hash'])
        .where('user_id', '=', bob.user.id)
        .execute();
      expect(rows.length).toBeGreaterThan(0);
      for (const row of rows) {
        expect(row.token_hash).not.toBe(bob.cookie);
        expect(row.id).not.toBe(bob.cookie);
      }
      const expected = createHash('sha256').update(bob.cookie).digest('base64url');
      expect(rows.filter((row) => row.token_hash === expected)).toHaveLength(1);
      const clear = await api.running.core.db
        .selectFrom('sessions')
        .select('id')
        .where('token_hash', '=', bob.cookie)
        .execute();
      expect(clear).toHaveLength(0);
    });
  });

  describe('GET /api/auth/me', () => {
    it('describes a user by cookie or Bearer token, and a service by its token', async () => {
      const bob = await http.login(DEMO.users.bob, DEMO.password);
      const expected = {
        type: 'user',
        id: bob.user.id,
        email: DEMO.users.bob,
        display_name: 'Bob',
        org_id: acmeOrgId,
        role: 'owner',
        email_verified: true,
        mfa_enabled: false,
      };
      expect((await http.get('/api/auth/me', { cookie: bob.cookie })).body).toEqual(expected);
      expect((await http.get('/api/auth/me', { token: bob.token })).body).toEqual(expected);
      const service = await http.get('/api/auth/me', {
        token: serviceToken(['members:read', 'groups:read']),
      });
      expect(service.status).toBe(200);
      expect(service.body).toEqual({
        type: 'service',
        client_id: DEMO.serviceClientId,
        scopes: ['groups:read', 'members:read'],
      });
    });

    it('answers 401 without credentials or with a bad token or cookie', async () => {
      expectAuthenticationRequired(await http.get('/api/auth/me'));
      expectInvalidToken(await http.get('/api/auth/me', { token: FORGED_TOKEN }));
      expectInvalidToken(await http.get('/api/auth/me', { token: 'not.a.jwt' }));
      expectProblem(await http.get('/api/auth/me', { cookie: 'B'.repeat(43) }), 401, 'invalid_session');
      // A token for another resource server is not for us.
      const chatOnly = api.running.core.tokenIssuer.issueServiceToken(DEMO.serviceClientId, [], 'chat-api');
      expectInvalidToken(await http.get('/api/auth/me', { token: chatOnly.access_token }));
    });
  });

  it('documents every identity route in OpenAPI', async () => {
    const document = (await (await fetch(`${api.url}/docs/json`)).json()) as {
      paths: Record<string, object>;
    };
    for (const path of [
      '/api/auth/register',
      '/api/auth/login',
      '/api/auth/token/refresh',
      '/api/auth/logout',
      '/api/auth/me',
      '/api/auth/orgs/{org_id}/users',
    ]) {
      expect(document.paths[path], path).toBeDefined();
    }
  });
});
