/**
 * The pieces of a "sign in with the platform" test: a real auth-api, a real Chromium (Debian's, with
 * the flags of the web e2e harness), and a third-party app built on openid-client whose redirect URI is
 * a real HTTP server on loopback that records each callback.
 */
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as client from 'openid-client';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { clientServiceFor } from '../../src/clients/index.ts';
import { OPERATOR, startApi, type TestAuthApi } from '../oauth/helpers.ts';

export { client };

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ARTIFACTS = path.resolve(HERE, '../../../../test-artifacts/web');

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** The app's redirect URI: a loopback HTTP server that answers a small page and records the URL. */
export class CallbackServer {
  readonly #server: Server;
  readonly received: URL[] = [];
  readonly #waiters: ((url: URL) => void)[] = [];
  url = '';

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(): Promise<CallbackServer> {
    let self: CallbackServer | null = null;
    const server = createServer((request, response) => {
      const url = new URL(request.url ?? '/', self!.url);
      self!.received.push(url);
      self!.#waiters.shift()?.(url);
      response
        .writeHead(200, { 'content-type': 'text/html' })
        .end('<!doctype html><title>app</title><p id="done">callback received</p>');
    });
    self = new CallbackServer(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    self.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    return self;
  }

  /** The next callback (registered before navigating, so none is missed). */
  next(): Promise<URL> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

export interface RegisteredApp {
  clientId: string;
  secret: string | null;
  redirectUri: string;
  config: client.Configuration;
}

/** Registers a client through the registry (as an admin would) and discovers the server with openid-client. */
export async function registerApp(
  api: TestAuthApi,
  callback: CallbackServer,
  options: {
    clientId: string;
    type?: 'confidential' | 'public';
    firstParty?: boolean;
    scopes?: string[];
    authMethod?: 'client_secret_basic' | 'client_secret_post';
  },
): Promise<RegisteredApp> {
  const type = options.type ?? 'confidential';
  const redirectUri = `${callback.url}/callback/${options.clientId}`;
  const created = await clientServiceFor(api.running.core).create(OPERATOR, {
    clientId: options.clientId,
    clientName: `App ${options.clientId}`,
    clientType: type,
    allowedScopes: options.scopes ?? ['openid', 'profile', 'email', 'groups:read', 'members:read'],
    grantTypes: ['authorization_code', 'refresh_token'],
    redirectUris: [redirectUri],
    tokenEndpointAuthMethod: type === 'public' ? 'none' : (options.authMethod ?? 'client_secret_basic'),
    firstParty: options.firstParty ?? false,
  });
  const auth =
    type === 'public'
      ? client.None()
      : options.authMethod === 'client_secret_post'
        ? client.ClientSecretPost(created.clientSecret!)
        : client.ClientSecretBasic(created.clientSecret!);
  const config = await client.discovery(new URL(api.url), options.clientId, undefined, auth, {
    execute: [client.allowInsecureRequests],
  });
  return { clientId: options.clientId, secret: created.clientSecret, redirectUri, config };
}

export interface AuthorizationAttempt {
  url: URL;
  verifier: string;
  state: string;
  nonce: string;
}

export async function authorizationUrl(
  app: RegisteredApp,
  scope = 'openid profile email groups:read',
  extra: Record<string, string> = {},
): Promise<AuthorizationAttempt> {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(app.config, {
    redirect_uri: app.redirectUri,
    scope,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...extra,
  });
  return { url, verifier, state, nonce };
}

/** Fills and submits the sign-in page's email and password. */
export async function signIn(page: Page, email: string, password: string): Promise<void> {
  await page.locator('input[name="email"]').fill(email);
  await page.locator('input[name="password"]').fill(password);
  await page.locator('button[type="submit"]').click();
}

export async function newContext(browser: Browser): Promise<BrowserContext> {
  return browser.newContext();
}

export async function exchange(app: RegisteredApp, callbackUrl: URL, attempt: AuthorizationAttempt) {
  return client.authorizationCodeGrant(app.config, callbackUrl, {
    pkceCodeVerifier: attempt.verifier,
    expectedState: attempt.state,
    expectedNonce: attempt.nonce,
    idTokenExpected: true,
  });
}

export { startApi };
