/**
 * Starts the real platform for browser tests: auth-api and chat-api in-process on loopback, sharing
 * one MemoryBus, behind the production web server, plus a headless Chromium. The services' testing
 * modules are imported at run time so this package's typecheck does not depend on their sources.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { freePort } from '@groupchat/testkit';
import { type Browser, chromium } from 'playwright-core';
import { startWebServer } from '../server.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const WEB_DIR = path.resolve(HERE, '..');
export const REPO_ROOT = path.resolve(WEB_DIR, '../..');
export const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts/web');

interface Closable {
  url: string;
  close(): Promise<void>;
}
interface AuthTesting {
  startTestAuthApi(options: { bus?: unknown; env?: Record<string, string> }): Promise<Closable>;
  DEMO?: { password?: string; users?: Record<string, string> };
}
interface ChatTesting {
  startTestChatApi(options: {
    authUrl: string;
    bus?: unknown;
    env?: Record<string, string>;
  }): Promise<Closable>;
}
interface ServiceKit {
  MemoryBus: new () => unknown;
}

export interface Demo {
  password: string;
  bob: string;
  carol: string;
  mallory: string;
}

export interface Platform {
  webUrl: string;
  authUrl: string;
  chatUrl: string;
  demo: Demo;
  browser: Browser;
  close(): Promise<void>;
}

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

async function importFrom<T>(relativeToRepo: string): Promise<T> {
  return (await import(pathToFileURL(path.join(REPO_ROOT, relativeToRepo)).href)) as T;
}

export interface PlatformOptions {
  /** Extra auth-api environment, e.g. a short ACCESS_TOKEN_TTL_SECONDS. */
  authEnv?: Record<string, string>;
}

export async function startPlatform(options: PlatformOptions = {}): Promise<Platform> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const kit = await importFrom<ServiceKit>('packages/service-kit/src/index.ts');
  const authTesting = await importFrom<AuthTesting>('packages/testkit/src/auth-api.ts');
  const chatTesting = await importFrom<ChatTesting>('packages/testkit/src/chat-api.ts');
  const bus = new kit.MemoryBus();
  const closers: (() => Promise<void>)[] = [];
  try {
    // The web origin must be known before auth-api starts: it is the origin the browser sends.
    const webPort = await freePort();
    const webOrigin = `http://127.0.0.1:${webPort}`;
    const auth = await authTesting.startTestAuthApi({
      bus,
      env: {
        ALLOWED_ORIGINS: webOrigin,
        // Links in mails lead to this web client.
        PUBLIC_WEB_URL: webOrigin,
        // Every browser login comes through the proxy from 127.0.0.1.
        RATE_LIMIT_LOGIN_PER_IP: '10000',
        RATE_LIMIT_LOGIN_PER_EMAIL: '10000',
        ...options.authEnv,
      },
    });
    closers.push(() => auth.close());
    const chat = await chatTesting.startTestChatApi({ authUrl: auth.url, bus });
    closers.push(() => chat.close());
    const web = await startWebServer({
      port: webPort,
      host: '127.0.0.1',
      authApiUrl: auth.url,
      chatApiUrl: chat.url,
      distDir: path.join(WEB_DIR, 'dist'),
    });
    closers.push(() => web.close());
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    closers.push(() => browser.close());
    const users = authTesting.DEMO?.users ?? {};
    return {
      webUrl: web.url,
      authUrl: auth.url,
      chatUrl: chat.url,
      browser,
      demo: {
        password: authTesting.DEMO?.password ?? 'correct-horse-battery-staple',
        bob: users.bob ?? 'bob@acme.example',
        carol: users.carol ?? 'carol@acme.example',
        mallory: users.mallory ?? 'mallory@globex.example',
      },
      async close() {
        for (const close of closers.reverse()) await close().catch(() => {});
      },
    };
  } catch (error) {
    for (const close of closers.reverse()) await close().catch(() => {});
    throw error;
  }
}

/** A tiny REST client for seeding, straight to the services (not through the browser). */
export class ApiUser {
  readonly token: string;
  readonly id: string;
  readonly #platform: Platform;

  private constructor(platform: Platform, token: string, id: string) {
    this.#platform = platform;
    this.token = token;
    this.id = id;
  }

  static async login(platform: Platform, email: string): Promise<ApiUser> {
    const res = await fetch(`${platform.authUrl}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: platform.demo.password }),
    });
    if (!res.ok) throw new Error(`login ${email}: ${res.status} ${await res.text()}`);
    const body = (await res.json()) as { access_token: string; user: { id: string } };
    return new ApiUser(platform, body.access_token, body.user.id);
  }

  async call<T>(base: 'auth' | 'chat', method: string, urlPath: string, body?: unknown): Promise<T> {
    const url = `${base === 'auth' ? this.#platform.authUrl : this.#platform.chatUrl}${urlPath}`;
    const res = await fetch(url, {
      method,
      headers: {
        authorization: `Bearer ${this.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${urlPath}: ${res.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  async groups(): Promise<{ id: string; name: string }[]> {
    const data = await this.call<unknown>('auth', 'GET', '/api/auth/groups');
    return (Array.isArray(data) ? data : (data as { groups: { id: string; name: string }[] }).groups) ?? [];
  }

  async groupId(name: string): Promise<string> {
    const group = (await this.groups()).find((g) => g.name === name);
    if (!group) throw new Error(`no group ${name}`);
    return group.id;
  }

  async createGroup(name: string): Promise<string> {
    const data = await this.call<{ id?: string; group?: { id: string } }>(
      'auth',
      'POST',
      '/api/auth/groups',
      { name },
    );
    return data.id ?? data.group!.id;
  }

  async addMember(groupId: string, userId: string): Promise<void> {
    await this.call('auth', 'POST', `/api/auth/groups/${groupId}/members`, { user_id: userId });
  }

  async post(groupId: string, content: string): Promise<{ id: string }> {
    return this.call('chat', 'POST', `/api/chat/groups/${groupId}/messages`, {
      content,
      client_message_id: crypto.randomUUID(),
    });
  }
}
