import { type Database, openDatabase } from '@groupchat/service-kit';
import { createTestDatabaseTarget } from '@groupchat/testkit';
import { startTestChatApi, type TestChatApi } from '@groupchat/testkit/chat-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatDB } from '../src/db/schema.ts';
import {
  api,
  DEMO,
  eventually,
  generalGroupId,
  login,
  type Platform,
  startPlatform,
  TcpProxy,
  type User,
  usingPostgres,
} from './helpers.ts';

/** PostgreSQL unreachable for a while (connections cut at a proxy): 503s, never 500s, and recovery. */
describe.skipIf(!usingPostgres)('database outage (PostgreSQL behind a cut proxy)', () => {
  let platform: Platform;
  let chat: TestChatApi;
  let proxy: TcpProxy;
  let database: Database<ChatDB>;
  let drop: () => Promise<void>;
  let bob: User;
  let general: string;

  beforeAll(async () => {
    platform = await startPlatform({ instances: 0 });
    const created = await createTestDatabaseTarget('chat_outage');
    drop = created.drop;
    if (created.target.kind !== 'postgres') throw new Error('needs TEST_DATABASE_URL');
    const url = new URL(created.target.url);
    proxy = new TcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
    await proxy.up();
    url.hostname = '127.0.0.1';
    url.port = String(proxy.port);
    database = await openDatabase<ChatDB>({ kind: 'postgres', url: url.toString(), poolSize: 4 });
    chat = await startTestChatApi({
      authUrl: platform.auth.url,
      bus: platform.busFor(),
      database,
      env: { AUTH_ISSUER: platform.auth.url, SERVICE_CLIENT_SECRET: DEMO.serviceClientSecret },
    });
    bob = await login(platform.auth.url, DEMO.users.bob);
    general = await generalGroupId(platform.auth.url, bob);
  });
  afterAll(async () => {
    await chat?.close();
    await database?.close();
    await proxy?.down();
    await drop?.();
    await platform?.close();
  });

  it('answers 503 problem+json while the database is away and recovers by itself', async () => {
    const url = `${chat.url}/api/chat/groups/${general}/messages`;
    expect((await api('POST', url, { token: bob.token, body: { content: 'before' } })).status).toBe(201);
    await proxy.down();
    for (let i = 0; i < 3; i++) {
      for (const result of [
        await api('POST', url, {
          token: bob.token,
          body: { content: `during ${i}`, client_message_id: `db-${i}` },
        }),
        await api('GET', url, { token: bob.token }),
      ]) {
        expect(result.status).toBe(503);
        expect(result.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        expect(result.body).toMatchObject({ status: 503 });
      }
    }
    const ready = await api('GET', `${chat.url}/ready`);
    expect(ready.status).toBe(503);
    expect(ready.body.checks.database).toMatch(/^unavailable/);
    await proxy.up();
    await eventually(
      async () =>
        (await api('POST', url, { token: bob.token, body: { content: 'after', client_message_id: 'db-0' } }))
          .status === 201,
      10_000,
      'writes again',
    );
    await eventually(
      async () => (await api('GET', `${chat.url}/ready`)).status === 200,
      10_000,
      'ready again',
    );
  });
});
