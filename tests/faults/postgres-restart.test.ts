import { execSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  allMessages,
  api,
  generalGroupId,
  login,
  type Platform,
  startPlatform,
} from '../support/platform.ts';

let platform: Platform;
beforeAll(async () => {
  platform = await startPlatform(1);
});
afterAll(async () => {
  await platform?.stop();
});

function restartPostgres(): void {
  const version = readdirSync('/etc/postgresql')[0];
  execSync(`pg_ctlcluster --skip-systemctl-redirect ${version} main restart -m fast`, { stdio: 'inherit' });
}

it('PostgreSQL restarts during traffic: failures are 503, nothing acknowledged is lost, service returns by itself', async () => {
  const chat = platform.chats[0]!;
  const bob = await login(platform.auth.url, 'bob@acme.example');
  const groupId = await generalGroupId(platform.auth.url, bob.token);
  // Warm the membership cache so the outage is the database's alone.
  expect(
    (await api('GET', `${chat.url}/api/chat/groups/${groupId}/messages?limit=1`, bob.token)).status,
  ).toBe(200);

  const acknowledged = new Map<string, string>();
  const statuses = new Map<number, number>();
  let restarted = false;
  let recoveredAfterRestart = false;
  const restart = new Promise<void>((resolve) => {
    setTimeout(() => {
      restartPostgres();
      restarted = true;
      resolve();
    }, 1_500);
  });
  const started = Date.now();
  let i = 0;
  while (Date.now() - started < 20_000 && !(restarted && recoveredAfterRestart && acknowledged.size > 50)) {
    const clientMessageId = `pg-${i++}`;
    let result: { status: number; body: any };
    try {
      result = await api('POST', `${chat.url}/api/chat/groups/${groupId}/messages`, bob.token, {
        content: `during restart ${i}`,
        client_message_id: clientMessageId,
      });
    } catch {
      result = { status: 0, body: null };
    }
    statuses.set(result.status, (statuses.get(result.status) ?? 0) + 1);
    if (result.status === 201 || result.status === 200) {
      acknowledged.set(clientMessageId, result.body.id);
      if (restarted) recoveredAfterRestart = true;
    } else {
      expect(result.status, JSON.stringify(result.body)).toBe(503);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  await restart;
  expect(restarted).toBe(true);
  expect(recoveredAfterRestart).toBe(true);
  expect(statuses.get(500) ?? 0).toBe(0);
  console.log('statuses during the restart:', Object.fromEntries(statuses));

  // Readiness comes back by itself.
  let ready = 0;
  for (let t = 0; t < 100 && ready !== 200; t++) {
    ready = (await fetch(`${chat.url}/ready`)).status;
    if (ready !== 200) await new Promise((r) => setTimeout(r, 100));
  }
  expect(ready).toBe(200);

  const stored = await allMessages(chat.url, bob.token, groupId);
  const storedIds = new Set(stored.map((m) => m.id));
  for (const id of acknowledged.values()) expect(storedIds.has(id)).toBe(true);
});
