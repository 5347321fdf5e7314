/**
 * Settings → Connected apps: an app the user agreed to on auth-api's consent page shows up in the web
 * client's account menu; Disconnect ends the app's refresh tokens at once.
 */
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ApiUser, ARTIFACTS, type Platform, startPlatform } from './platform.ts';

let platform: Platform;
const REDIRECT = 'http://127.0.0.1:9/connected-apps-callback';

beforeAll(async () => {
  platform = await startPlatform();
  const admin = await ApiUser.login(platform, 'admin@platform.example');
  await admin.call('auth', 'POST', '/admin/oauth/clients', {
    client_id: 'calendar-app',
    client_name: 'Team Calendar',
    client_type: 'public',
    allowed_scopes: ['openid', 'profile', 'groups:read'],
    grant_types: ['authorization_code', 'refresh_token'],
    redirect_uris: [REDIRECT],
  });
}, 180_000);

afterAll(async () => {
  await platform?.close();
});

async function refresh(refreshToken: string) {
  const response = await fetch(`${platform.authUrl}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
      client_id: 'calendar-app',
    }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, string> };
}

it('lists the app Bob connected and disconnects it: its refresh token stops working at once', {
  timeout: 180_000,
}, async () => {
  // Bob connects the app on auth-api's own pages (its own browser context: the app's world).
  const appContext = await platform.browser.newContext();
  const appPage = await appContext.newPage();
  let callback: URL | null = null;
  await appPage.route(`${REDIRECT}**`, async (route) => {
    callback = new URL(route.request().url());
    await route.fulfill({ status: 200, contentType: 'text/html', body: '<p>ok</p>' });
  });
  const verifier = randomBytes(32).toString('base64url');
  const url = new URL(`${platform.authUrl}/oauth/authorize`);
  for (const [name, value] of Object.entries({
    response_type: 'code',
    client_id: 'calendar-app',
    redirect_uri: REDIRECT,
    scope: 'openid profile groups:read',
    state: 'web-e2e',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }))
    url.searchParams.set(name, value);
  await appPage.goto(url.href);
  await appPage.locator('input[name="email"]').fill(platform.demo.bob);
  await appPage.locator('input[name="password"]').fill(platform.demo.password);
  await appPage.locator('button[type="submit"]').click();
  await appPage.locator('button[name="decision"][value="allow"]').click();
  await expect.poll(() => callback, { timeout: 15_000 }).not.toBeNull();
  const exchanged = await fetch(`${platform.authUrl}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: callback!.searchParams.get('code')!,
      redirect_uri: REDIRECT,
      code_verifier: verifier,
      client_id: 'calendar-app',
    }),
  });
  expect(exchanged.status).toBe(200);
  const { refresh_token: first } = (await exchanged.json()) as { refresh_token: string };
  const rotated = await refresh(first);
  expect(rotated.status).toBe(200);
  await appContext.close();

  // Bob, in the web client: account menu → Connected apps.
  const context = await platform.browser.newContext();
  const page = await context.newPage();
  await page.goto(platform.webUrl);
  await page.getByTestId('signin-email').fill(platform.demo.bob);
  await page.getByTestId('signin-password').fill(platform.demo.password);
  await page.getByTestId('signin-submit').click();
  await page.getByTestId('current-user').click();
  const item = page.getByTestId('connected-app').filter({ hasText: 'Team Calendar' });
  await item.waitFor();
  expect(await item.textContent()).toContain('your groups');
  await page.screenshot({ path: path.join(ARTIFACTS, 'connected-apps.png') });

  await item.getByTestId('connected-app-revoke').click();
  await page.getByTestId('connected-apps-empty').waitFor();
  await page.screenshot({ path: path.join(ARTIFACTS, 'connected-apps-after-disconnect.png') });
  const refused = await refresh(rotated.body.refresh_token!);
  expect(refused.status).toBe(400);
  expect(refused.body.error).toBe('invalid_grant');
  await context.close();
});
