import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  api,
  createGroup,
  generalGroupId,
  login,
  type Platform,
  startPlatform,
  startService,
} from '../support/platform.ts';

let platform: Platform;
beforeAll(async () => {
  platform = await startPlatform(1);
});
afterAll(async () => {
  await platform?.stop();
});

it('auth-api down for 30 s: cached members keep chatting, uncached lookups get 503, all recovers', async () => {
  const chat = platform.chats[0]!;
  const bob = await login(platform.auth.url, 'bob@acme.example');
  const carol = await login(platform.auth.url, 'carol@acme.example');
  const general = await generalGroupId(platform.auth.url, bob.token);
  // A group chat-api has never looked up: it cannot be answered while auth-api is away.
  const uncached = await createGroup(platform.auth.url, bob.token, 'outage-room');

  // Bob and Carol are active in general: their membership is cached.
  expect(
    (await api('POST', `${chat.url}/api/chat/groups/${general}/messages`, bob.token, { content: 'before' }))
      .status,
  ).toBe(201);
  expect(
    (await api('GET', `${chat.url}/api/chat/groups/${general}/messages?limit=5`, carol.token)).status,
  ).toBe(200);

  await platform.auth.stop('SIGTERM');
  const outageStarted = Date.now();
  let sent = 0;
  while (Date.now() - outageStarted < 30_000) {
    const send = await api('POST', `${chat.url}/api/chat/groups/${general}/messages`, bob.token, {
      content: `during outage ${sent}`,
    });
    expect(send.status).toBe(201);
    sent += 1;
    expect(
      (await api('GET', `${chat.url}/api/chat/groups/${general}/messages?limit=5`, carol.token)).status,
    ).toBe(200);
    const refused = await api('POST', `${chat.url}/api/chat/groups/${uncached}/messages`, bob.token, {
      content: 'nope',
    });
    expect(refused.status).toBe(503);
    expect(refused.body).toMatchObject({ status: 503 });
    await new Promise((r) => setTimeout(r, 1_000));
  }
  expect((await fetch(`${chat.url}/ready`)).status).toBe(503);

  // auth-api returns on the same port and data; chat-api recovers by itself.
  platform.auth = await startService('auth-api', platform.authEnv);
  let status = 0;
  for (let t = 0; t < 100 && status !== 201; t++) {
    status = (
      await api('POST', `${chat.url}/api/chat/groups/${uncached}/messages`, bob.token, { content: 'after' })
    ).status;
    if (status !== 201) await new Promise((r) => setTimeout(r, 200));
  }
  expect(status).toBe(201);
  let ready = 0;
  for (let t = 0; t < 100 && ready !== 200; t++) {
    ready = (await fetch(`${chat.url}/ready`)).status;
    if (ready !== 200) await new Promise((r) => setTimeout(r, 200));
  }
  expect(ready).toBe(200);
});
