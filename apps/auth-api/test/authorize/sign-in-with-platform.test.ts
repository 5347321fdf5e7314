/**
 * "Sign in with the platform", end to end: Debian Chromium drives auth-api's own sign-in and consent
 * pages; openid-client (an unmodified third-party library) is the app, with a real loopback redirect
 * URI. Confidential and public clients, deny, remembered consent, first-party, code replay, PKCE
 * failures, an unregistered redirect URI, refresh rotation and reuse, logout, userinfo, ID tokens.
 */
import { decodeJwt, decodeProtectedHeader } from 'jose';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO, postForm, request, type TestAuthApi } from '../oauth/helpers.ts';
import {
  authorizationUrl,
  CallbackServer,
  client,
  exchange,
  launchBrowser,
  type RegisteredApp,
  registerApp,
  screenshot,
  signIn,
  startApi,
} from './harness.ts';

let api: TestAuthApi;
let browser: Browser;
let callback: CallbackServer;
let confidential: RegisteredApp;
let publicApp: RegisteredApp;
let firstParty: RegisteredApp;

beforeAll(async () => {
  [api, browser, callback] = await Promise.all([startApi(), launchBrowser(), CallbackServer.start()]);
  confidential = await registerApp(api, callback, { clientId: 'photo-app' });
  publicApp = await registerApp(api, callback, { clientId: 'spa-app', type: 'public' });
  firstParty = await registerApp(api, callback, { clientId: 'platform-admin-app', firstParty: true });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await callback?.close();
  await api?.close();
});

async function authorizeInBrowser(
  context: BrowserContext,
  app: RegisteredApp,
  options: {
    email?: string;
    signIn?: boolean;
    consent?: 'allow' | 'deny' | 'absent';
    shots?: string;
    scope?: string;
  } = {},
) {
  const attempt = await authorizationUrl(app, options.scope);
  const page = await context.newPage();
  const arrived = callback.next();
  await page.goto(attempt.url.href);
  if (options.signIn !== false) {
    await page.locator('input[name="email"]').waitFor();
    expect(await page.getByTestId('client-name').textContent()).toBe(`App ${app.clientId}`);
    if (options.shots) await screenshot(page, `${options.shots}-sign-in`);
    await signIn(page, options.email ?? DEMO.users.bob, DEMO.password);
  }
  if (options.consent !== 'absent' && options.consent !== undefined) {
    await page.locator('button[name="decision"]').first().waitFor();
    const text = await page.locator('main').textContent();
    expect(text).toContain(`App ${app.clientId}`);
    if (options.shots) await screenshot(page, `${options.shots}-consent`);
    await page.locator(`button[name="decision"][value="${options.consent}"]`).click();
  }
  // Fail with what the browser shows rather than hang when no callback comes.
  const url = await Promise.race([
    arrived,
    new Promise<never>((_, reject) =>
      setTimeout(async () => {
        const body = await page
          .locator('main')
          .textContent()
          .catch(() => '(no page)');
        reject(new Error(`no callback; the page shows: ${body?.slice(0, 300)}`));
      }, 40_000).unref(),
    ),
  ]);
  // The callback server has the request once its response is on the way: let the page finish loading
  // before closing it (Chromium can hang closing a page in the middle of a navigation).
  await page.locator('#done').waitFor();
  await page.close();
  return { attempt, url };
}

