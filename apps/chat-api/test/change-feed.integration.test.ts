/**
 * No stale trust: chat-api instances that never hear auth-api's bus (their own bus, as if every message
 * were lost) still honour logouts and member removals within 5 s, and an instance started after a
 * revocation knows it at once: they catch up from auth-api's change feed.
 */
import { MemoryBus } from '@groupchat/service-kit';
import { startTestChatApi, type TestChatApi } from '@groupchat/testkit/chat-api';
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

let platform: Platform;
let deaf: TestChatApi;
let general: string;

const post = (chat: TestChatApi, user: User, content: string) =>
  api('POST', `${chat.url}/api/chat/groups/${general}/messages`, { token: user.token, body: { content } });

beforeAll(async () => {
  platform = await startPlatform();
  // A bus of its own: nothing auth-api publishes ever reaches this instance.
  deaf = await startTestChatApi({ authUrl: platform.auth.url, bus: new MemoryBus() });
  const bob = await login(platform.auth.url, DEMO.users.bob);
  general = await generalGroupId(platform.auth.url, bob);
}, 240_000);
afterAll(async () => {
  await deaf?.close();
  await platform?.close();
});

describe('change feed catch-up', () => {
  it('a logout is refused within 5 s without the bus; another user goes on', async () => {
    const bob = await login(platform.auth.url, DEMO.users.bob);
    const carol = await login(platform.auth.url, DEMO.users.carol);
    expect((await post(deaf, bob, 'before logout')).status).toBe(201);
    const loggedOut = Date.now();
    expect((await api('POST', `${platform.auth.url}/api/auth/logout`, { token: bob.token })).status).toBe(
      204,
    );
    await eventually(async () => (await post(deaf, bob, 'after logout')).status === 401, 5_000, 'refused');
    expect(Date.now() - loggedOut).toBeLessThan(5_000);
    expect((await post(deaf, carol, 'carol still posts')).status).toBe(201);
  });

  it('a removed member is refused within 5 s without the bus; another member goes on', async () => {
    const bob = await login(platform.auth.url, DEMO.users.bob);
    const carol = await login(platform.auth.url, DEMO.users.carol);
    expect((await post(deaf, carol, 'carol before removal')).status).toBe(201);
    expect(
      (
        await api('DELETE', `${platform.auth.url}/api/auth/groups/${general}/members/${carol.userId}`, {
          token: bob.token,
        })
      ).status,
    ).toBe(204);
    const removed = Date.now();
    await eventually(async () => (await post(deaf, carol, 'after removal')).status === 403, 5_000, 'refused');
    expect(Date.now() - removed).toBeLessThan(5_000);
    expect((await post(deaf, bob, 'bob still posts')).status).toBe(201);
  });

  it('an instance started after a logout refuses that token at once; others are accepted', async () => {
    const mallory = await login(platform.auth.url, DEMO.users.mallory);
    const admin = await login(platform.auth.url, DEMO.users.admin);
    expect((await api('POST', `${platform.auth.url}/api/auth/logout`, { token: mallory.token })).status).toBe(
      204,
    );
    const fresh = await startTestChatApi({ authUrl: platform.auth.url, bus: new MemoryBus() });
    try {
      expect(fresh.chat.changes.caughtUp).toBe(true);
      const refused = await api('GET', `${fresh.url}/api/chat/groups/${general}/messages`, {
        token: mallory.token,
      });
      expect(refused.status).toBe(401);
      // Admin is not a member of general: 404 (not 401) proves the token itself is accepted.
      const accepted = await api('GET', `${fresh.url}/api/chat/groups/${general}/messages`, {
        token: admin.token,
      });
      expect(accepted.status).not.toBe(401);
    } finally {
      await fresh.close();
    }
  });

  it('a signing key taken out (keys revoke) is refused within 5 s without the bus; new tokens work', async () => {
    const bob = await login(platform.auth.url, DEMO.users.bob);
    expect((await post(deaf, bob, 'before key revocation')).status).toBe(201);
    const kid = JSON.parse(Buffer.from(bob.token.split('.')[0]!, 'base64url').toString()).kid as string;
    const revokedAt = Date.now();
    await platform.auth.running.core.keys.revoke(kid);
    await eventually(async () => (await post(deaf, bob, 'old key')).status === 401, 5_000, 'refused');
    expect(Date.now() - revokedAt).toBeLessThan(5_000);
    const again = await login(platform.auth.url, DEMO.users.bob);
    expect((await post(deaf, again, 'new key')).status).toBe(201);
  });
});
