import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  allMessages,
  api,
  generalGroupId,
  login,
  type Platform,
  pacer,
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
  // Requests that met the crash: a dropped connection or a 5xx. Anything else (a 4xx: Bob posts at the
  // rate the contract always allows) fails the test at once.
  let crashErrors = 0;
  const pace = pacer();
  for (let i = 0; i < total; i++) {
    const clientMessageId = `crash-${i}`;
    // The client's retry policy: same client_message_id, next instance after a failure.
    for (let attempt = 0; attempt < 10 && !acknowledged.has(clientMessageId); attempt++) {
      await pace();
      // The kill lands while message 60 is in flight: stored or not, its retry must leave exactly one copy.
      if (i === 60 && attempt === 0) setTimeout(() => instanceA.child.kill('SIGKILL'), 5);
      let result: { status: number; body: any } | null = null;
      try {
        result = await api('POST', `${target}/api/chat/groups/${groupId}/messages`, bob.token, {
          content: `message ${i}`,
          client_message_id: clientMessageId,
        });
      } catch {
        // Connection refused or reset by the killed instance.
      }
      if (result && (result.status === 201 || result.status === 200)) {
        acknowledged.set(clientMessageId, result.body.id);
      } else {
        if (result) expect(result.status, JSON.stringify(result.body)).toBeGreaterThanOrEqual(500);
        crashErrors += 1;
        target = instanceB.url;
      }
    }
  }
  expect(acknowledged.size).toBe(total);
  expect(crashErrors).toBeGreaterThan(0); // the crash really happened mid-stream

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
