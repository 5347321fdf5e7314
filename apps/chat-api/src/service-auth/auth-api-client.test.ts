import { Agent } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { captureLogger, json, startFakeServer } from '../test-support/fake-server.ts';
import { AuthApiClient } from './auth-api-client.ts';
import { AuthApiUnavailableError, ServiceTokenManager } from './token-manager.ts';

type Fake = Awaited<ReturnType<typeof startFakeServer>>;

describe('AuthApiClient', () => {
  let server: Fake;
  let agent: Agent;
  let issued: number;
  let accepted: Set<string>;
  let clock: number;

  beforeAll(async () => {
    agent = new Agent();
    server = await startFakeServer(() => {});
  });
  afterAll(async () => {
    await agent.close();
    await server.close();
  });
  beforeEach(() => {
    issued = 0;
    accepted = new Set();
    clock = 5_000_000;
    server.requests.length = 0;
    server.setHandler((request, response) => {
      if (request.path === '/oauth/token') {
        issued += 1;
        const token = `t${issued}`;
        accepted.add(token);
        return json(response, 200, {
          access_token: token,
          token_type: 'Bearer',
          expires_in: 900,
          scope: 'groups:read members:read',
        });
      }
      const token = String(request.headers.authorization).replace('Bearer ', '');
      if (!accepted.has(token)) return json(response, 401, { status: 401 });
      return json(response, 200, { ok: true });
    });
  });

  const client = () => {
    const { logger } = captureLogger();
    const tokens = new ServiceTokenManager({
      tokenUrl: `${server.url}/oauth/token`,
      clientId: 'c',
      clientSecret: 's',
      scope: '',
      dispatcher: agent,
      logger,
      now: () => clock,
    });
    return new AuthApiClient({
      baseUrl: server.url,
      dispatcher: agent,
      tokens,
      logger,
      timeoutMs: 2_000,
      now: () => clock,
    });
  };

  it('sends the service token and returns the answer', async () => {
    const api = client();
    expect(await api.get('/api/auth/groups/x', 'group')).toEqual({ status: 200, body: { ok: true } });
    expect(server.requests.map((r) => r.path)).toEqual(['/oauth/token', '/api/auth/groups/x']);
    expect(server.requests[1]?.headers.authorization).toBe('Bearer t1');
  });

  it('on a 401 gets one new token and retries once', async () => {
    const api = client();
    await api.get('/a', 'a');
    accepted.delete('t1'); // revoked, or its key rotated away
    expect((await api.get('/b', 'b')).status).toBe(200);
    expect(server.requests.map((r) => `${r.path} ${r.headers.authorization ?? ''}`)).toEqual([
      '/oauth/token ' + server.requests[0]?.headers.authorization,
      '/a Bearer t1',
      '/b Bearer t1',
      '/oauth/token ' + server.requests[0]?.headers.authorization,
      '/b Bearer t2',
    ]);
  });

  it('does not loop when auth-api keeps refusing: one retry, then unavailable', async () => {
    server.setHandler((request, response) =>
      request.path === '/oauth/token'
        ? json(response, 200, {
            access_token: `t${++issued}`,
            token_type: 'Bearer',
            expires_in: 900,
            scope: 'groups:read members:read',
          })
        : json(response, 401, {}),
    );
    await expect(client().get('/x', 'x')).rejects.toBeInstanceOf(AuthApiUnavailableError);
    expect(server.requests.filter((r) => r.path === '/x')).toHaveLength(2);
  });

  it('after a 5xx, fails fast during a short backoff, then tries again', async () => {
    const api = client();
    await api.get('/warm', 'warm');
    server.setHandler((_request, response) => json(response, 502, {}));
    await expect(api.get('/x', 'x')).rejects.toBeInstanceOf(AuthApiUnavailableError);
    const before = server.requests.length;
    await expect(api.get('/x', 'x')).rejects.toBeInstanceOf(AuthApiUnavailableError);
    expect(server.requests.length).toBe(before);
    clock += 5_000;
    server.setHandler((_request, response) => json(response, 200, { back: true }));
    expect((await api.get('/x', 'x')).body).toEqual({ back: true });
  });

  it('passes 404 through (a missing group is an answer, not an outage)', async () => {
    server.setHandler((request, response) =>
      request.path === '/oauth/token'
        ? json(response, 200, {
            access_token: 't',
            token_type: 'Bearer',
            expires_in: 900,
            scope: 'groups:read members:read',
          })
        : json(response, 404, { status: 404 }),
    );
    expect((await client().get('/missing', 'group')).status).toBe(404);
  });
});
