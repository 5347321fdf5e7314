/**
 * Messages that live, in a real browser against the real platform: light formatting (never HTML),
 * @mention autocomplete and highlight, edit in place, reactions (picker, counts, who, toggle),
 * deletion with a confirmation, threads beside the room, grouping by sender and day. Carol sees
 * every change Bob makes live, without a reload. Screenshots go to test-artifacts/web/.
 */
import path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS, type Platform, startPlatform } from './platform.ts';

let platform: Platform;
let bob: Page;
let carol: Page;
const problems: string[] = [];

async function newPage(): Promise<Page> {
  const context = await platform.browser.newContext({ viewport: { width: 1200, height: 780 } });
  const page = await context.newPage();
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
  page.on('dialog', (dialog) => {
    problems.push(`dialog: ${dialog.message()}`);
    void dialog.dismiss();
  });
  return page;
}

async function signIn(page: Page, email: string): Promise<void> {
  await page.goto(platform.webUrl);
  await page.getByTestId('signin-email').fill(email);
  await page.getByTestId('signin-password').fill(platform.demo.password);
  await page.getByTestId('signin-submit').click();
  await page.getByTestId('group-list').waitFor();
  await page.getByTestId('group-item').filter({ hasText: 'general' }).click();
  await page.getByTestId('room-title').filter({ hasText: 'general' }).waitFor();
  await page.locator('[data-testid="connection-state"][data-state="connected"]').waitFor({ timeout: 15_000 });
}

async function send(page: Page, text: string): Promise<void> {
  const composer = page.getByTestId('composer');
  await composer.fill(text);
  await composer.press('Enter');
}

/** The confirmed message whose text contains `text`, in the room (not the thread pane). */
function message(page: Page, text: string): Locator {
  return page.getByTestId('message-list').locator('[data-testid="message"]', { hasText: text });
}

async function shot(page: Page, name: string, options: { keepHover?: boolean } = {}): Promise<void> {
  // Hover toolbars would cover the text they belong to.
  if (!options.keepHover) await page.mouse.move(600, 20);
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}

async function action(page: Page, item: Locator, name: string): Promise<void> {
  await item.hover();
  await item.getByTestId(`action-${name}`).click();
}

beforeAll(async () => {
  platform = await startPlatform();
  bob = await newPage();
  carol = await newPage();
  await signIn(bob, platform.demo.bob);
  await signIn(carol, platform.demo.carol);
  await carol.evaluate(() => {
    (window as unknown as { __noReload: boolean }).__noReload = true;
  });
});

afterAll(async () => {
  await platform?.close();
});

