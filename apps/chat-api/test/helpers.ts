/**
 * Integration-test support: the real auth-api (over HTTP) and real chat-api instances, wired by a bus
 * (Redis when TEST_REDIS_URL is set, a shared in-process MemoryBus otherwise). Nothing here mocks
 * auth-api; a counting proxy may sit between chat-api and auth-api to count calls or cut the line.
 */
import { createServer, Agent as HttpAgent, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import {
  createBus,
  createExpiringSets,
  type EventBus,
  type ExpiringSets,
  MemoryBus,
  MemoryExpiringSets,
} from '@groupchat/service-kit';
import { DEMO, startTestAuthApi, type TestAuthApi } from '@groupchat/testkit/auth-api';
import { startTestChatApi, type TestChatApi } from '@groupchat/testkit/chat-api';
import { storedDigests } from '@groupchat/testkit/fuzz';
import { WebSocket } from 'ws';
import type { ChatDB } from '../src/db/schema.ts';

export { DEMO };

export const usingRedis = Boolean(process.env.TEST_REDIS_URL);
export const usingPostgres = Boolean(process.env.TEST_DATABASE_URL);

export interface ApiResponse {
  status: number;
  headers: Headers;
  body: any;
}

export async function api(
  method: string,
  url: string,
  options: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined || options.raw !== undefined) headers['content-type'] ??= 'application/json';
  const response = await fetch(url, {
    method,
    headers,
    ...(options.raw !== undefined
      ? { body: options.raw }
      : options.body !== undefined
        ? { body: JSON.stringify(options.body) }
        : {}),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // not JSON
  }
  return { status: response.status, headers: response.headers, body };
}

export interface User {
  token: string;
  userId: string;
  orgId: string;
}

export async function login(authUrl: string, email: string): Promise<User> {
  const result = await api('POST', `${authUrl}/api/auth/login`, { body: { email, password: DEMO.password } });
  if (result.status !== 200)
    throw new Error(`login ${email}: ${result.status} ${JSON.stringify(result.body)}`);
  return { token: result.body.access_token, userId: result.body.user.id, orgId: result.body.user.org_id };
}

export async function generalGroupId(authUrl: string, user: User): Promise<string> {
  const list = await api('GET', `${authUrl}/api/auth/groups`, { token: user.token });
  const general = list.body.groups.find((g: { name: string }) => g.name === 'general');
  if (!general) throw new Error(`no general group: ${JSON.stringify(list.body)}`);
  return general.id;
}

export async function createGroup(
  authUrl: string,
  owner: User,
  name: string,
  members: User[] = [],
): Promise<string> {
  const created = await api('POST', `${authUrl}/api/auth/groups`, { token: owner.token, body: { name } });
  if (created.status !== 201)
    throw new Error(`create group: ${created.status} ${JSON.stringify(created.body)}`);
  for (const member of members) await addMember(authUrl, owner, created.body.id, member);
  return created.body.id;
}

export async function addMember(authUrl: string, owner: User, groupId: string, member: User): Promise<void> {
  const added = await api('POST', `${authUrl}/api/auth/groups/${groupId}/members`, {
    token: owner.token,
    body: { user_id: member.userId },
  });
  if (added.status !== 201 && added.status !== 200)
    throw new Error(`add member: ${added.status} ${JSON.stringify(added.body)}`);
}

export async function removeMember(
  authUrl: string,
  owner: User,
  groupId: string,
  member: User,
): Promise<void> {
  const removed = await api('DELETE', `${authUrl}/api/auth/groups/${groupId}/members/${member.userId}`, {
    token: owner.token,
  });
  if (removed.status !== 204 && removed.status !== 200)
    throw new Error(`remove member: ${removed.status} ${JSON.stringify(removed.body)}`);
}

/** Every table of chat-api's database: what a refused request must leave as it was. */
const CHAT_TABLES: readonly (keyof ChatDB)[] = [
  'messages',
  'group_sequences',
  'message_versions',
  'group_events',
  'read_markers',
  'group_message_counts',
  'sender_message_counts',
  'message_mentions',
];

/**
 * Row count and a digest of every row of every chat-api table: equal before and after a request means
 * it stored nothing and changed nothing (an edit or a reaction changes a digest, not a count).
 */
export function storedState(chat: TestChatApi): Promise<Record<string, string>> {
  return storedDigests(chat.chat.database.db, CHAT_TABLES);
}

/** Polls until `check` returns true; returns the elapsed milliseconds. */
export async function eventually(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  what = 'condition',
): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (await check()) return performance.now() - started;
    if (performance.now() - started > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * HTTP proxy in front of auth-api: counts requests by path, and can be cut (connections refused)
 * and restored on the same port to simulate auth-api being down.
 */
export class CountingProxy {
  readonly requests: { method: string; path: string }[] = [];
  readonly #target: URL;
  readonly #agent = new HttpAgent({ keepAlive: true });
  readonly #sockets = new Set<Socket>();
  #server: Server | null = null;
  #port = 0;

  constructor(targetUrl: string) {
    this.#target = new URL(targetUrl);
  }

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  count(filter: (path: string) => boolean = () => true): number {
    return this.requests.filter((r) => filter(r.path)).length;
  }

  async up(): Promise<void> {
    const server = createServer((req, res) => {
      this.requests.push({ method: req.method ?? 'GET', path: (req.url ?? '/').split('?')[0]! });
      const upstream = httpRequest(
        {
          host: this.#target.hostname,
          port: this.#target.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: this.#target.host },
          agent: this.#agent,
        },
        (response) => {
          res.writeHead(response.statusCode ?? 502, response.headers);
          response.pipe(res);
        },
      );
      upstream.on('error', () => {
        res.destroy();
      });
      req.pipe(upstream);
    });
    server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(this.#port, '127.0.0.1', resolve));
    this.#port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  /** Refuses connections from now on, and drops the open ones (auth-api "stopped"). */
  async down(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    await closed;
  }

  async close(): Promise<void> {
    await this.down();
    this.#agent.destroy();
  }
}

export interface Platform {
  auth: TestAuthApi;
  /** chat-api instances, each with its own bus connection (Redis) or the shared MemoryBus. */
  chats: TestChatApi[];
  proxy: CountingProxy | null;
  /** A bus connection for one more participant (Redis: a new connection; memory: the shared bus). */
  busFor(): EventBus;
  close(): Promise<void>;
}

let prefixCounter = 0;

/**
 * auth-api + chat-api instance(s). With `proxy`, chat-api reaches auth-api through a CountingProxy
 * (AUTH_ISSUER stays auth-api's own URL, as in any deployment behind a gateway).
 * Several instances share one chat database, as in production.
 */
export async function startPlatform(
  options: {
    instances?: number;
    proxy?: boolean;
    chatEnv?: Record<string, string>;
    authEnv?: Record<string, string>;
  } = {},
): Promise<Platform> {
  const prefix = `chat-it-${process.pid}-${++prefixCounter}-${Math.random().toString(36).slice(2, 8)}:`;
  const memory = usingRedis ? null : new MemoryBus();
  const buses: EventBus[] = [];
  // Presence state shared by the instances: Redis (one connection each, as separate processes would
  // have) or one in-memory store standing in for it.
  const sharedMemory = usingRedis ? null : new MemoryExpiringSets();
  const states: ExpiringSets[] = [];
  const stateFor = (): ExpiringSets => {
    if (sharedMemory) return sharedMemory;
    const state = createExpiringSets(process.env.TEST_REDIS_URL, { prefix });
    states.push(state);
    return state;
  };
  const busFor = (): EventBus => {
    if (memory) return memory;
    const bus = createBus(process.env.TEST_REDIS_URL, { prefix });
    buses.push(bus);
    return bus;
  };
  const auth = await startTestAuthApi({
    bus: busFor(),
    ...(options.authEnv ? { env: options.authEnv } : {}),
  });
  let proxy: CountingProxy | null = null;
  if (options.proxy) {
    proxy = new CountingProxy(auth.url);
    await proxy.up();
  }
  const chats: TestChatApi[] = [];
  const env = {
    AUTH_ISSUER: auth.url,
    SERVICE_CLIENT_ID: DEMO.serviceClientId,
    SERVICE_CLIENT_SECRET: DEMO.serviceClientSecret,
    ...options.chatEnv,
  };
  for (let i = 0; i < (options.instances ?? 1); i++) {
    const database = chats[0]?.chat.database;
    chats.push(
      await startTestChatApi({
        authUrl: proxy?.url ?? auth.url,
        bus: busFor(),
        sharedState: stateFor(),
        env,
        ...(database ? { database } : {}),
      }),
    );
  }
  // Redis subscriptions are asynchronous: give them a moment before the first publish.
  if (usingRedis) await new Promise((resolve) => setTimeout(resolve, 100));
  return {
    auth,
    chats,
    proxy,
    busFor,
    async close() {
      for (const chat of [...chats].reverse()) await chat.close().catch(() => {});
      await proxy?.close();
      await auth.close().catch(() => {});
      for (const bus of buses) await bus.close();
      for (const state of states) await state.close();
      await memory?.close();
    },
  };
}

/** A WebSocket client of the contract's protocol that records every frame. */
export class TestSocket {
  readonly frames: any[] = [];
  readonly socket: WebSocket;
  readonly closed: Promise<{ code: number; reason: string }>;
  #waiters = new Set<() => void>();

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.on('message', (data) => {
      this.frames.push(JSON.parse(String(data)));
      for (const wake of this.#waiters) wake();
    });
    this.closed = new Promise((resolve) => {
      socket.on('close', (code, reason) => {
        resolve({ code, reason: String(reason) });
        for (const wake of this.#waiters) wake();
      });
    });
    socket.on('error', () => {});
  }

  static async open(
    wsUrl: string,
    options: { autoPong?: boolean; headers?: Record<string, string> } = {},
  ): Promise<TestSocket> {
    const socket = new WebSocket(wsUrl, {
      autoPong: options.autoPong ?? true,
      ...(options.headers ? { headers: options.headers } : {}),
    });
    const client = new TestSocket(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return client;
  }

  static async connect(wsUrl: string, token: string, headers?: Record<string, string>): Promise<TestSocket> {
    const client = await TestSocket.open(wsUrl, headers ? { headers } : {});
    client.send({ type: 'auth', token });
    await client.waitFor((f) => f.type === 'ready');
    return client;
  }

  send(frame: unknown): void {
    this.socket.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** The first frame (from `from` on) matching `predicate`. */
  async waitFor(predicate: (frame: any) => boolean, timeoutMs = 5_000, from = 0): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.slice(from).find(predicate);
      if (found) return found;
      if (this.socket.readyState === WebSocket.CLOSED)
        throw new Error(`socket closed while waiting; frames: ${JSON.stringify(this.frames)}`);
      const remaining = deadline - Date.now();
      if (remaining <= 0)
        throw new Error(
          `no matching frame within ${timeoutMs} ms; frames: ${JSON.stringify(this.frames).slice(0, 2_000)}`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, remaining);
        const self = this;
        function done() {
          clearTimeout(timer);
          self.#waiters.delete(done);
          resolve();
        }
        this.#waiters.add(done);
      });
    }
  }

  async subscribe(groupId: string, after?: string): Promise<any> {
    const from = this.frames.length;
    this.send(
      after ? { type: 'subscribe', group_id: groupId, after } : { type: 'subscribe', group_id: groupId },
    );
    return this.waitFor(
      (f) => f.group_id === groupId && (f.type === 'subscribed' || f.type === 'error'),
      5_000,
      from,
    );
  }

  messages(groupId: string): any[] {
    return this.frames
      .filter((f) => f.type === 'message' && f.message.group_id === groupId)
      .map((f) => f.message);
  }

  async waitForMessages(groupId: string, count: number, timeoutMs = 5_000): Promise<any[]> {
    await eventually(() => this.messages(groupId).length >= count, timeoutMs, `${count} messages`);
    return this.messages(groupId);
  }

  close(): void {
    this.socket.close();
  }
}

/** A TCP proxy that can be cut and restored (a database "restart" without touching the server). */
export class TcpProxy {
  readonly #target: { host: string; port: number };
  readonly #sockets = new Set<import('node:net').Socket>();
  #server: import('node:net').Server | null = null;
  #port = 0;

  constructor(target: { host: string; port: number }) {
    this.#target = target;
  }

  get port(): number {
    return this.#port;
  }

  async up(): Promise<void> {
    const net = await import('node:net');
    const server = net.createServer((client) => {
      const upstream = net.connect(this.#target.port, this.#target.host);
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.on('close', () => this.#sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(this.#port, '127.0.0.1', resolve));
    this.#port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  async down(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    await closed;
  }
}
