/**
 * Real processes of the platform for fault tests: each service is started exactly as `npm start`
 * starts it in process mode (node on its main.ts with its env), so kill -9 and restarts are real.
 * Each platform gets its own PostgreSQL cluster and redis-server (./infra.ts): a fault test may stop,
 * restart or kill them without touching the machine's shared ones.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { freePort, type PrivatePostgres, type PrivateRedis, startPostgres, startRedis } from './infra.ts';

export { freePort } from './infra.ts';
export const root = resolve(import.meta.dirname, '../..');
/** The demo password of these platforms: never the default one (a start on PostgreSQL refuses it). */
export const PASSWORD = 'fault-tests-demo-password-4d1c';

export async function createDatabase(adminUrl: string, prefix: string): Promise<string> {
  const name = `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}`;
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  await client.query(`create database "${name}"`);
  await client.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export interface ServiceProcess {
  url: string;
  child: ChildProcess;
  output: string[];
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export async function startService(
  app: 'auth-api' | 'chat-api',
  env: Record<string, string>,
): Promise<ServiceProcess> {
  const port = Number(env.PORT);
  const url = `http://127.0.0.1:${port}`;
  const output: string[] = [];
  const child = spawn(process.execPath, [join(root, `apps/${app}/src/main.ts`)], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'warn', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk) => output.push(String(chunk)));
  child.stderr?.on('data', (chunk) => output.push(String(chunk)));
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${app} exited with ${child.exitCode}: ${output.join('')}`);
    if (Date.now() - started > 60_000) throw new Error(`${app} did not become healthy: ${output.join('')}`);
    try {
      if ((await fetch(`${url}/health`)).ok) break;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    child,
    output,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill(signal);
      await exited;
    },
  };
}

export interface Platform {
  pg: PrivatePostgres;
  redis: PrivateRedis;
  auth: ServiceProcess;
  chats: ServiceProcess[];
  authEnv: Record<string, string>;
  chatEnv: (port: number) => Record<string, string>;
  stop(): Promise<void>;
}

/**
 * auth-api and N chat-api processes on fresh PostgreSQL databases, talking over Redis. `authEnv` and
 * `chatEnv` add to (or override) each service's environment (a short token TTL, a metrics secret).
 */
export async function startPlatform(
  chatInstances: number,
  extra: { authEnv?: Record<string, string>; chatEnv?: Record<string, string> } = {},
): Promise<Platform> {
  const [postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
  const REDIS_URL = redis.url;
  const authPort = await freePort();
  const secret = `fault-secret-${Math.random().toString(36).slice(2)}-0123456789abcdef`;
  const authUrl = `http://127.0.0.1:${authPort}`;
  const authEnv = {
    PORT: String(authPort),
    ISSUER: authUrl,
    DATABASE_URL: await createDatabase(postgres.url, 'fault_auth'),
    REDIS_URL,
    SERVICE_CLIENT_SECRET: secret,
    SEED_DEMO_DATA: 'true',
    DEMO_PASSWORD: PASSWORD,
    SIGNING_KEY_ENCRYPTION_SECRET: `fault-keys-${secret}`,
    SIGNING_KEY_PUBLISH_AHEAD_SECONDS: '0',
    ...extra.authEnv,
  };
  const chatDatabase = await createDatabase(postgres.url, 'fault_chat');
  const chatEnv = (port: number) => ({
    PORT: String(port),
    DATABASE_URL: chatDatabase,
    REDIS_URL,
    AUTH_API_URL: authUrl,
    AUTH_ISSUER: authUrl,
    SERVICE_TOKEN_URL: `${authUrl}/oauth/token`,
    SERVICE_CLIENT_ID: 'chat-api-service',
    SERVICE_CLIENT_SECRET: secret,
    ...extra.chatEnv,
  });
  const auth = await startService('auth-api', authEnv);
  const chats: ServiceProcess[] = [];
  for (let i = 0; i < chatInstances; i++)
    chats.push(await startService('chat-api', chatEnv(await freePort())));
  const platform: Platform = {
    pg: postgres,
    redis,
    auth,
    chats,
    authEnv,
    chatEnv,
    async stop() {
      // `auth` may have been replaced by a restarted process (auth-outage test): stop the current one.
      await Promise.all([...chats.map((c) => c.stop('SIGKILL')), platform.auth.stop('SIGKILL')]);
      await Promise.all([postgres.destroy(), redis.kill()]);
    },
  };
  return platform;
}

export async function login(authUrl: string, email: string): Promise<{ token: string; userId: string }> {
  const response = await fetch(`${authUrl}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  if (response.status !== 200) throw new Error(`login ${email}: ${response.status}`);
  const body = (await response.json()) as { access_token: string; user: { id: string } };
  return { token: body.access_token, userId: body.user.id };
}

export async function api(
  method: string,
  url: string,
  token: string,
  body?: unknown,
): Promise<{ status: number; body: any }> {
  const response = await fetch(url, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

/** Every message of a group, oldest first (pages newest-first with `before`, then reversed). */
export async function allMessages(chatUrl: string, token: string, groupId: string): Promise<any[]> {
  const messages: any[] = [];
  let cursor: string | null = null;
  for (;;) {
    const query: string = cursor ? `before=${cursor}&limit=100` : 'limit=100';
    const page = await api('GET', `${chatUrl}/api/chat/groups/${groupId}/messages?${query}`, token);
    if (page.status !== 200) throw new Error(`page: ${page.status} ${JSON.stringify(page.body)}`);
    messages.push(...page.body.messages);
    cursor = page.body.next_cursor;
    if (!cursor) return messages.reverse();
  }
}

/** A new group of the caller's org, the caller its member (auth-api's POST /api/auth/groups); its id. */
export async function createGroup(authUrl: string, token: string, name: string): Promise<string> {
  const created = await api('POST', `${authUrl}/api/auth/groups`, token, { name });
  if (created.status !== 201) throw new Error(`create group ${name}: ${created.status}`);
  return created.body.id as string;
}

export async function generalGroupId(authUrl: string, token: string): Promise<string> {
  const list = await api('GET', `${authUrl}/api/auth/groups`, token);
  return list.body.groups.find((g: { name: string }) => g.name === 'general').id;
}

/**
 * The contract's "a person typing fast is never limited: 10 messages per second per user is always
 * allowed". Load in these tests is one user's posts at that rate, so a 429 is a failure, never noise.
 */
export const ALWAYS_ALLOWED_POSTS_PER_SECOND = 10;

/**
 * Paces callers (one user's senders share one pacer): each call resolves at the next free slot, slots
 * `1000 / perSecond` ms apart, so however many senders share it the rate is never above `perSecond`.
 */
export function pacer(perSecond: number = ALWAYS_ALLOWED_POSTS_PER_SECOND): () => Promise<void> {
  const interval = 1000 / perSecond;
  let next = 0;
  return () => {
    const now = Date.now();
    const slot = Math.max(now, next);
    next = slot + interval;
    return new Promise((r) => setTimeout(r, slot - now));
  };
}

export interface Subscriber {
  frames: any[];
  messages: any[];
  /** Arrival time (Date.now()) of each entry of `messages`. */
  receivedAt: number[];
  /** The change-log cursor of each entry of `messages` (the frame's `cursor`). */
  cursors: string[];
  close(): void;
}

/**
 * A WebSocket subscriber that records every message frame of one group. `from.cursor` resumes after a
 * change-log cursor (the server replays what came after it first).
 */
export async function subscribe(
  chatUrl: string,
  token: string,
  groupId: string,
  from: { cursor?: string } = {},
): Promise<Subscriber> {
  const socket = new WebSocket(`${chatUrl.replace(/^http/, 'ws')}/api/chat/ws`);
  const subscriber: Subscriber = {
    frames: [],
    messages: [],
    receivedAt: [],
    cursors: [],
    close: () => socket.close(),
  };
  let subscribed!: () => void;
  const ready = new Promise<void>((r) => {
    subscribed = r;
  });
  socket.addEventListener('message', (event) => {
    const frame = JSON.parse(String(event.data));
    subscriber.frames.push(frame);
    if (frame.type === 'ready')
      socket.send(JSON.stringify({ type: 'subscribe', group_id: groupId, ...from }));
    if (frame.type === 'subscribed') subscribed();
    if (frame.type === 'message' && frame.message.group_id === groupId) {
      subscriber.messages.push(frame.message);
      subscriber.receivedAt.push(Date.now());
      subscriber.cursors.push(frame.cursor);
    }
  });
  socket.addEventListener('open', () => socket.send(JSON.stringify({ type: 'auth', token })));
  await ready;
  return subscriber;
}

/** Polls `condition` every 50 ms until it holds or `timeoutMs` passes; returns whether it held. */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}
