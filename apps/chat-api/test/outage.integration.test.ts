import { uuidv7 } from '@groupchat/service-kit';
import { startTestAuthApi } from '@groupchat/testkit/auth-api';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  createGroup,
  DEMO,
  eventually,
  generalGroupId,
  login,
  type Platform,
  startPlatform,
  TestSocket,
  type User,
  usingPostgres,
} from './helpers.ts';

/**
 * auth-api stopped for a while. On PostgreSQL the real auth-api is stopped and started again on the
 * same port and data; on the embedded default (in-memory auth data that a restart would lose) the
 * line to it is cut instead: for chat-api both are "connection refused".
 */
describe(`auth-api outage (${usingPostgres ? 'auth-api stopped and restarted' : 'connection to auth-api cut'})`, () => {
  let platform: Platform;
  let chatUrl: string;
  let bob: User;
  let carol: User;
  let general: string;
  let uncached: string;
  const messages = (groupId: string) => `${chatUrl}/api/chat/groups/${groupId}/messages`;

  const stopAuth = async () => {
    if (usingPostgres) await platform.auth.close({ keepDatabase: true });
    else await platform.proxy!.down();
  };
  const startAuth = async () => {
    if (usingPostgres) {
      const port = Number(new URL(platform.auth.url).port);
      const env = platform.auth.env;
      platform.auth = await startTestAuthApi({ bus: platform.busFor(), port, env });
    } else await platform.proxy!.up();
  };

  beforeAll(async () => {
    platform = await startPlatform({ proxy: !usingPostgres });
    chatUrl = platform.chats[0]!.url;
    const authUrl = platform.auth.url;
    [bob, carol] = await Promise.all([login(authUrl, DEMO.users.bob), login(authUrl, DEMO.users.carol)]);
    general = await generalGroupId(authUrl, bob);
    uncached = await createGroup(authUrl, bob, `outage-${uuidv7()}`, [carol]);
  });
  afterAll(async () => {
    await platform?.close();
    // An auth-api started on an existing DATABASE_URL does not own (drop) it: drop it here.
    const restartedOn = platform?.auth.env.DATABASE_URL;
    if (usingPostgres && restartedOn) {
      const admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
      await admin.connect();
      await admin.query(`drop database if exists "${new URL(restartedOn).pathname.slice(1)}" with (force)`);
      await admin.end();
    }
  });

  it('cached members keep chatting, uncached lookups get 503, everything recovers by itself', async () => {
    expect(
      (await api('POST', messages(general), { token: bob.token, body: { content: 'before' } })).status,
    ).toBe(201);
    expect((await api('GET', messages(general), { token: carol.token })).status).toBe(200);
    const socket = await TestSocket.connect(platform.chats[0]!.wsUrl, carol.token);
    await socket.subscribe(general);

    await stopAuth();
    for (let i = 0; i < 5; i++) {
      const sent = await api('POST', messages(general), {
        token: bob.token,
        body: { content: `during ${i}` },
      });
      expect(sent.status).toBe(201);
      expect((await api('GET', messages(general), { token: carol.token })).status).toBe(200);
      const refused = await api('POST', messages(uncached), { token: bob.token, body: { content: 'nope' } });
      expect(refused.status).toBe(503);
      expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(refused.body).toMatchObject({ status: 503, detail: expect.any(String) });
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    // Live delivery needs no auth-api either; a new subscription to a cached group works.
    await socket.waitForMessages(general, 5);
    const late = await TestSocket.connect(platform.chats[0]!.wsUrl, bob.token);
    expect(await late.subscribe(general)).toEqual({
      type: 'subscribed',
      group_id: general,
      cursor: expect.stringMatching(/^[0-9]+$/),
    });
    expect(await late.subscribe(uncached)).toMatchObject({ type: 'error', status: 503 });
    const ready = await api('GET', `${chatUrl}/ready`);
    expect(ready.status).toBe(503);
    expect(ready.body.checks.auth_api).toMatch(/^unavailable/);
    expect(ready.body.checks.database).toBe('ok');

    await startAuth();
    await eventually(
      async () =>
        (await api('POST', messages(uncached), { token: bob.token, body: { content: 'after' } })).status ===
        201,
      15_000,
      'uncached group usable again',
    );
    await eventually(
      async () => (await api('GET', `${chatUrl}/ready`)).status === 200,
      15_000,
      'ready again',
    );
    socket.close();
    late.close();
  });
});
