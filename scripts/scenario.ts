/**
 * The live scenario of the seed's test_chat_live.sh, completed: run against running services.
 *   npm run scenario                       (defaults: auth 127.0.0.1:8000, chat 127.0.0.1:8001)
 *   AUTH_URL=… CHAT_URL=… CHAT_URL_CAROL=… SERVICE_CLIENT_SECRET=… npm run scenario
 * CHAT_URL_CAROL lets Carol use another chat-api instance than Bob (fan-out across instances).
 * Prints each step with ✅/❌ and exits non-zero on any failure. Leaves the demo data as it found it.
 */
import { readFileSync } from 'node:fs';

const AUTH_URL = (process.env.AUTH_URL ?? 'http://127.0.0.1:8000').replace(/\/$/, '');
const CHAT_URL = (process.env.CHAT_URL ?? 'http://127.0.0.1:8001').replace(/\/$/, '');
const CHAT_URL_CAROL = (process.env.CHAT_URL_CAROL ?? CHAT_URL).replace(/\/$/, '');
const PASSWORD = process.env.DEMO_PASSWORD ?? 'correct-horse-battery-staple';
const SERVICE_CLIENT_ID = process.env.SERVICE_CLIENT_ID ?? 'chat-api-service';

function serviceSecret(): string {
  if (process.env.SERVICE_CLIENT_SECRET) return process.env.SERVICE_CLIENT_SECRET;
  // `npm start` generates the demo secret on first run and keeps it (0600) beside the embedded data.
  const file = process.env.SERVICE_CLIENT_SECRET_FILE ?? 'data/service-client-secret';
  return readFileSync(file, 'utf8').trim();
}

let failures = 0;
let stepNumber = 0;

async function step<T>(title: string, run: () => Promise<T>): Promise<T | undefined> {
  stepNumber += 1;
  const started = performance.now();
  try {
    const result = await run();
    console.log(`✅ Step ${stepNumber}: ${title} (${Math.round(performance.now() - started)} ms)`);
    return result;
  } catch (error) {
    failures += 1;
    console.log(`❌ Step ${stepNumber}: ${title}\n     ${(error as Error).message}`);
    return undefined;
  }
}

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

async function call(
  method: string,
  url: string,
  options: {
    token?: string;
    body?: unknown;
    form?: Record<string, string>;
    basic?: [string, string];
    cookie?: string;
  } = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const headers: Record<string, string> = {};
  let body: string | undefined;
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.cookie) headers.cookie = options.cookie;
  if (options.basic)
    headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(options.basic[0])}:${encodeURIComponent(options.basic[1])}`).toString('base64')}`;
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  if (options.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(options.form).toString();
  }
  const response = await fetch(url, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {}
  return { status: response.status, body: parsed, headers: response.headers };
}

function expectStatus(result: { status: number; body: unknown }, expected: number, what: string): void {
  assert(
    result.status === expected,
    `${what}: expected ${expected}, got ${result.status} ${JSON.stringify(result.body)}`,
  );
}

async function eventually(what: string, withinMs: number, check: () => Promise<boolean>): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < withinMs) {
    if (await check()) return performance.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`${what}: not within ${withinMs} ms`);
}

interface Login {
  token: string;
  cookie: string;
  userId: string;
}