describe('messages that live (web)', () => {
  it('formats bold, italics, code and links safely, and never renders HTML', async () => {
    const text =
      'Deploy **now** please, _carefully_: run `npm test` first, see https://example.com/docs. <b>not bold</b>';
    await send(bob, text);
    await send(bob, '```\nconst a = "<script>alert(1)</script>";\n```');
    const item = message(carol, 'Deploy');
    await item.waitFor({ timeout: 5_000 });
    expect(await item.locator('strong').textContent()).toBe('now');
    expect(await item.locator('em').textContent()).toBe('carefully');
    expect(await item.locator('code').first().textContent()).toBe('npm test');
    const link = item.locator('a');
    expect(await link.getAttribute('href')).toBe('https://example.com/docs');
    expect(await link.getAttribute('rel')).toBe('noopener noreferrer');
    expect(await link.getAttribute('target')).toBe('_blank');
    expect(await link.textContent()).toBe('https://example.com/docs');
    // Raw HTML stays text.
    expect(await item.locator('b').count()).toBe(0);
    expect(await item.textContent()).toContain('<b>not bold</b>');
    const block = message(carol, 'const a').locator('pre code');
    await block.waitFor();
    expect(await block.textContent()).toBe('const a = "<script>alert(1)</script>";');
    expect(await carol.locator('[data-testid="message-list"] script').count()).toBe(0);
    await shot(carol, 'messages-formatting');
  });

  it('groups messages by sender and day, with a date separator', async () => {
    await send(bob, 'grouped one');
    await send(bob, 'grouped two');
    const second = message(carol, 'grouped two');
    await second.waitFor({ timeout: 5_000 });
    // The second of a run has no header of its own; the first does.
    expect(await second.getAttribute('class')).toContain('continued');
    expect(await second.getByTestId('message-sender').count()).toBe(0);
    expect(await message(carol, 'Deploy').getByTestId('message-sender').textContent()).toBe('Bob');
    const separators = carol.getByTestId('day-separator');
    expect(await separators.count()).toBeGreaterThanOrEqual(1);
    expect(await separators.last().textContent()).toBe('Today');
    await shot(carol, 'messages-grouping');
  });

  it('suggests members after @ and highlights a mention of you', async () => {
    const composer = bob.getByTestId('composer');
    await composer.click();
    await composer.pressSequentially('hey @Ca');
    const options = bob.getByTestId('mention-option');
    await options.first().waitFor();
    expect(await options.allTextContents()).toEqual(['@Carol']);
    await shot(bob, 'messages-mention-autocomplete');
    // A busy page (as under load): animation frames come late. Typing on right after picking must still land
    // after the picked name, never be cut in two by a caret that moves back later.
    await bob.evaluate(() => {
      const w = window as unknown as { __raf?: typeof requestAnimationFrame };
      w.__raf = window.requestAnimationFrame.bind(window);
      window.requestAnimationFrame = (cb) => window.setTimeout(() => w.__raf!(cb), 60);
    });
    await composer.press('Enter'); // picks the suggestion
    expect(await composer.inputValue()).toBe('hey @Carol ');
    await composer.pressSequentially('can you review?', { delay: 15 });
    expect(await composer.inputValue()).toBe('hey @Carol can you review?');
    await bob.evaluate(() => {
      window.requestAnimationFrame = (window as unknown as { __raf: typeof requestAnimationFrame }).__raf;
    });
    await composer.press('Enter');
    const item = message(carol, 'can you review?');
    await item.waitFor({ timeout: 5_000 });
    expect(await item.getAttribute('data-mentions-me')).toBe('true');
    expect(await item.locator('.mention.me').textContent()).toBe('@Carol');
    // Bob's own view highlights the mention, but not as a mention of him.
    expect(await message(bob, 'can you review?').getAttribute('data-mentions-me')).toBeNull();
    await shot(carol, 'messages-mention-highlight');
  });

  it('Carol sees Bob’s edit, reaction and deletion live, without a reload', async () => {
    await send(bob, 'the deploy is at 5pm');
    await send(bob, 'wrong room, sorry');
    const typo = message(carol, 'the deploy is at 5pm');
    const wrong = message(carol, 'wrong room, sorry');
    await wrong.waitFor({ timeout: 5_000 });

    // Carol may neither edit nor delete Bob's messages.
    await typo.hover();
    expect(await typo.getByTestId('action-edit').count()).toBe(0);
    expect(await typo.getByTestId('action-delete').count()).toBe(0);

    // Edit in place.
    const bobTypo = message(bob, 'the deploy is at 5pm');
    await action(bob, bobTypo, 'edit');
    const input = bob.getByTestId('edit-input');
    await input.fill('the deploy is at 6pm');
    await input.press('Enter');
    const edited = message(carol, 'the deploy is at 6pm');
    await edited.getByTestId('edited-mark').waitFor({ timeout: 2_000 });
    expect(await message(carol, 'the deploy is at 5pm').count()).toBe(0);

    // A reaction from the picker.
    await action(bob, message(bob, 'the deploy is at 6pm'), 'react');
    await bob.getByTestId('emoji-picker').locator('[data-emoji="🎉"]').click();
    const reaction = edited.locator('[data-testid="reaction"][data-emoji="🎉"]');
    await reaction.waitFor({ timeout: 2_000 });
    expect(await reaction.locator('.count').textContent()).toBe('1');
    expect(await reaction.getAttribute('title')).toBe('Bob reacted with 🎉');

    // Deletion, after a confirmation.
    const bobWrong = message(bob, 'wrong room, sorry');
    await action(bob, bobWrong, 'delete');
    await bob.getByTestId('delete-confirm').waitFor();
    await shot(bob, 'messages-delete-confirm');
    await bob.getByTestId('delete-confirm-yes').click();
    const tombstone = carol.locator('[data-testid="message"][data-deleted="true"]', {
      hasText: 'message deleted',
    });
    await tombstone.last().waitFor({ timeout: 2_000 });
    expect(await carol.getByTestId('message-list').textContent()).not.toContain('wrong room, sorry');
    expect(await carol.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload)).toBe(true);
    await edited.scrollIntoViewIfNeeded();
    await shot(carol, 'messages-carol-sees-edit-reaction-delete');
  });

  it('toggles Carol’s own reaction, shows who reacted, and Bob sees the count change', async () => {
    const edited = message(carol, 'the deploy is at 6pm');
    const reaction = edited.locator('[data-testid="reaction"][data-emoji="🎉"]');
    await reaction.click();
    await expect.poll(() => reaction.locator('.count').textContent()).toBe('2');
    expect(await reaction.getAttribute('aria-pressed')).toBe('true');
    expect(await reaction.getAttribute('title')).toBe('Bob, You reacted with 🎉');
    const onBob = message(bob, 'the deploy is at 6pm').locator('[data-testid="reaction"][data-emoji="🎉"]');
    await expect.poll(() => onBob.locator('.count').textContent(), { timeout: 2_000 }).toBe('2');
    expect(await onBob.getAttribute('title')).toBe('You, Carol reacted with 🎉');
    await reaction.hover();
    await shot(carol, 'messages-reactions', { keepHover: true });
    await reaction.click();
    await expect.poll(() => onBob.locator('.count').textContent(), { timeout: 2_000 }).toBe('1');
    expect(await reaction.getAttribute('aria-pressed')).toBe('false');
  });

  it('replies in a thread beside the room; the other side sees the reply count and the reply live', async () => {
    const root = message(carol, 'the deploy is at 6pm');
    await action(carol, root, 'reply');
    const pane = carol.getByTestId('thread-pane');
    await pane.waitFor();
    await carol.getByTestId('thread-composer').fill('I will be there, **promise**');
    await carol.getByTestId('thread-composer').press('Enter');
    await pane
      .getByTestId('thread-replies')
      .locator('[data-testid="message"]', { hasText: 'I will be there' })
      .waitFor();
    // The reply is in the thread, not in the timeline.
    expect(await message(carol, 'I will be there').count()).toBe(0);

    const link = message(bob, 'the deploy is at 6pm').getByTestId('thread-link');
    await link.waitFor({ timeout: 2_000 });
    expect(await link.textContent()).toBe('1 reply');
    await link.click();
    const bobPane = bob.getByTestId('thread-pane');
    const reply = bobPane.locator('[data-testid="message"]', { hasText: 'I will be there' });
    await reply.waitFor();
    expect(await reply.locator('strong').textContent()).toBe('promise');
    // Bob answers; Carol's open thread gets it live.
    await bob.getByTestId('thread-composer').fill('great, thanks');
    await bob.getByTestId('thread-composer').press('Enter');
    await pane.locator('[data-testid="message"]', { hasText: 'great, thanks' }).waitFor({ timeout: 2_000 });
    await expect
      .poll(() => message(carol, 'the deploy is at 6pm').getByTestId('thread-link').textContent())
      .toBe('2 replies');
    await shot(carol, 'messages-thread-pane');
    expect(problems).toEqual([]);
  });
});
