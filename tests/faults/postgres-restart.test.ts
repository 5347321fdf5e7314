import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  allMessages,
  api,
  generalGroupId,
  login,
  type Platform,
  pacer,
  startPlatform,
} from '../support/platform.ts';

let platform: Platform;
beforeAll(async () => {
  platform = await startPlatform(1);
});
afterAll(async () => {
  await platform?.stop();
});

it('PostgreSQL down for 3 s during traffic: requests meet the outage as 503, nothing acknowledged is lost or doubled, service returns by itself', async () => {
  const chat = platform.chats[0]!;
  const bob = await login(platform.auth.url, 'bob@acme.example');
  const groupId = await generalGroupId(platform.auth.url, bob.token);
  // Warm the membership cache so the outage is the database's alone.
  expect(
    (await api('GET', `${chat.url}/api/chat/groups/${groupId}/messages?limit=1`, bob.token)).status,
  ).toBe(200);

  const acknowledged = new Map<string, string>();
  const statuses = new Map<number, number>();
  const duringOutage = new Map<number, number>();
  let phase: 'before' | 'down' | 'after' = 'before';
  let recoveredAfterRestart = false;
  let stopping = false;

  // The restart runs beside the traffic (asynchronous pg_ctl): requests keep arriving while the server is down.
  const outage = (async () => {
    await new Promise((r) => setTimeout(r, 1_500));
    await platform.pg.stop();
    phase = 'down';
    await new Promise((r) => setTimeout(r, 3_000));
    await platform.pg.start();
    phase = 'after';
  })();

  // Three senders (requests overlap, so some are in flight when the server goes), one user, sharing one
  // pacer at the rate the contract always allows: any answer but 201/200 or 503 is a failure.
  const pace = pacer();
  const unexpected: string[] = [];
  let next = 0;
  const sender = async () => {
    while (!stopping) {
      await pace();
      const clientMessageId = `pg-${next++}`;
      const sentIn = phase;
      let result: { status: number; body: any };
      try {
        result = await api('POST', `${chat.url}/api/chat/groups/${groupId}/messages`, bob.token, {
          content: `during restart ${clientMessageId}`,
          client_message_id: clientMessageId,
        });
      } catch (error) {
        result = {
          status: 0,
          body: { error: String(error), phase: sentIn, now: phase, out: chat.output.slice(-5) },
        };
      }
      statuses.set(result.status, (statuses.get(result.status) ?? 0) + 1);
      if (sentIn === 'down' && phase === 'down')
        duringOutage.set(result.status, (duringOutage.get(result.status) ?? 0) + 1);
      if (result.status === 201 || result.status === 200) {
        acknowledged.set(clientMessageId, result.body.id);
        if (sentIn === 'after') recoveredAfterRestart = true;
      } else if (result.status !== 503) {
        unexpected.push(`${result.status} ${JSON.stringify(result.body)}`);
        stopping = true;
      }
    }
  };
  const senders = [sender(), sender(), sender()];
  await outage;
  const deadline = Date.now() + 20_000;
  while (!recoveredAfterRestart && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, 500));
  stopping = true;
  await Promise.all(senders);
  console.log('statuses:', Object.fromEntries(statuses), 'while down:', Object.fromEntries(duringOutage));

  expect(unexpected).toEqual([]);
  // The fault was met: requests sent while PostgreSQL was down got 503s (not hangs, not 500s).
  expect(duringOutage.get(503) ?? 0).toBeGreaterThan(0);
  expect(statuses.get(500) ?? 0).toBe(0);
  expect(recoveredAfterRestart).toBe(true);

  // Readiness comes back by itself.
  let ready = 0;
  for (let t = 0; t < 100 && ready !== 200; t++) {
    ready = (await fetch(`${chat.url}/ready`)).status;
    if (ready !== 200) await new Promise((r) => setTimeout(r, 100));
  }
  expect(ready).toBe(200);

  // Nothing acknowledged is lost, nothing is stored twice.
  const stored = (await allMessages(chat.url, bob.token, groupId)).filter((m) =>
    m.client_message_id?.startsWith('pg-'),
  );
  const ids = stored.map((m) => m.id);
  expect(new Set(ids).size).toBe(ids.length);
  const storedIds = new Set(ids);
  for (const id of acknowledged.values()) expect(storedIds.has(id)).toBe(true);
});