async function login(email: string): Promise<Login> {
  const result = await call('POST', `${AUTH_URL}/api/auth/login`, { body: { email, password: PASSWORD } });
  expectStatus(result, 200, `login ${email}`);
  const cookie = (result.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  assert(result.body.access_token && cookie, 'login returns an access token and a session cookie');
  return { token: result.body.access_token, cookie, userId: result.body.user.id };
}

/** A WebSocket client that records every frame it receives. */
async function openSocket(token: string): Promise<{
  frames: any[];
  socket: WebSocket;
  waitFor: (p: (f: any) => boolean, ms: number) => Promise<any>;
}> {
  const url = `${CHAT_URL_CAROL.replace(/^http/, 'ws')}/api/chat/ws`;
  const socket = new WebSocket(url);
  const frames: any[] = [];
  const waiters: { predicate: (f: any) => boolean; resolve: (f: any) => void }[] = [];
  socket.addEventListener('message', (event) => {
    const frame = JSON.parse(String(event.data));
    frames.push(frame);
    for (const waiter of [...waiters]) {
      if (waiter.predicate(frame)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(frame);
      }
    }
  });
  await new Promise<void>((resolve, reject) => {
    socket.addEventListener('open', () => resolve(), { once: true });
    socket.addEventListener('error', () => reject(new Error(`cannot open ${url}`)), { once: true });
  });
  const waitFor = (predicate: (f: any) => boolean, ms: number) =>
    new Promise<any>((resolve, reject) => {
      const found = frames.find(predicate);
      if (found) return resolve(found);
      const timer = setTimeout(
        () =>
          reject(
            new Error(`no matching WebSocket frame within ${ms} ms; got ${JSON.stringify(frames.slice(-3))}`),
          ),
        ms,
      );
      waiters.push({ predicate, resolve: (f) => (clearTimeout(timer), resolve(f)) });
    });
  socket.send(JSON.stringify({ type: 'auth', token }));
  await waitFor((f) => f.type === 'ready', 3000);
  return { frames, socket, waitFor };
}

console.log(
  `GroupChat live scenario\n  auth-api ${AUTH_URL}\n  chat-api ${CHAT_URL} (Bob), ${CHAT_URL_CAROL} (Carol)\n`,
);

await step('Health and readiness of both services', async () => {
  for (const base of new Set([AUTH_URL, CHAT_URL, CHAT_URL_CAROL])) {
    expectStatus(await call('GET', `${base}/health`), 200, `${base}/health`);
    expectStatus(await call('GET', `${base}/ready`), 200, `${base}/ready`);
  }
});

const users = await step('Bob and Carol log in', async () => {
  const [bob, carol] = await Promise.all([login('bob@acme.example'), login('carol@acme.example')]);
  return { bob, carol };
});
if (!users) process.exit(1);
const { bob, carol } = users;

const groupId = await step('Their group "general"', async () => {
  const result = await call('GET', `${AUTH_URL}/api/auth/groups`, { token: bob.token });
  expectStatus(result, 200, 'list groups');
  const general = (result.body.groups ?? result.body).find((g: { name: string }) => g.name === 'general');
  assert(general, 'Bob is in a group named general');
  const members = await call('GET', `${AUTH_URL}/api/auth/groups/${general.id}/members`, {
    token: carol.token,
  });
  expectStatus(members, 200, 'Carol lists members');
  assert(
    members.body.members.some((m: { user_id: string }) => m.user_id === carol.userId),
    'Carol is a member',
  );
  return general.id as string;
});
if (!groupId) process.exit(1);

const carolSocket = await step('Carol connects over WebSocket and subscribes', async () => {
  const ws = await openSocket(carol.token);
  ws.socket.send(JSON.stringify({ type: 'subscribe', group_id: groupId }));
  await ws.waitFor((f) => f.type === 'subscribed' && f.group_id === groupId, 3000);
  return ws;
});

const content = `Hello Carol! scenario run ${new Date().toISOString()}`;
const sent = await step('Bob sends a message', async () => {
  const result = await call('POST', `${CHAT_URL}/api/chat/groups/${groupId}/messages`, {
    token: bob.token,
    body: { content, client_message_id: `scenario-${Date.now()}` },
  });
  expectStatus(result, 201, 'send');
  assert(
    result.body.content === content && result.body.sender_id === bob.userId,
    'the message is returned as stored',
  );
  return result.body as { id: string };
});

await step('Carol reads it over REST', async () => {
  const result = await call('GET', `${CHAT_URL_CAROL}/api/chat/groups/${groupId}/messages?limit=10`, {
    token: carol.token,
  });
  expectStatus(result, 200, 'read');
  assert(
    result.body.messages.some((m: { id: string }) => m.id === sent?.id),
    'the message is in the newest page',
  );
});

await step('Carol received it live over WebSocket (within 1 s)', async () => {
  assert(carolSocket, 'Carol has a socket');
  const frame = await carolSocket.waitFor((f) => f.type === 'message' && f.message?.id === sent?.id, 1000);
  assert(frame.message.content === content, 'same content');
});

await step('Mallory (Globex) is refused: 404 on read and send', async () => {
  const mallory = await login('mallory@globex.example');
  expectStatus(
    await call('GET', `${CHAT_URL}/api/chat/groups/${groupId}/messages`, { token: mallory.token }),
    404,
    'Mallory reads',
  );
  expectStatus(
    await call('POST', `${CHAT_URL}/api/chat/groups/${groupId}/messages`, {
      token: mallory.token,
      body: { content: 'hi' },
    }),
    404,
    'Mallory sends',
  );
  expectStatus(
    await call('GET', `${AUTH_URL}/api/auth/groups/${groupId}`, { token: mallory.token }),
    404,
    'Mallory reads the group',
  );
});

await step("A service token reads the group (the seed's blocker)", async () => {
  const token = await call('POST', `${AUTH_URL}/oauth/token`, {
    basic: [SERVICE_CLIENT_ID, serviceSecret()],
    form: { grant_type: 'client_credentials', scope: 'groups:read' },
  });
  expectStatus(token, 200, 'client_credentials');
  const group = await call('GET', `${AUTH_URL}/api/auth/groups/${groupId}`, {
    token: token.body.access_token,
  });
  expectStatus(group, 200, 'GET /api/auth/groups/{id} with the service token');
  assert(group.body.id === groupId && group.body.org_id, 'the group and its org');
});

await step('Carol is removed and refused within 1 s', async () => {
  expectStatus(
    await call('DELETE', `${AUTH_URL}/api/auth/groups/${groupId}/members/${carol.userId}`, {
      token: bob.token,
    }),
    204,
    'remove',
  );
  try {
    const ms = await eventually('Carol refused by chat-api', 1000, async () => {
      const result = await call('GET', `${CHAT_URL_CAROL}/api/chat/groups/${groupId}/messages?limit=1`, {
        token: carol.token,
      });
      return result.status === 403;
    });
    await carolSocket?.waitFor((f) => f.type === 'error' && f.group_id === groupId && f.status === 403, 1000);
    console.log(`     refused after ${Math.round(ms)} ms; her WebSocket got the 403 frame`);
  } finally {
    // Put the demo data back as it was.
    expectStatus(
      await call('POST', `${AUTH_URL}/api/auth/groups/${groupId}/members`, {
        token: bob.token,
        body: { user_id: carol.userId },
      }),
      201,
      're-add Carol',
    );
  }
});

await step('Logout ends the session at once', async () => {
  expectStatus(await call('POST', `${AUTH_URL}/api/auth/logout`, { cookie: carol.cookie }), 204, 'logout');
  expectStatus(
    await call('GET', `${AUTH_URL}/api/auth/me`, { cookie: carol.cookie }),
    401,
    'the session cookie after logout',
  );
  expectStatus(
    await call('GET', `${AUTH_URL}/api/auth/me`, { token: carol.token }),
    401,
    'the access token after logout',
  );
  const ms = await eventually('chat-api refuses the ended session', 5000, async () => {
    const result = await call('GET', `${CHAT_URL_CAROL}/api/chat/groups/${groupId}/messages?limit=1`, {
      token: carol.token,
    });
    return result.status === 401;
  });
  console.log(`     chat-api refused Carol's token after ${Math.round(ms)} ms`);
});

carolSocket?.socket.close();
console.log(`\n${stepNumber - failures} passed, ${failures} failed`);
process.exit(failures === 0 ? 0 : 1);
