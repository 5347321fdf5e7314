/**
 * A user with TOTP two-factor sign-in on auth-api's own sign-in page, in Chromium, with openid-client as
 * the app: password, then the code step (a wrong code is refused on the page), then consent and the code.
 */
import { awayFromTotpStepEdge } from '@groupchat/testkit/totp';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { totpCode } from '../../src/mfa/totp.ts';
import { DEMO, request, type TestAuthApi } from '../oauth/helpers.ts';
import {
  authorizationUrl,
  CallbackServer,
  exchange,
  launchBrowser,
  type RegisteredApp,
  registerApp,
  screenshot,
  signIn,
  startApi,
} from './harness.ts';

const STEP_MS = 30_000;
let api: TestAuthApi;
let browser: Browser;
let callback: CallbackServer;
let app: RegisteredApp;
let secret: string;

beforeAll(async () => {
  [api, browser, callback] = await Promise.all([
    startApi({ RATE_LIMIT_MFA_PER_IP: '1000', RATE_LIMIT_MFA_PER_USER: '1000' }),
    launchBrowser(),
    CallbackServer.start(),
  ]);
  app = await registerApp(api, callback, { clientId: 'mfa-app' });
  const login = await request<{ access_token: string }>(`${api.url}/api/auth/login`, {
    method: 'POST',
    body: { email: DEMO.users.carol, password: DEMO.password },
  });
  const setup = await request<{ secret: string }>(`${api.url}/api/auth/mfa/totp/setup`, {
    method: 'POST',
    token: login.body.access_token,
  });
  expect(setup.status).toBe(200);
  secret = setup.body.secret;
  await awayFromTotpStepEdge(4_000);
  const enable = await request(`${api.url}/api/auth/mfa/totp/enable`, {
    method: 'POST',
    token: login.body.access_token,
    body: { code: totpCode(secret, Date.now() - STEP_MS) },
  });
  expect(enable.status).toBe(200);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await callback?.close();
  await api?.close();
});

it('MFA user: password, then the TOTP step, then consent and the code', { timeout: 120_000 }, async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const attempt = await authorizationUrl(app);
  const arrived = callback.next();
  await page.goto(attempt.url.href);
  await signIn(page, DEMO.users.carol, DEMO.password);
  await page.locator('input[name="code"]').waitFor();
  expect(await context.cookies(api.url)).not.toContainEqual(expect.objectContaining({ name: 'sid' }));
  await screenshot(page, 'oauth-mfa-step');
  await page.locator('input[name="code"]').fill('000000');
  await page.locator('button[type="submit"]').click();
  await page.getByTestId('mfa-error').waitFor();
  await awayFromTotpStepEdge(4_000);
  await page.locator('input[name="code"]').fill(totpCode(secret, Date.now()));
  await page.locator('button[type="submit"]').click();
  await page.locator('button[name="decision"][value="allow"]').click();
  const url = await arrived;
  expect(url.searchParams.get('iss')).toBe(api.url);
  const tokens = await exchange(app, url, attempt);
  expect(tokens.claims()?.email).toBe(DEMO.users.carol);
  await context.close();
});
