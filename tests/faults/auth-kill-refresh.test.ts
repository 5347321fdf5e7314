import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  allMessages,
  api,
  createGroup,
  generalGroupId,
  login,
  type Platform,
  pacer,
  startPlatform,
  startService,
  waitFor,
} from '../support/platform.ts';

/** auth-api's shortest token lifetime: chat-api's service token must be renewed every 18 s or so. */
const TOKEN_TTL_SECONDS = 30;
const METRICS_TOKEN = 'fault-tests-metrics-secret-0123456789';

let platform: Platform;
beforeAll(async () => {
  platform = await startPlatform(1, {
    authEnv: { ACCESS_TOKEN_TTL_SECONDS: String(TOKEN_TTL_SECONDS) },
    chatEnv: { METRICS_TOKEN },
  });
});
afterAll(async () => {
  await platform?.stop();
});

/** chat-api's count of requests to auth-api's token endpoint since it started (its Prometheus gauge). */
async function tokenRequests(chatUrl: string): Promise<number> {
  const response = await fetch(`${chatUrl}/metrics`, {
    headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    signal: AbortSignal.timeout(5_000),
  });
  const match = /^chat_service_token_requests(?:\{[^}]*\})? (\d+)$/m.exec(await response.text());
  if (!match) throw new Error('chat_service_token_requests not in /metrics');
  return Number(match[1]);
}

async function readiness(chatUrl: string): Promise<{ status: number; checks: Record<string, string> }> {
  const response = await fetch(`${chatUrl}/ready`, { signal: AbortSignal.timeout(5_000) });
  return {
    status: response.status,
    checks: ((await response.json()) as { checks?: Record<string, string> }).checks ?? {},
  };
}

it('auth-api killed (kill -9) while chat-api renews its 30 s service token: cached members keep posting, the token comes back, nothing acknowledged is lost', async () => {
  const chat = platform.chats[0]!;
  // Line up with chat-api's token: wait for its next request to the token endpoint (a renewal).
  const startCount = await tokenRequests(chat.url);
  expect(
    await waitFor(async () => (await tokenRequests(chat.url)) > startCount, 2 * TOKEN_TTL_SECONDS * 1000),
  ).toBe(true);
  const renewedAt = Date.now();

  let bob = await login(platform.auth.url, 'bob@acme.example');
  const general = await generalGroupId(platform.auth.url, bob.token);
  // A group chat-api has never looked up: it cannot be answered while auth-api is gone.
  const uncached = await createGroup(platform.auth.url, bob.token, 'kill-refresh-room');

  let phase: 'before' | 'down' | 'after' = 'before';
  let stopping = false;
  const acknowledged = new Map<string, { id: string; phase: string }>();
  const unexpected: string[] = [];
  const pace = pacer();
  let next = 0;
  // Bob posts to general (cached membership) all along, at the rate the contract always allows.
  const sender = (async () => {
    while (!stopping) {
      await pace();
      const clientMessageId = `kill-${next++}`;
      const sentIn = phase;
      try {
        const result = await api('POST', `${chat.url}/api/chat/groups/${general}/messages`, bob.token, {
          content: `while auth-api is killed ${clientMessageId}`,
          client_message_id: clientMessageId,
        });
        if (result.status === 201 || result.status === 200)
          acknowledged.set(clientMessageId, { id: result.body.id, phase: sentIn });
        else
          unexpected.push(`${clientMessageId} (${sentIn}): ${result.status} ${JSON.stringify(result.body)}`);
      } catch (error) {
        unexpected.push(`${clientMessageId} (${sentIn}): ${String(error)}`);
      }
    }
  })();

  // The kill comes 8 s after the renewal, with Bob's token fresh: chat-api's next renewal (about 18 s after
  // the last) and the end of its token's usable life (22.5 s) fall inside the outage, while Bob's 30 s token
  // outlives it (auth-api cannot log anyone in while it is gone).
  await new Promise((r) => setTimeout(r, Math.max(0, renewedAt + 8_000 - Date.now())));
  bob = await login(platform.auth.url, 'bob@acme.example');
  const countAtKill = await tokenRequests(chat.url);
  await platform.auth.stop('SIGKILL');
  phase = 'down';
  const killedAt = Date.now();

  // Down until chat-api has tried to renew and its token has run out: /ready names service_token.
  let refusedUncached = 0;
  let tokenRanOut = false;
  while (!tokenRanOut && Date.now() - killedAt < 30_000) {
    const refused = await api('POST', `${chat.url}/api/chat/groups/${uncached}/messages`, bob.token, {
      content: 'nope',
    });
    expect(refused.status).toBe(503);
    refusedUncached += 1;
    const ready = await readiness(chat.url);
    tokenRanOut = ready.checks.service_token === 'unavailable';
    if (!tokenRanOut) await new Promise((r) => setTimeout(r, 500));
  }
  const renewalsWhileDown = (await tokenRequests(chat.url)) - countAtKill;
  const outageMs = Date.now() - killedAt;

  // auth-api comes back on the same port and data, non-blocking for the traffic; Bob logs in again.
  platform.auth = await startService('auth-api', platform.authEnv);
  phase = 'after';
  bob = await login(platform.auth.url, 'bob@acme.example');
  const recovered = await waitFor(async () => (await readiness(chat.url)).status === 200, 30_000);
  const uncachedAfter = await api('POST', `${chat.url}/api/chat/groups/${uncached}/messages`, bob.token, {
    content: 'after',
  });
  stopping = true;
  await sender;
  console.log({
    outageMs,
    renewalsWhileDown,
    refusedUncached,
    acknowledged: Object.fromEntries(
      ['before', 'down', 'after'].map((p) => [
        p,
        [...acknowledged.values()].filter((a) => a.phase === p).length,
      ]),
    ),
    sinceRenewalAtKill: killedAt - renewedAt,
  });

  // The fault was met: chat-api tried to renew while auth-api was gone (and failed: its token ran out),
  // and lookups it could not answer from its cache got 503.
  expect(tokenRanOut).toBe(true);
  expect(renewalsWhileDown).toBeGreaterThan(0);
  expect(refusedUncached).toBeGreaterThan(0);
  // chat-api kept serving cached members all along, and recovered its token by itself.
  expect(unexpected).toEqual([]);
  expect([...acknowledged.values()].filter((a) => a.phase === 'down').length).toBeGreaterThan(0);
  expect(recovered).toBe(true);
  expect(uncachedAfter.status).toBe(201);

  // Nothing acknowledged is lost, nothing stored twice.
  const stored = (await allMessages(chat.url, bob.token, general))
    .filter((m) => m.client_message_id?.startsWith('kill-'))
    .map((m) => m.id as string);
  expect(new Set(stored).size).toBe(stored.length);
  expect(new Set(stored)).toEqual(new Set([...acknowledged.values()].map((a) => a.id)));
});
