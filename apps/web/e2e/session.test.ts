/**
 * The access token lives in memory only and is short-lived: the client must trade the session
 * cookie for a fresh one before it expires, keep the WebSocket authenticated (chat-api closes a
 * socket whose token expired), and keep working without the user noticing.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ApiUser, type Platform, startPlatform } from './platform.ts';

const TTL_SECONDS = 30;
let platform: Platform;

beforeAll(async () => {
  platform = await startPlatform({ authEnv: { ACCESS_TOKEN_TTL_SECONDS: String(TTL_SECONDS) } });
});

afterAll(async () => {
  await platform?.close();
});

it('refreshes the token before it expires and stays connected and usable', { timeout: 120_000 }, async () => {
  const context = await platform.browser.newContext();
  const page = await context.newPage();
  let refreshes = 0;
  page.on('response', (response) => {
    if (response.url().endsWith('/api/auth/token/refresh') && response.status() === 200) refreshes++;
  });
  await page.goto(platform.webUrl);
  await page.getByTestId('signin-email').fill(platform.demo.carol);
  await page.getByTestId('signin-password').fill(platform.demo.password);
  await page.getByTestId('signin-submit').click();
  await page.getByTestId('group-item').filter({ hasText: 'general' }).click();
  const badge = page.getByTestId('connection-state');
  await page.locator('[data-testid="connection-state"][data-state="connected"]').waitFor({ timeout: 15_000 });

  // Record every connection state the badge shows from now on.
  await badge.evaluate((el) => {
    const seen: string[] = [];
    (window as unknown as { __states: string[] }).__states = seen;
    new MutationObserver(() => seen.push(el.getAttribute('data-state') ?? '')).observe(el, {
      attributes: true,
    });
  });

  // Past the first token's expiry (and past its refresh at ~80 % of the lifetime).
  await page.waitForTimeout((TTL_SECONDS + 8) * 1000);
  expect(refreshes).toBeGreaterThanOrEqual(1);
  const states = await page.evaluate(() => (window as unknown as { __states: string[] }).__states);
  expect(states).toEqual([]);
  expect(await badge.getAttribute('data-state')).toBe('connected');

  // Live delivery still works on the same socket, and so does sending (REST with the new token).
  const bob = await ApiUser.login(platform, platform.demo.bob);
  const text = `after refresh ${Date.now()}`;
  await bob.post(await bob.groupId('general'), text);
  await page.locator('[data-testid="message-text"]', { hasText: text }).waitFor({ timeout: 1_000 });
  await page.getByTestId('composer').fill('still here');
  await page.getByTestId('composer').press('Enter');
  await page
    .locator('[data-testid="message"] [data-testid="message-text"]', { hasText: 'still here' })
    .waitFor();
  expect(await page.getByTestId('message-pending').count()).toBe(0);
  await context.close();
});
