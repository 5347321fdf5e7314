/**
 * Read state, typing, presence, search and direct conversations in a real browser against the real
 * platform: Bob on two devices (two browser contexts), Carol on a third. Screenshots go to
 * test-artifacts/web/ (read-*.png).
 */
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiUser, ARTIFACTS, type Platform, startPlatform } from './platform.ts';

let platform: Platform;
const contexts: BrowserContext[] = [];
let bobLaptop: Page;
let bobPhone: Page;
let carol: Page;
let carolApi: ApiUser;
let bobApi: ApiUser;
let groupId: string;
const pageProblems: string[] = [];

async function newPage(): Promise<Page> {
  const context = await platform.browser.newContext({ viewport: { width: 1100, height: 760 } });
  contexts.push(context);
  const page = await context.newPage();
  page.on('pageerror', (error) => pageProblems.push(`pageerror: ${error.message}`));
  return page;
}

async function signIn(page: Page, email: string): Promise<void> {
  await page.goto(platform.webUrl);
  await page.getByTestId('signin-email').fill(email);
  await page.getByTestId('signin-password').fill(platform.demo.password);
  await page.getByTestId('signin-submit').click();
  await page.getByTestId('group-list').waitFor();
  await page.locator('[data-testid="connection-state"][data-state="connected"]').waitFor({ timeout: 30_000 });
}

async function openGroup(page: Page, name: string): Promise<void> {
  await page.getByTestId('group-item').filter({ hasText: name }).first().click();
  await page.getByTestId('room-title').filter({ hasText: name }).waitFor();
  await page.getByTestId('history-start').or(page.getByTestId('load-older')).first().waitFor();
}

const item = (page: Page, id: string) => page.locator(`[data-testid="group-item"][data-group-id="${id}"]`);

async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}

beforeAll(async () => {
  platform = await startPlatform();
  bobApi = await ApiUser.login(platform, 'bob@acme.example');
  carolApi = await ApiUser.login(platform, 'carol@acme.example');
  groupId = await bobApi.createGroup('launch');
  await bobApi.addMember(groupId, carolApi.id);
  bobLaptop = await newPage();
  bobPhone = await newPage();
  carol = await newPage();
  await signIn(bobLaptop, 'bob@acme.example');
  await signIn(bobPhone, 'bob@acme.example');
  await signIn(carol, 'carol@acme.example');
});

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => {});
  await platform?.close();
});

