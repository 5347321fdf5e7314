/**
 * Password reset and change end sessions on both services: chat-api refuses every token minted before
 * within 5 s, through the same session-ended events as logout. The reset link is read from a real mail.
 */
import { linkOf, startTestMailbox, type TestMailbox } from '@groupchat/testkit/mailbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  DEMO,
  eventually,
  generalGroupId,
  login,
  type Platform,
  startPlatform,
  type User,
} from './helpers.ts';

describe('password reset and change, seen from chat-api', () => {
  let mailbox: TestMailbox;
  let platform: Platform;
  let authUrl: string;
  let chatUrl: string;
  let general: string;

  beforeAll(async () => {
    mailbox = await startTestMailbox();
    platform = await startPlatform({
      authEnv: { SMTP_URL: mailbox.url, RATE_LIMIT_LOGIN_PER_EMAIL: '1000' },
    });
    authUrl = platform.auth.url;
    chatUrl = platform.chats[0]!.url;
    general = await generalGroupId(authUrl, await login(authUrl, DEMO.users.carol));
  }, 180_000);

  afterAll(async () => {
    await platform?.close();
    await mailbox?.close();
  });

  const read = (user: { token: string }) =>
    api('GET', `${chatUrl}/api/chat/groups/${general}/messages`, { token: user.token });

  it('a reset refuses every earlier token of the user on chat-api within 5 s', async () => {
    const sessions: User[] = [await login(authUrl, DEMO.users.carol), await login(authUrl, DEMO.users.carol)];
    for (const s of sessions) expect((await read(s)).status).toBe(200);
    const bob = await login(authUrl, DEMO.users.bob);
    const forgot = await api('POST', `${authUrl}/api/auth/password/forgot`, {
      body: { email: DEMO.users.carol },
    });
    expect(forgot.status).toBe(202);
    const { token } = linkOf(await mailbox.to(DEMO.users.carol, 'Reset'));
    const newPassword = 'carol-new-password-2026';
    const reset = await api('POST', `${authUrl}/api/auth/password/reset`, {
      body: { token, password: newPassword },
    });
    expect(reset.status).toBe(204);
    for (const s of sessions) {
      const elapsed = await eventually(async () => (await read(s)).status === 401, 5_000, 'reset revocation');
      expect(elapsed).toBeLessThan(5_000);
      expect((await api('GET', `${authUrl}/api/auth/me`, { token: s.token })).status).toBe(401);
    }
    // Another user is untouched; Carol signs in with the new password and reads again.
    expect((await read(bob)).status).toBe(200);
    const fresh = await api('POST', `${authUrl}/api/auth/login`, {
      body: { email: DEMO.users.carol, password: newPassword },
    });
    expect(fresh.status).toBe(200);
    expect((await read({ token: fresh.body.access_token })).status).toBe(200);
  });

  it('a password change ends the other sessions on chat-api, not the one that changed it', async () => {
    const here = await login(authUrl, DEMO.users.bob);
    const elsewhere = await login(authUrl, DEMO.users.bob);
    const changed = await api('POST', `${authUrl}/api/auth/password/change`, {
      token: here.token,
      body: { current_password: DEMO.password, new_password: 'bob-new-password-2026' },
    });
    expect(changed.status).toBe(204);
    await eventually(async () => (await read(elsewhere)).status === 401, 5_000, 'change revocation');
    expect((await read(here)).status).toBe(200);
  });
});
