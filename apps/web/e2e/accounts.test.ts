/**
 * Accounts that run themselves, in the browser: an invitation accepted from the mail's link, a
 * password reset from the mail's link, two-factor sign-in set up by reading the secret off the page
 * and computing the codes here. Mails go through a real SMTP server (smtp-server) and are read back.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { awayFromTotpStepEdge } from '@groupchat/testkit/totp';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ARTIFACTS, type Platform, REPO_ROOT, startPlatform } from './platform.ts';

interface Mail {
  to: string[];
  subject: string;
  text: string;
}
interface Mailbox {
  url: string;
  to(address: string, subjectHas?: string): Promise<Mail>;
  close(): Promise<void>;
}
interface MailTesting {
  startTestMailbox(): Promise<Mailbox>;
  linkOf(mail: Mail): { url: string; token: string };
}
interface Totp {
  totpCode(secret: string, timestampMs: number): string;
}

const importFrom = async <T>(file: string) =>
  (await import(pathToFileURL(path.join(REPO_ROOT, file)).href)) as T;

let platform: Platform;
let mailbox: Mailbox;
let mail: MailTesting;
let totp: Totp;

beforeAll(async () => {
  mail = await importFrom<MailTesting>('packages/testkit/src/mailbox.ts');
  totp = await importFrom<Totp>('apps/auth-api/src/mfa/totp.ts');
  mailbox = await mail.startTestMailbox();
  platform = await startPlatform({ authEnv: { SMTP_URL: mailbox.url, RATE_LIMIT_MFA_PER_USER: '100' } });
});

afterAll(async () => {
  await platform?.close();
  await mailbox?.close();
});

const shot = (page: Page, name: string) =>
  page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });

async function signIn(page: Page, email: string, password: string) {
  await page.goto(platform.webUrl);
  await page.getByTestId('signin-email').fill(email);
  await page.getByTestId('signin-password').fill(password);
  await page.getByTestId('signin-submit').click();
}

async function openMenuLink(page: Page, testId: string) {
  await page.getByTestId('current-user').click();
  await page.getByTestId(testId).click();
}

it('invite by email → accept from the mail’s link → signed in; revoke; audit log', {
  timeout: 120_000,
}, async () => {
  const admin = await (await platform.browser.newContext()).newPage();
  await signIn(admin, platform.demo.bob, platform.demo.password);
  await admin.getByTestId('current-user').waitFor();
  await openMenuLink(admin, 'org-admin-link');
  await admin.getByTestId('org-member').first().waitFor();
  await admin.getByTestId('invite-email').fill('nina@acme.example');
  await admin.getByTestId('invite-role').selectOption('admin');
  await admin.getByTestId('invite-submit').click();
  const row = admin.locator('[data-testid="invitation"][data-email="nina@acme.example"]');
  await expect.poll(() => row.getByTestId('invitation-status').textContent()).toBe('pending');
  await admin.getByTestId('invite-email').fill('otto@acme.example');
  await admin.getByTestId('invite-submit').click();
  const otto = admin.locator('[data-testid="invitation"][data-email="otto@acme.example"]');
  await otto.getByTestId('invitation-revoke').click();
  await expect.poll(() => otto.getByTestId('invitation-status').textContent()).toBe('revoked');
  await shot(admin, 'accounts-01-org-admin-invitations');

  const { url } = mail.linkOf(await mailbox.to('nina@acme.example', 'invited'));
  expect(url.startsWith(platform.webUrl)).toBe(true);
  const invitee = await (await platform.browser.newContext()).newPage();
  await invitee.goto(url);
  await invitee.getByTestId('accept-name').fill('Nina');
  await invitee.getByTestId('accept-password').fill('nina-password-2026');
  await shot(invitee, 'accounts-02-accept-invitation');
  await invitee.getByTestId('accept-submit').click();
  await expect.poll(() => invitee.getByTestId('current-user').textContent()).toContain('Nina');
  // Invited users are verified (the mail reached them): no banner.
  expect(await invitee.getByTestId('email-banner').count()).toBe(0);
  await shot(invitee, 'accounts-03-accepted-signed-in');

  await admin.reload();
  await expect.poll(() => row.getByTestId('invitation-status').textContent()).toBe('accepted');
  await admin.getByTestId('audit-event').first().waitFor();
  const types = await admin
    .getByTestId('audit-event')
    .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-type')));
  expect(types).toEqual(
    expect.arrayContaining(['invitation.created', 'invitation.revoked', 'invitation.accepted']),
  );
  await admin.getByTestId('audit-type').selectOption('invitation.accepted');
  await expect
    .poll(async () =>
      admin.getByTestId('audit-event').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-type'))),
    )
    .toEqual(['invitation.accepted']);
  await admin.getByTestId('audit-log').scrollIntoViewIfNeeded();
  await shot(admin, 'accounts-04-audit-log-filtered');
});

it('forgot → reset from the mail’s link → signed in with the new password', {
  timeout: 120_000,
}, async () => {
  const page = await (await platform.browser.newContext()).newPage();
  await page.goto(platform.webUrl);
  await page.getByTestId('forgot-link').click();
  await page.getByTestId('forgot-email').fill(platform.demo.mallory);
  await page.getByTestId('forgot-submit').click();
  await page.getByTestId('forgot-sent').waitFor();
  await shot(page, 'accounts-05-forgot-sent');
  const { url } = mail.linkOf(await mailbox.to(platform.demo.mallory, 'Reset'));
  await page.goto(url);
  await page.getByTestId('reset-password').fill('mallory-new-password-1');
  await page.getByTestId('reset-submit').click();
  await page.getByTestId('reset-done').waitFor();
  await shot(page, 'accounts-06-reset-done');
  await page.getByTestId('back-to-signin').click();
  await page.getByTestId('signin-email').fill(platform.demo.mallory);
  await page.getByTestId('signin-password').fill('mallory-new-password-1');
  await page.getByTestId('signin-submit').click();
  await expect.poll(() => page.getByTestId('current-user').textContent()).toContain('Mallory');
});

it('enable two-factor (secret read off the page) → sign out → sign in with a computed code', {
  timeout: 150_000,
}, async () => {
  const page = await (await platform.browser.newContext()).newPage();
  await signIn(page, platform.demo.carol, platform.demo.password);
  await page.getByTestId('current-user').waitFor();
  await openMenuLink(page, 'account-link');
  await page.getByTestId('mfa-setup').click();
  await page.getByTestId('mfa-qr').waitFor();
  const secret = (await page.getByTestId('mfa-secret').textContent())?.trim() ?? '';
  expect(secret).toMatch(/^[A-Z2-7]{32}$/);
  expect(await page.getByTestId('mfa-qr').getAttribute('src')).toMatch(/^data:image\/png;base64,/);
  await shot(page, 'accounts-07-two-factor-setup-qr');
  await awayFromTotpStepEdge();
  // The previous step's code (within ±1): the current one stays unused for the sign-in below.
  await page.getByTestId('mfa-enable-code').fill(totp.totpCode(secret, Date.now() - 30_000));
  await page.getByTestId('mfa-enable-submit').click();
  await page.getByTestId('recovery-codes').waitFor();
  expect(await page.getByTestId('recovery-code').count()).toBe(10);
  await expect.poll(() => page.getByTestId('mfa-status').textContent()).toContain('On');
  await shot(page, 'accounts-08-recovery-codes');

  await page.getByTestId('current-user').click();
  await page.getByTestId('signout').click();
  await page.getByTestId('signin-email').fill(platform.demo.carol);
  await page.getByTestId('signin-password').fill(platform.demo.password);
  await page.getByTestId('signin-submit').click();
  await page.getByTestId('mfa-code').waitFor();
  await page.getByTestId('mfa-code').fill('000000');
  await page.getByTestId('mfa-submit').click();
  await page.getByTestId('mfa-error').waitFor();
  await shot(page, 'accounts-09-second-step-wrong-code');
  await awayFromTotpStepEdge();
  await page.getByTestId('mfa-code').fill(totp.totpCode(secret, Date.now()));
  await page.getByTestId('mfa-submit').click();
  await expect.poll(() => page.getByTestId('current-user').textContent()).toContain('Carol');
  await shot(page, 'accounts-10-signed-in-with-code');
});

it('shows the email banner until the address is confirmed from the mail’s link', {
  timeout: 120_000,
}, async () => {
  const page = await (await platform.browser.newContext()).newPage();
  await page.goto(platform.webUrl);
  await page.getByTestId('tab-register').click();
  await page.getByTestId('register-org').fill('Umbrella');
  await page.getByTestId('register-name').fill('Ursula');
  await page.getByTestId('register-email').fill('ursula@umbrella.example');
  await page.getByTestId('register-password').fill('ursula-password-2026');
  await page.getByTestId('register-submit').click();
  await page.getByTestId('email-banner').waitFor();
  await shot(page, 'accounts-11-email-banner');
  const { url } = mail.linkOf(await mailbox.to('ursula@umbrella.example', 'Confirm'));
  await page.goto(url);
  await page.getByTestId('verify-done').waitFor();
  await expect.poll(() => page.getByTestId('email-banner').count()).toBe(0);
  await shot(page, 'accounts-12-email-verified');
});