describe('read state that follows the user, typing, presence, search, direct conversations', () => {
  it('shows the server’s unread badge on both of Bob’s devices, and reading on one clears it on the other', async () => {
    for (let i = 1; i <= 3; i++)
      await carolApi.call('chat', 'POST', `/api/chat/groups/${groupId}/messages`, {
        content: `launch note ${i}`,
      });
    for (const page of [bobLaptop, bobPhone])
      await expect.poll(() => item(page, groupId).getAttribute('data-unread'), { timeout: 15_000 }).toBe('3');
    await screenshot(bobPhone, 'read-1-badge-on-phone');
    await openGroup(bobLaptop, 'launch');
    // Read on the laptop: the phone's badge goes away, by the `read` frame, without a reload.
    await expect
      .poll(() => item(bobPhone, groupId).getAttribute('data-unread'), { timeout: 15_000 })
      .toBe('0');
    expect(await item(bobPhone, groupId).getByTestId('unread-badge').count()).toBe(0);
    await screenshot(bobPhone, 'read-2-cleared-on-phone');
    // A reload shows the same: the state is the server's, not the browser's.
    await bobPhone.reload();
    await bobPhone.getByTestId('group-list').waitFor();
    await expect
      .poll(() => item(bobPhone, groupId).getAttribute('data-unread'), { timeout: 15_000 })
      .toBe('0');
  });

  it('shows “Carol is typing…” while she types, and “Seen by Carol” once she has read', async () => {
    await openGroup(carol, 'launch');
    await carol.getByTestId('composer').fill('I am writing something long');
    await expect
      .poll(() => bobLaptop.getByTestId('typing-indicator').textContent(), { timeout: 10_000 })
      .toBe('Carol is typing…');
    await screenshot(bobLaptop, 'read-3-typing');
    await expect
      .poll(() => bobLaptop.getByTestId('typing-indicator').textContent(), { timeout: 10_000 })
      .toBe('');
    await bobLaptop.getByTestId('composer').fill('ready for launch?');
    await bobLaptop.getByTestId('composer').press('Enter');
    // Carol has the room open: she reads it at once, and Bob sees it under his message.
    await expect
      .poll(() => bobLaptop.getByTestId('seen-by').textContent(), { timeout: 15_000 })
      .toBe('Seen by Carol');
    await screenshot(bobLaptop, 'read-4-seen-by');
  });

  it('shows presence dots in the members panel', async () => {
    await bobLaptop.getByTestId('toggle-members').click();
    const carolRow = bobLaptop.locator(`[data-testid="member"][data-user-id="${carolApi.id}"]`);
    await expect.poll(() => carolRow.getAttribute('data-online'), { timeout: 15_000 }).toBe('true');
    await screenshot(bobLaptop, 'read-5-presence');
    await bobLaptop.getByTestId('toggle-members').click();
  });

  it('finds an old message and opens it in context, scrolled to and highlighted', async () => {
    await carolApi.call('chat', 'POST', `/api/chat/groups/${groupId}/messages`, {
      content: 'the Zürich déploiement is scheduled for Thursday',
    });
    // Enough newer messages that the result is not in the first page of the room.
    for (let i = 0; i < 60; i++)
      await bobApi.call('chat', 'POST', `/api/chat/groups/${groupId}/messages`, { content: `filler ${i}` });
    await bobPhone.getByTestId('group-item').filter({ hasText: 'general' }).first().click();
    await bobPhone.getByTestId('search-input').fill('zurich deploie');
    await bobPhone.getByTestId('search-submit').click();
    const result = bobPhone.getByTestId('search-result');
    await expect.poll(() => result.count(), { timeout: 10_000 }).toBe(1);
    await screenshot(bobPhone, 'read-6-search-results');
    await result.click();
    const highlighted = bobPhone.locator('[data-testid="message"][data-highlighted="true"]');
    await expect
      .poll(() => highlighted.textContent(), { timeout: 20_000 })
      .toContain('the Zürich déploiement is scheduled for Thursday');
    const inView = await highlighted.evaluate((el) => {
      const box = el.getBoundingClientRect();
      return box.top >= 0 && box.bottom <= window.innerHeight;
    });
    expect(inView).toBe(true);
    await screenshot(bobPhone, 'read-7-search-jump');
  });

  it('opens a direct conversation from a member’s “Message” button, live on both sides', async () => {
    await bobLaptop.getByTestId('toggle-members').click();
    await bobLaptop
      .locator(`[data-testid="member"][data-user-id="${carolApi.id}"]`)
      .getByTestId('message-member')
      .click();
    await expect
      .poll(() => bobLaptop.getByTestId('room-title').textContent(), { timeout: 10_000 })
      .toBe('Carol');
    await bobLaptop.getByTestId('composer').fill('just between us');
    await bobLaptop.getByTestId('composer').press('Enter');
    const direct = carol.locator('[data-testid="group-item"][data-kind="direct"]');
    await expect.poll(() => direct.textContent(), { timeout: 15_000 }).toContain('Bob');
    await expect.poll(() => direct.getAttribute('data-unread'), { timeout: 15_000 }).toBe('1');
    await screenshot(carol, 'read-8-direct-unread');
    await direct.click();
    await expect
      .poll(() => carol.getByTestId('message-text').filter({ hasText: 'just between us' }).count(), {
        timeout: 10_000,
      })
      .toBe(1);
    await screenshot(carol, 'read-9-direct-open');
    expect(pageProblems).toEqual([]);
  });
});
