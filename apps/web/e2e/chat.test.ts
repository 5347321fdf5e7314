/**
 * The web client in a real browser against the real platform: sign-in, live delivery between two
 * users, history by cursor, offline and back with nothing lost or doubled, safe rendering, retry
 * without duplicates, groups and members, sign-out. Screenshots go to test-artifacts/web/.
 */
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiUser, ARTIFACTS, type Platform, startPlatform } from './platform.ts';

let platform: Platform;
let bobContext: BrowserContext;
let carolContext: BrowserContext;
let bob: Page;
let carol: Page;
const dialogs: string[] = [];
/** Uncaught exceptions and Content-Security-Policy violations in any page. */
const pageProblems: string[] = [];

async function newPage(context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  page.on('pageerror', (error) => pageProblems.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (/Content Security Policy|Warning: |React/i.test(message.text()) && message.type() === 'error') {
      pageProblems.push(`console: ${message.text()}`);
    }
  });
  return page;
}

async function signIn(page: Page, email: string): Promise<void> {
  await page.goto(platform.webUrl);
  await page.getByTestId('signin-email').fill(email);
  await page.getByTestId('signin-password').fill(platform.demo.password);
  await page.getByTestId('signin-submit').click();
  await page.getByTestId('group-list').waitFor();
}

async function openGroup(page: Page, name: string): Promise<void> {
  await page.getByTestId('group-item').filter({ hasText: name }).click();
  await page.getByTestId('room-title').filter({ hasText: name }).waitFor();
  await page.getByTestId('history-start').or(page.getByTestId('load-older')).first().waitFor();
}

async function waitConnected(page: Page): Promise<void> {
  await page.locator('[data-testid="connection-state"][data-state="connected"]').waitFor({ timeout: 15_000 });
}

async function send(page: Page, text: string): Promise<void> {
  const composer = page.getByTestId('composer');
  await composer.fill(text);
  await composer.press('Enter');
}

/** How many confirmed messages in the open room have exactly this text. */
async function countMessages(page: Page, text: string): Promise<number> {
  return page
    .locator('[data-testid="message"] [data-testid="message-text"]')
    .evaluateAll((nodes, t) => nodes.filter((n) => n.textContent === t).length, text);
}

async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}

beforeAll(async () => {
  platform = await startPlatform();
  bobContext = await platform.browser.newContext({ viewport: { width: 1100, height: 760 } });
  carolContext = await platform.browser.newContext({ viewport: { width: 1100, height: 760 } });
  bob = await newPage(bobContext);
  carol = await newPage(carolContext);
});

afterAll(async () => {
  await platform?.close();
});

