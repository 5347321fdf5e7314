import { Agent } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { captureLogger, json, startFakeServer } from '../test-support/fake-server.ts';
import { AuthApiUnavailableError, ServiceTokenManager } from './token-manager.ts';

type Fake = Awaited<ReturnType<typeof startFakeServer>>;

describe('ServiceTokenManager', () => {
  let server: Fake;
  let agent: Agent;
  let issued = 0;
  let clock = 1_000_000;

  const okHandler: Parameters<Fake['setHandler']>[0] = async (_request, response) => {
    issued += 1;
    // Answer a little later so concurrent callers really overlap with the request in flight.
    await new Promise((resolve) => setTimeout(resolve, 30));
    json(response, 200, {
      access_token: `token-${issued}`,
      token_type: 'Bearer',
      expires_in: 900,
      scope: 'groups:read members:read',
    });
  };

  const manager = (overrides: Partial<ConstructorParameters<typeof ServiceTokenManager>[0]> = {}) =>
    new ServiceTokenManager({
      tokenUrl: `${server.url}/oauth/token`,
      clientId: 'chat-api-service',
      clientSecret: 'secret with spaces & symbols',
      scope: 'groups:read members:read',
      dispatcher: agent,
      logger: captureLogger().logger,
      now: () => clock,
      random: () => 0.5,
      ...overrides,
    });

  beforeAll(async () => {
    server = await startFakeServer(okHandler);
    agent = new Agent({ keepAliveTimeout: 10_000 });
  });
  afterAll(async () => {
    await agent.close();
    await server.close();
  });
  beforeEach(() => {
    server.requests.length = 0;
    server.setHandler(okHandler);
    issued = 0;
    clock = 1_000_000;
  });

  it('makes exactly one token request for many concurrent callers, then serves from cache', async () => {
    const tokens = manager();
    const results = await Promise.all(Array.from({ length: 100 }, () => tokens.getToken()));
    expect(new Set(results)).toEqual(new Set(['token-1']));
    expect(server.requests).toHaveLength(1);
    expect(await tokens.getToken()).toBe('token-1');
    expect(server.requests).toHaveLength(1);
    expect(tokens.requestCount).toBe(1);
  });

  it('authenticates with client_secret_basic and asks for the configured scope', async () => {
    await manager().getToken();
    const [request] = server.requests;
    expect(request?.method).toBe('POST');
    expect(request?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    const basic = Buffer.from(
      String(request?.headers.authorization).replace(/^Basic /, ''),
      'base64',
    ).toString();
    // RFC 6749 §2.3.1: both parts form-urlencoded before the Basic encoding.
    expect(basic).toBe('chat-api-service:secret+with+spaces+%26+symbols');
    const form = new URLSearchParams(request?.body);
    expect(form.get('grant_type')).toBe('client_credentials');
    expect(form.get('scope')).toBe('groups:read members:read');
    expect(form.get('client_secret')).toBeNull();
  });

  it('refreshes ahead of expiry in the background, keeping the old token meanwhile', async () => {
    const tokens = manager();
    expect(await tokens.getToken()).toBe('token-1');
    clock += 800_000; // past 80 % of 900 s, still valid
    expect(await tokens.getToken()).toBe('token-1'); // served at once
    expect(await tokens.getToken()).toBe('token-1'); // no second background request
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(server.requests).toHaveLength(2);
    expect(await tokens.getToken()).toBe('token-2');
  });

  it('refreshes a short-lived token in the background too, before it stops being handed out', async () => {
    // 30 s, auth-api's shortest ACCESS_TOKEN_TTL_SECONDS: the safety margin is a quarter of it (7.5 s),
    // so 80 % of the whole life (24 s) would come after the token stopped being usable (22.5 s).
    let issuedShort = 0;
    server.setHandler((_request, response) => {
      issuedShort += 1;
      json(response, 200, {
        access_token: `short-${issuedShort}`,
        token_type: 'Bearer',
        expires_in: 30,
        scope: 'groups:read members:read',
      });
    });
    const tokens = manager();
    expect(await tokens.getToken()).toBe('short-1');
    clock += 20_000; // past 80 % of the usable 22.5 s, still usable
    expect(await tokens.getToken()).toBe('short-1'); // served at once, refreshed behind it
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(server.requests).toHaveLength(2);
    expect(await tokens.getToken()).toBe('short-2');
  });

  it('waits for a new token once the cached one is (nearly) expired', async () => {
    const tokens = manager();
    await tokens.getToken();
    clock += 895_000; // inside the safety margin before exp
    expect(await tokens.getToken()).toBe('token-2');
    expect(server.requests).toHaveLength(2);
  });

  it('backs off after a failure: callers fail fast without a request until the backoff passes', async () => {
    server.setHandler((_request, response) => json(response, 503, { error: 'temporarily_unavailable' }));
    const tokens = manager({ minBackoffMs: 1_000 });
    await expect(tokens.getToken()).rejects.toBeInstanceOf(AuthApiUnavailableError);
    expect(server.requests).toHaveLength(1);
    await expect(tokens.getToken()).rejects.toBeInstanceOf(AuthApiUnavailableError);
    expect(server.requests).toHaveLength(1);
    clock += 1_000;
    server.setHandler(okHandler);
    expect(await tokens.getToken()).toBe('token-1');
    expect(server.requests).toHaveLength(2);
  });

  it('treats an unreachable token endpoint as unavailable, and grows the backoff', async () => {
    const tokens = manager({
      tokenUrl: 'http://127.0.0.1:9/oauth/token',
      minBackoffMs: 100,
      maxBackoffMs: 1_000,
    });
    const first = await tokens.getToken().catch((error: AuthApiUnavailableError) => error);
    expect(first).toBeInstanceOf(AuthApiUnavailableError);
    clock += 100;
    const second = await tokens.getToken().catch((error: AuthApiUnavailableError) => error);
    expect((second as AuthApiUnavailableError).retryAfterMs).toBeGreaterThan(
      (first as AuthApiUnavailableError).retryAfterMs,
    );
  });

  it('after a 401 from auth-api, fetches one new token shared by every caller that saw it', async () => {
    const tokens = manager();
    const rejected = await tokens.getToken();
    const fresh = await Promise.all(Array.from({ length: 20 }, () => tokens.refreshAfterRejection(rejected)));
    expect(new Set(fresh)).toEqual(new Set(['token-2']));
    expect(server.requests).toHaveLength(2);
    // A late caller still holding the old token gets the new one without another request.
    expect(await tokens.refreshAfterRejection(rejected)).toBe('token-2');
    expect(server.requests).toHaveLength(2);
  });

  it('refuses an answer without a bearer token', async () => {
    server.setHandler((_request, response) => json(response, 200, { token_type: 'Bearer' }));
    await expect(manager().getToken()).rejects.toBeInstanceOf(AuthApiUnavailableError);
  });

  it("logs the seed's events", async () => {
    const { logger, lines } = captureLogger('info');
    await manager({ logger }).getToken();
    const events = lines.map((line) => line.event);
    expect(events).toEqual([
      'service_token_manager_initialized',
      'oauth_token_response_received',
      'service_token_acquired',
    ]);
    expect(lines[0]).toMatchObject({ client_id: 'chat-api-service' });
    expect(lines[1]).toMatchObject({ status: 200 });
    expect(lines[2]).toMatchObject({ expires_in_seconds: 900 });
    expect(JSON.stringify(lines)).not.toContain('token-1');
    expect(JSON.stringify(lines)).not.toContain('secret with spaces');
  });
});