describe('sign in with the platform (authorization code + PKCE, OpenID Connect) in Chromium', () => {
  it('confidential client: sign-in page, consent naming the app and scopes, code with state and iss; tokens, ID token, userinfo', {
    timeout: 90_000,
  }, async () => {
    const context = await browser.newContext();
    const { attempt, url } = await authorizeInBrowser(context, confidential, {
      consent: 'allow',
      shots: 'oauth-confidential',
    });
    expect(url.pathname).toBe('/callback/photo-app');
    expect(url.searchParams.get('state')).toBe(attempt.state);
    expect(url.searchParams.get('iss')).toBe(api.url);
    expect(url.searchParams.get('code')).toMatch(/^[A-Za-z0-9_-]{43}$/);

    // openid-client validates state, iss (RFC 9207), the ID token (signature via JWKS, iss, aud, nonce, exp).
    const tokens = await exchange(confidential, url, attempt);
    expect(tokens.token_type.toLowerCase()).toBe('bearer');
    expect(tokens.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(tokens.scope).toBe('openid profile email groups:read');
    const idClaims = tokens.claims()!;
    const me = (
      await request<{ id: string; org_id: string }>(`${api.url}/api/auth/me`, {
        token: await loginToken(DEMO.users.bob),
      })
    ).body;
    expect(idClaims).toMatchObject({
      iss: api.url,
      sub: me.id,
      aud: 'photo-app',
      nonce: attempt.nonce,
      email: DEMO.users.bob,
      email_verified: expect.any(Boolean),
      name: expect.any(String),
      org_id: me.org_id,
    });
    expect(idClaims.auth_time).toBeLessThanOrEqual(idClaims.iat);
    expect(decodeProtectedHeader(tokens.id_token!)).toMatchObject({ alg: 'ES256', typ: 'JWT' });

    // The access token: RFC 9068, the user, the app, the granted scopes.
    expect(decodeProtectedHeader(tokens.access_token).typ).toBe('at+jwt');
    expect(decodeJwt(tokens.access_token)).toMatchObject({
      iss: api.url,
      sub: me.id,
      client_id: 'photo-app',
      scope: 'openid profile email groups:read',
      org_id: me.org_id,
      aud: 'auth-api',
    });

    // UserInfo (GET and POST), through openid-client and directly.
    const info = await client.fetchUserInfo(confidential.config, tokens.access_token, idClaims.sub);
    expect(info).toMatchObject({ sub: me.id, email: DEMO.users.bob, org_id: me.org_id });
    const posted = await fetch(`${api.url}/oauth/userinfo`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    expect(posted.status).toBe(200);
    expect(((await posted.json()) as { sub: string }).sub).toBe(me.id);

    // The delegated token works on the group endpoints within its scopes and the user's rights.
    const groups = await request<{ groups: { name: string }[] }>(`${api.url}/api/auth/groups`, {
      token: tokens.access_token,
    });
    expect(groups.status).toBe(200);
    expect(groups.body.groups.map((g) => g.name)).toContain('general');
    const write = await request(`${api.url}/api/auth/groups`, {
      method: 'POST',
      token: tokens.access_token,
      body: { name: 'x' },
    });
    expect(write.status).toBe(403);
    expect(write.headers.get('www-authenticate')).toContain('insufficient_scope');

    // Remembered consent: the same user and app, the same scopes: no consent page, straight back.
    const again = await authorizeInBrowser(context, confidential, { signIn: false, consent: 'absent' });
    expect(again.url.searchParams.get('code')).toBeTruthy();
    await exchange(confidential, again.url, again.attempt);
    await context.close();
  });

  it('deny: back to the app with error=access_denied, state and iss', { timeout: 60_000 }, async () => {
    const context = await browser.newContext();
    const { attempt, url } = await authorizeInBrowser(context, confidential, {
      email: DEMO.users.carol,
      consent: 'deny',
    });
    expect(url.searchParams.get('error')).toBe('access_denied');
    expect(url.searchParams.get('state')).toBe(attempt.state);
    expect(url.searchParams.get('iss')).toBe(api.url);
    expect(url.searchParams.get('code')).toBeNull();
    await expect(exchange(confidential, url, attempt)).rejects.toMatchObject({ error: 'access_denied' });
    await context.close();
  });

  it('public client: no secret, PKCE only; refresh rotates, reuse kills the family', {
    timeout: 60_000,
  }, async () => {
    const context = await browser.newContext();
    const { attempt, url } = await authorizeInBrowser(context, publicApp, {
      consent: 'allow',
      shots: 'oauth-public',
    });
    const tokens = await exchange(publicApp, url, attempt);
    expect(decodeJwt(tokens.access_token).client_id).toBe('spa-app');
    const first = tokens.refresh_token!;

    const rotated = await client.refreshTokenGrant(publicApp.config, first);
    expect(rotated.refresh_token).toBeTruthy();
    expect(rotated.refresh_token).not.toBe(first);
    const third = await client.refreshTokenGrant(publicApp.config, rotated.refresh_token!);

    // The first token again: reuse. The family dies: the newest refresh token and its access token too.
    await expect(client.refreshTokenGrant(publicApp.config, first)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    await expect(client.refreshTokenGrant(publicApp.config, third.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    const info = await request(`${api.url}/oauth/userinfo`, { token: third.access_token });
    expect(info.status).toBe(401);
    await context.close();
  });

  it('first-party client: signed in, no consent page', { timeout: 60_000 }, async () => {
    const context = await browser.newContext();
    const { attempt, url } = await authorizeInBrowser(context, firstParty, { consent: 'absent' });
    expect(url.searchParams.get('code')).toBeTruthy();
    const tokens = await exchange(firstParty, url, attempt);
    expect(decodeJwt(tokens.access_token).client_id).toBe('platform-admin-app');
    await context.close();
  });

  it('code replay: the second use is refused and what the first issued is revoked', {
    timeout: 60_000,
  }, async () => {
    const context = await browser.newContext();
    const { attempt, url } = await authorizeInBrowser(context, firstParty, {
      email: DEMO.users.carol,
      consent: 'absent',
    });
    const tokens = await exchange(firstParty, url, attempt);
    expect((await request(`${api.url}/oauth/userinfo`, { token: tokens.access_token })).status).toBe(200);
    await expect(exchange(firstParty, url, attempt)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect((await request(`${api.url}/oauth/userinfo`, { token: tokens.access_token })).status).toBe(401);
    await expect(client.refreshTokenGrant(firstParty.config, tokens.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    await context.close();
  });

  it('PKCE: no challenge and plain are refused at the authorization endpoint; a wrong verifier at the token endpoint', {
    timeout: 60_000,
  }, async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const attempt = await authorizationUrl(confidential);
    for (const mutate of [
      (u: URL) => {
        u.searchParams.delete('code_challenge');
        u.searchParams.delete('code_challenge_method');
      },
      (u: URL) => u.searchParams.set('code_challenge_method', 'plain'),
    ]) {
      const url = new URL(attempt.url);
      mutate(url);
      const arrived = callback.next();
      await page.goto(url.href);
      const back = await arrived;
      expect(back.searchParams.get('error')).toBe('invalid_request');
      expect(back.searchParams.get('state')).toBe(attempt.state);
      expect(back.searchParams.get('iss')).toBe(api.url);
    }
    // A good authorization, then the wrong verifier.
    const { url } = await authorizeInBrowser(context, firstParty, { consent: 'absent' });
    const wrong = { ...attempt, state: url.searchParams.get('state')! };
    const other = await authorizationUrl(firstParty);
    await expect(
      exchange(firstParty, url, { ...wrong, verifier: other.verifier, nonce: other.nonce }),
    ).rejects.toMatchObject({ error: 'invalid_grant' });
    await context.close();
  });

  it('an unregistered redirect URI gets an error page, never a redirect', { timeout: 60_000 }, async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const attempt = await authorizationUrl(confidential);
    const url = new URL(attempt.url);
    url.searchParams.set('redirect_uri', `${callback.url}/evil`);
    const before = callback.received.length;
    const response = await page.goto(url.href);
    expect(response?.status()).toBe(400);
    expect(await page.getByTestId('authorize-error').textContent()).toContain('redirect_uri');
    await screenshot(page, 'oauth-unregistered-redirect');
    expect(callback.received.length).toBe(before);
    await context.close();
  });

  it('logout ends the refresh tokens authorized in that session', { timeout: 60_000 }, async () => {
    const context = await browser.newContext();
    const { attempt, url } = await authorizeInBrowser(context, firstParty, {
      email: DEMO.users.mallory,
      consent: 'absent',
    });
    const tokens = await exchange(firstParty, url, attempt);
    const refreshed = await client.refreshTokenGrant(firstParty.config, tokens.refresh_token!);
    // The browser's session cookie is the one the sign-in page set: log out with it.
    const cookies = await context.cookies(api.url);
    const sid = cookies.find((c) => c.name === 'sid');
    expect(sid).toBeTruthy();
    const logout = await fetch(`${api.url}/api/auth/logout`, {
      method: 'POST',
      headers: { cookie: `sid=${sid!.value}` },
    });
    expect(logout.status).toBe(204);
    await expect(client.refreshTokenGrant(firstParty.config, refreshed.refresh_token!)).rejects.toMatchObject(
      {
        error: 'invalid_grant',
      },
    );
    expect((await request(`${api.url}/oauth/userinfo`, { token: refreshed.access_token })).status).toBe(401);
    await context.close();
  });

  it('revocation of a refresh token at /oauth/revoke ends its family', { timeout: 60_000 }, async () => {
    const context = await browser.newContext();
    const { attempt, url } = await authorizeInBrowser(context, firstParty, { consent: 'absent' });
    const tokens = await exchange(firstParty, url, attempt);
    await client.tokenRevocation(firstParty.config, tokens.refresh_token!);
    await expect(client.refreshTokenGrant(firstParty.config, tokens.refresh_token!)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    expect((await request(`${api.url}/oauth/userinfo`, { token: tokens.access_token })).status).toBe(401);
    // Another client cannot use this app's refresh token, nor a secretless request for a confidential app.
    const secretless = await postForm(`${api.url}/oauth/token`, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token!,
      client_id: 'platform-admin-app',
    });
    expect(secretless.status).toBe(401);
    expect(secretless.body.error).toBe('invalid_client');
    await context.close();
  });
});

async function loginToken(email: string): Promise<string> {
  const response = await request<{ access_token: string }>(`${api.url}/api/auth/login`, {
    method: 'POST',
    body: { email, password: DEMO.password },
  });
  return response.body.access_token;
}