describe('web client', () => {
  it('shows the sign-in screen and the server’s reason for a failed sign-in', async () => {
    await bob.goto(platform.webUrl);
    await bob.getByTestId('signin-form').waitFor();
    await screenshot(bob, 'sign-in');
    await bob.getByTestId('signin-email').fill(platform.demo.bob);
    await bob.getByTestId('signin-password').fill('not-the-password');
    await bob.getByTestId('signin-submit').click();
    const error = bob.getByTestId('auth-error');
    await error.waitFor();
    expect((await error.textContent())?.trim().length).toBeGreaterThan(0);
  });

  it('signs Bob and Carol in and lists their groups', async () => {
    await signIn(bob, platform.demo.bob);
    await signIn(carol, platform.demo.carol);
    await expect.poll(() => carol.getByTestId('group-item').filter({ hasText: 'general' }).count()).toBe(1);
    await waitConnected(bob);
    await waitConnected(carol);
    await screenshot(carol, 'group-list');
  });

  it('delivers Bob’s message to Carol live, within 1 s, without a reload', async () => {
    await openGroup(bob, 'general');
    await openGroup(carol, 'general');
    await carol.evaluate(() => {
      (window as unknown as { __noReload: boolean }).__noReload = true;
    });
    const text = `hello carol ${Date.now()}`;
    const started = Date.now();
    await send(bob, text);
    await carol
      .locator('[data-testid="message"] [data-testid="message-text"]', { hasText: text })
      .waitFor({ timeout: 1_000 });
    const elapsed = Date.now() - started;
    expect(elapsed).toBeLessThan(1_000);
    expect(await carol.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload)).toBe(true);
    // Bob's own entry was confirmed (no pending left) and shows once.
    await bob.getByTestId('message-pending').waitFor({ state: 'detached' });
    expect(await countMessages(bob, text)).toBe(1);
    expect(await countMessages(carol, text)).toBe(1);
    await screenshot(carol, 'room');
  });

  it('renders markup in a message as text, and runs none of it', async () => {
    const evil = '<img src=x onerror=alert(1)>';
    await send(bob, evil);
    const onCarol = carol.locator('[data-testid="message"] [data-testid="message-text"]', { hasText: evil });
    await onCarol.waitFor({ timeout: 5_000 });
    expect(await onCarol.textContent()).toBe(evil);
    for (const page of [bob, carol]) {
      expect(await page.locator('[data-testid="message-list"] img').count()).toBe(0);
    }
    await carol.waitForTimeout(300);
    expect(dialogs).toEqual([]);
  });

  it('sends on Enter and starts a new line on Shift+Enter', async () => {
    const composer = bob.getByTestId('composer');
    await composer.click();
    await composer.pressSequentially('first line');
    await composer.press('Shift+Enter');
    await composer.pressSequentially('second line');
    expect(await composer.inputValue()).toBe('first line\nsecond line');
    await composer.press('Enter');
    expect(await composer.inputValue()).toBe('');
    await carol
      .locator('[data-testid="message"] [data-testid="message-text"]', { hasText: 'second line' })
      .waitFor({ timeout: 5_000 });
    expect(await countMessages(carol, 'first line\nsecond line')).toBe(1);
  });

  it('lets Carol scroll back through 200 messages without gaps, and a reload keeps her signed in', async () => {
    const apiBob = await ApiUser.login(platform, platform.demo.bob);
    const apiCarol = await ApiUser.login(platform, platform.demo.carol);
    const groupId = await apiBob.createGroup('history');
    await apiBob.addMember(groupId, apiCarol.id);
    const expected: string[] = [];
    for (let i = 1; i <= 200; i++) {
      const text = `history ${String(i).padStart(3, '0')}`;
      expected.push(text);
      await apiBob.post(groupId, text);
    }
    // The new group appears after a reload, which must not sign Carol out (session cookie → token).
    await carol.reload();
    await carol.getByTestId('group-list').waitFor();
    await openGroup(carol, 'history');
    const scroller = carol.getByTestId('message-scroller');
    for (let i = 0; i < 20; i++) {
      if (await carol.getByTestId('history-start').isVisible()) break;
      const before = await carol.getByTestId('message').count();
      await scroller.hover();
      await carol.mouse.wheel(0, -20_000);
      await carol
        .waitForFunction(
          (n) =>
            document.querySelectorAll('[data-testid="message"]').length > n ||
            document.querySelector('[data-testid="history-start"]') !== null,
          before,
          { timeout: 5_000 },
        )
        .catch(() => {});
    }
    await carol.getByTestId('history-start').waitFor({ timeout: 5_000 });
    const texts = await carol
      .locator('[data-testid="message"] [data-testid="message-text"]')
      .evaluateAll((nodes) => nodes.map((n) => n.textContent));
    expect(texts).toEqual(expected);
  });

  it('survives the network dropping: messages sent meanwhile appear exactly once', async () => {
    await openGroup(bob, 'general');
    await openGroup(carol, 'general');
    await waitConnected(carol);
    await carolContext.setOffline(true);
    await carol.locator('[data-testid="connection-state"][data-state="offline"]').waitFor({ timeout: 5_000 });
    await screenshot(carol, 'room-offline');

    const stamp = Date.now();
    const fromBob = [1, 2, 3].map((i) => `while carol was away ${i} ${stamp}`);
    for (const text of fromBob) await send(bob, text);
    // Carol writes while offline: the entry fails visibly, then goes out once the network is back.
    const fromCarol = `carol typed offline ${stamp}`;
    await send(carol, fromCarol);
    await carol.locator('[data-testid="message-pending"][data-status="failed"]').waitFor({ timeout: 10_000 });

    await carolContext.setOffline(false);
    await waitConnected(carol);
    for (const text of fromBob) {
      await carol
        .locator('[data-testid="message"] [data-testid="message-text"]', { hasText: text })
        .waitFor();
    }
    await carol
      .locator('[data-testid="message"] [data-testid="message-text"]', { hasText: fromCarol })
      .waitFor();
    await bob
      .locator('[data-testid="message"] [data-testid="message-text"]', { hasText: fromCarol })
      .waitFor();
    await carol.waitForTimeout(500);
    for (const text of [...fromBob, fromCarol]) {
      expect(await countMessages(carol, text)).toBe(1);
      expect(await countMessages(bob, text)).toBe(1);
    }
    expect(await carol.getByTestId('message-pending').count()).toBe(0);
  });

  it('retries a send whose answer was lost without duplicating it', async () => {
    const text = `answer lost ${Date.now()}`;
    let firstId: string | undefined;
    let calls = 0;
    await bob.route('**/api/chat/groups/*/messages', async (route) => {
      if (route.request().method() !== 'POST') return route.fallback();
      calls++;
      if (calls === 1) {
        // The server stores the message, but the browser never hears back.
        const response = await route.fetch();
        firstId = ((await response.json()) as { id: string }).id;
        return route.abort('connectionreset');
      }
      return route.fallback();
    });
    await send(bob, text);
    const failed = bob.locator('[data-testid="message-pending"][data-status="failed"]');
    // It may already have been confirmed by the live stream (same client_message_id): both are fine.
    await failed
      .or(bob.locator('[data-testid="message"]', { hasText: text }))
      .first()
      .waitFor();
    if (await failed.count()) await failed.getByTestId('retry').click();
    await bob.locator('[data-testid="message"] [data-testid="message-text"]', { hasText: text }).waitFor();
    await bob.unroute('**/api/chat/groups/*/messages');
    await carol.locator('[data-testid="message"] [data-testid="message-text"]', { hasText: text }).waitFor();
    await bob.waitForTimeout(300);
    expect(firstId).toBeTruthy();
    expect(await countMessages(bob, text)).toBe(1);
    expect(await countMessages(carol, text)).toBe(1);
    expect(await bob.locator(`[data-message-id="${firstId}"]`).count()).toBe(1);
  });

  it('creates a group, adds Carol by email, and she sees it and its messages', async () => {
    await bob.getByTestId('new-group').click();
    await bob.getByTestId('create-group').waitFor();
    await bob.getByTestId('group-name').fill('design review');
    await screenshot(bob, 'create-group');
    await bob.getByTestId('create-group-submit').click();
    await bob.getByTestId('room-title').filter({ hasText: 'design review' }).waitFor();
    await bob.getByTestId('toggle-members').click();
    await bob.getByTestId('add-member-input').fill(platform.demo.carol);
    await bob.getByTestId('add-member-submit').click();
    await bob.getByTestId('add-member-ok').waitFor();
    await expect.poll(() => bob.getByTestId('member').count()).toBe(2);
    // A user of another organization cannot be added: by email the directory does not know her;
    // by id the server refuses, and its problem+json detail is what the user reads.
    await bob.getByTestId('add-member-input').fill(platform.demo.mallory);
    await bob.getByTestId('add-member-submit').click();
    await bob.getByTestId('add-member-error').waitFor();
    const mallory = await ApiUser.login(platform, platform.demo.mallory);
    const groupId = await bob.getByTestId('room').getAttribute('data-group-id');
    const refusal = await fetch(`${platform.authUrl}/api/auth/groups/${groupId}/members`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${(await ApiUser.login(platform, platform.demo.bob)).token}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ user_id: mallory.id }),
    });
    const problem = (await refusal.json()) as { detail: string };
    expect(refusal.status).toBeGreaterThanOrEqual(400);
    await bob.getByTestId('add-member-input').fill(mallory.id);
    await bob.getByTestId('add-member-submit').click();
    await bob.getByTestId('add-member-error').filter({ hasText: problem.detail }).waitFor();
    await screenshot(bob, 'members');
    await send(bob, 'welcome to design review');
    await bob.locator('[data-testid="message"]', { hasText: 'welcome to design review' }).waitFor();

    await carol.reload();
    await carol.getByTestId('group-list').waitFor();
    await openGroup(carol, 'design review');
    await carol.locator('[data-testid="message"]', { hasText: 'welcome to design review' }).waitFor();
  });

  it('marks unread messages in the group list', async () => {
    await carol.goto(`${platform.webUrl}/#/`);
    await carol.getByTestId('group-list').waitFor();
    await waitConnected(carol);
    await send(bob, 'unread for carol');
    const item = carol.locator('[data-testid="group-item"]', { hasText: 'design review' });
    await item.getByTestId('unread-badge').waitFor({ timeout: 5_000 });
    expect(Number(await item.getAttribute('data-unread'))).toBeGreaterThanOrEqual(1);
    await screenshot(carol, 'group-list-unread');
    await item.click();
    await carol.locator('[data-testid="message"]', { hasText: 'unread for carol' }).waitFor();
    await carol.goto(`${platform.webUrl}/#/`);
    await carol.getByTestId('group-list').waitFor();
    await expect.poll(() => item.getByTestId('unread-badge').count()).toBe(0);
  });

  it('is usable at 375 px: one pane at a time', async () => {
    const context = await platform.browser.newContext({
      viewport: { width: 375, height: 720 },
      isMobile: true,
    });
    const page = await newPage(context);
    await signIn(page, platform.demo.carol);
    await screenshot(page, 'mobile-group-list');
    await openGroup(page, 'general');
    expect(await page.getByTestId('group-list').isVisible()).toBe(false);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(width).toBeLessThanOrEqual(375);
    await screenshot(page, 'mobile-room');
    await context.close();
  });

  it('signs out, and a reload stays signed out', async () => {
    await bob.getByTestId('current-user').click();
    await bob.getByTestId('signout').click();
    await bob.getByTestId('signin-form').waitFor();
    await bob.reload();
    await bob.getByTestId('signin-form').waitFor();
    expect(dialogs).toEqual([]);
    expect(pageProblems).toEqual([]);
  });
});
