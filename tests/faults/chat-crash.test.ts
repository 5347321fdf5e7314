import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  allMessages,
  api,
  generalGroupId,
  login,
  type Platform,
  startPlatform,
  subscribe,
} from '../support/platform.ts';

let platform: Platform;
beforeAll(async () => {
  platform = await startPlatform(2);
});
afterAll(async () => {
  await platform?.stop();
});

it('kill -9 of a chat-api during a stream: every acknowledged message is stored once, the survivor delivers all in order', async () => {
  const [instanceA, instanceB] = platform.chats as [(typeof platform.chats)[0], (typeof platform.chats)[0]];
  const bob = await login(platform.auth.url, 'bob@acme.example');
  const carol = await login(platform.auth.url, 'carol@acme.example');
  const groupId = await generalGroupId(platform.auth.url, bob.token);
  const carolOnB = await subscribe(instanceB.url, carol.token, groupId);

  const total = 200;
  const acknowledged = new Map<string, string>(); // client_message_id → message id
  let target = instanceA.url;
  let failures = 0;
  for (let i = 0; i < total; i++) {
    if (i === 60) instanceA.child.kill('SIGKILL');
    const clientMessageId = `crash-${i}`;
    // The client's retry policy: same client_message_id, next instance after a failure.
    for (let attempt = 0; attempt < 10; attempt++) {
      try {
        const result = await api('POST', `${target}/api/chat/groups/${groupId}/messages`, bob.token, {
          content: `message ${i}`,
          client_message_id: clientMessageId,
        });
        if (result.status === 201 || result.status === 200) {
          acknowledged.set(clientMessageId, result.body.id);
          break;
        }
        throw new Error(`status ${result.status}`);
      } catch {
        failures += 1;
        target = instanceB.url;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }
  expect(acknowledged.size).toBe(total);
  expect(failures).toBeGreaterThan(0); // the crash really happened mid-stream

  const stored = (await allMessages(instanceB.url, carol.token, groupId)).filter((m) =>
    m.client_message_id?.startsWith('crash-'),
  );
  const counts = new Map<string, number>();
  for (const message of stored)
    counts.set(message.client_message_id, (counts.get(message.client_message_id) ?? 0) + 1);
  for (const [clientMessageId, id] of acknowledged) {
    expect(counts.get(clientMessageId), clientMessageId).toBe(1);
    expect(stored.find((m) => m.client_message_id === clientMessageId)?.id).toBe(id);
  }
  expect(stored).toHaveLength(total);

  // The subscriber on the surviving instance saw exactly the stored sequence: in order, no gap, no duplicate.
  const deadline = Date.now() + 5_000;
  while (
    carolOnB.messages.filter((m) => m.client_message_id?.startsWith('crash-')).length < total &&
    Date.now() < deadline
  ) {
    await new Promise((r) => setTimeout(r, 50));
  }
  const received = carolOnB.messages
    .filter((m) => m.client_message_id?.startsWith('crash-'))
    .map((m) => m.id);
  expect(received).toEqual(stored.map((m) => m.id));
  carolOnB.close();
});
