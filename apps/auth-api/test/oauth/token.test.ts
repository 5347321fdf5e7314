import { request as httpRequest } from 'node:http';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientServiceFor } from '../../src/clients/index.ts';
import { createClientRepository } from '../../src/clients/repository.ts';
import { ClientService } from '../../src/clients/service.ts';
import {
  basic,
  createClient,
  DEMO,
  decodeJwt,
  FORM,
  formEncode,
  postForm,
  startApi,
  type TestAuthApi,
  type TokenBody,
} from './helpers.ts';

const GRANT = { grant_type: 'client_credentials' };

describe('POST /oauth/token (client_credentials)', () => {
  let api: TestAuthApi;
  let tokenUrl: string;
  const chat = { authorization: basic(DEMO.serviceClientId, DEMO.serviceClientSecret) };

  beforeAll(async () => {
    api = await startApi();
    tokenUrl = `${api.url}/oauth/token`;
  });
  afterAll(async () => {
    await api?.close();
  });

  function expectOAuthError(
    response: { status: number; headers: Headers; body: Partial<TokenBody> },
    status: number,
    error: string,
  ) {
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.body.error).toBe(error);
    expect(typeof response.body.error_description).toBe('string');
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('x-request-id')).toBeTruthy();
    if (error === 'invalid_client')
      expect(response.headers.get('www-authenticate')).toBe('Basic realm="auth-api"');
  }

  it('issues an RFC 9068 token with client_secret_basic', async () => {
    const response = await postForm<TokenBody>(tokenUrl, GRANT, chat);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('pragma')).toBe('no-cache');
    expect(response.body).toEqual({
      access_token: expect.any(String),
      token_type: 'Bearer',
      expires_in: 900,
      scope: 'groups:read members:read',
    });
    const { header, payload } = decodeJwt(response.body.access_token);
    expect(header).toMatchObject({ alg: 'ES256', typ: 'at+jwt', kid: expect.any(String) });
    expect(payload).toMatchObject({
      iss: api.url,
      sub: DEMO.serviceClientId,
      client_id: DEMO.serviceClientId,
      aud: 'auth-api',
      scope: 'groups:read members:read',
    });
    expect(payload.exp).toBe((payload.iat as number) + 900);
    expect(payload.org_id).toBeUndefined();
  });

  it('issues a token with client_secret_post', async () => {
    const response = await postForm<TokenBody>(tokenUrl, {
      ...GRANT,
      client_id: DEMO.serviceClientId,
      client_secret: DEMO.serviceClientSecret,
      scope: 'groups:read',
    });
    expect(response.status).toBe(200);
    expect(response.body.scope).toBe('groups:read');
  });

  it('accepts a charset parameter on the form content type', async () => {
    const response = await fetch(tokenUrl, {
      method: 'POST',
      headers: { ...chat, 'content-type': `${FORM}; charset=UTF-8` },
      body: 'grant_type=client_credentials',
    });
    expect(response.status).toBe(200);
  });

  it('decodes Basic credentials as form-urlencoded (RFC 6749 §2.3.1)', async () => {
    const secret = 'a secret+with%odd:chars/and=more-0123456789';
    const client = await createClient(api, { scopes: ['groups:read'], id: 'odd.client~1', secret });
    const ok = await postForm<TokenBody>(tokenUrl, GRANT, { authorization: basic(client.clientId, secret) });
    expect(ok.status).toBe(200);
    // The same credentials without the form encoding: "%od" is not valid percent-encoding…
    const raw = `Basic ${Buffer.from(`${client.clientId}:${secret}`).toString('base64')}`;
    expectOAuthError(await postForm(tokenUrl, GRANT, { authorization: raw }), 400, 'invalid_request');
    // …and a raw "+" decodes to a space: a different secret.
    const plus = await createClient(api, { scopes: [], secret: 'plus+plus+0123456789abcdefghijklmnop' });
    const rawPlus = `Basic ${Buffer.from(`${plus.clientId}:${plus.secret}`).toString('base64')}`;
    expectOAuthError(await postForm(tokenUrl, GRANT, { authorization: rawPlus }), 401, 'invalid_client');
    expect(
      (await postForm(tokenUrl, GRANT, { authorization: basic(plus.clientId, plus.secret) })).status,
    ).toBe(200);
    // Post: the body is one form encoding only.
    const post = await postForm<TokenBody>(tokenUrl, {
      ...GRANT,
      client_id: client.clientId,
      client_secret: secret,
    });
    expect(post.status).toBe(200);
  });

  describe('client authentication', () => {
    it('refuses a wrong secret (basic and post)', async () => {
      expectOAuthError(
        await postForm(tokenUrl, GRANT, {
          authorization: basic(DEMO.serviceClientId, `${DEMO.serviceClientSecret}x`),
        }),
        401,
        'invalid_client',
      );
      expectOAuthError(
        await postForm(tokenUrl, {
          ...GRANT,
          client_id: DEMO.serviceClientId,
          client_secret: 'wrong-secret',
        }),
        401,
        'invalid_client',
      );
    });

    it('refuses an unknown client the same way', async () => {
      const response = await postForm(tokenUrl, GRANT, {
        authorization: basic('no-such-client', 'whatever-secret'),
      });
      expectOAuthError(response, 401, 'invalid_client');
      const wrong = await postForm(tokenUrl, GRANT, {
        authorization: basic(DEMO.serviceClientId, 'whatever-secret'),
      });
      expect(wrong.body).toEqual(response.body);
    });

    it('refuses a request without client authentication', async () => {
      expectOAuthError(await postForm(tokenUrl, GRANT), 401, 'invalid_client');
      expectOAuthError(
        await postForm(tokenUrl, { ...GRANT, client_id: DEMO.serviceClientId }),
        401,
        'invalid_client',
      );
    });

    it('refuses two authentication methods at once', async () => {
      expectOAuthError(
        await postForm(tokenUrl, { ...GRANT, client_secret: DEMO.serviceClientSecret }, chat),
        400,
        'invalid_request',
      );
      expectOAuthError(
        await postForm(tokenUrl, { ...GRANT, client_id: 'someone-else' }, chat),
        400,
        'invalid_request',
      );
      // The same client_id in the body beside Basic is fine.
      expect((await postForm(tokenUrl, { ...GRANT, client_id: DEMO.serviceClientId }, chat)).status).toBe(
        200,
      );
    });

    it('refuses malformed Basic credentials and other schemes', async () => {
      for (const authorization of [
        'Basic !!!',
        `Basic ${Buffer.from('no-colon').toString('base64')}`,
        `Basic ${Buffer.from('%zz:secret').toString('base64')}`,
        'Bearer abc',
      ]) {
        expectOAuthError(await postForm(tokenUrl, GRANT, { authorization }), 400, 'invalid_request');
      }
      expectOAuthError(
        await postForm(tokenUrl, GRANT, { authorization: `Basic ${Buffer.from(':').toString('base64')}` }),
        401,
        'invalid_client',
      );
    });
  });

  describe('grant and request checks', () => {
    it('refuses a missing grant_type', async () => {
      const response = await postForm(tokenUrl, {}, chat);
      expectOAuthError(response, 400, 'invalid_request');
      expect(response.body.error_description).toContain('grant_type');
    });

    it('refuses an unsupported grant_type', async () => {
      for (const grant of ['password', 'implicit', 'urn:x'])
        expectOAuthError(
          await postForm(tokenUrl, { grant_type: grant }, chat),
          400,
          'unsupported_grant_type',
        );
    });

    it('refuses a client not registered for client_credentials (unauthorized_client)', async () => {
      const client = await createClient(api, { scopes: ['groups:read'], grants: [] });
      expectOAuthError(
        await postForm(tokenUrl, GRANT, { authorization: basic(client.clientId, client.secret) }),
        400,
        'unauthorized_client',
      );
    });

    it('refuses duplicated parameters', async () => {
      const response = await fetch(tokenUrl, {
        method: 'POST',
        headers: { ...chat, 'content-type': FORM },
        body: 'grant_type=client_credentials&scope=groups:read&scope=members:read',
      });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: 'invalid_request' });
    });

    it('refuses bodies that are not form-urlencoded, or none', async () => {
      for (const [type, body] of [
        ['application/json', '{"grant_type":"client_credentials"}'],
        ['application/json', '{not json'],
        ['text/plain', 'grant_type=client_credentials'],
        ['application/xml', '<grant_type/>'],
        ['multipart/form-data; boundary=x', '--x--'],
      ] as const) {
        const response = await fetch(tokenUrl, {
          method: 'POST',
          headers: { ...chat, 'content-type': type },
          body,
        });
        expect(response.status, type).toBe(400);
        expect(response.headers.get('content-type')).toMatch(/^application\/json/);
        expect(await response.json()).toMatchObject({ error: 'invalid_request' });
      }
      const none = await fetch(tokenUrl, { method: 'POST', headers: chat });
      expect(none.status).toBe(400);
      expect(await none.json()).toMatchObject({ error: 'invalid_request' });
    });

    it('answers other methods and unknown /oauth/ paths the RFC 6749 way', async () => {
      const get = await fetch(tokenUrl);
      expect(get.status).toBe(405);
      expect(get.headers.get('allow')).toBe('POST');
      expect(get.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await get.json()).toMatchObject({ error: 'invalid_request' });
      const unknown = await fetch(`${api.url}/oauth/authorise?response_type=code`);
      expect(unknown.status).toBe(404);
      expect(await unknown.json()).toMatchObject({ error: 'invalid_request' });
    });

    it('answers over-long parameters with invalid_request, never a 500', async () => {
      const response = await postForm(tokenUrl, { ...GRANT, scope: 'x'.repeat(5000) }, chat);
      expectOAuthError(response, 400, 'invalid_request');
    });
  });

  describe('scope', () => {
    it('grants all allowed scopes when scope is absent or empty', async () => {
      expect((await postForm<TokenBody>(tokenUrl, { ...GRANT, scope: '' }, chat)).body.scope).toBe(
        'groups:read members:read',
      );
    });

    it('grants a requested subset, folding duplicates', async () => {
      const response = await postForm<TokenBody>(
        tokenUrl,
        { ...GRANT, scope: 'members:read  members:read' },
        chat,
      );
      expect(response.status).toBe(200);
      expect(response.body.scope).toBe('members:read');
      expect(decodeJwt(response.body.access_token).payload.scope).toBe('members:read');
    });

    it('refuses a scope the client is not allowed (invalid_scope)', async () => {
      for (const scope of ['groups:write', 'groups:read admin:clients', 'nonsense', 'groups:read "x"']) {
        const response = await postForm(tokenUrl, { ...GRANT, scope }, chat);
        expectOAuthError(response, 400, 'invalid_scope');
      }
    });
  });

  describe('resource (RFC 8707)', () => {
    it('defaults the audience to auth-api and honours chat-api', async () => {
      const chatToken = await postForm<TokenBody>(tokenUrl, { ...GRANT, resource: 'chat-api' }, chat);
      expect(chatToken.status).toBe(200);
      expect(decodeJwt(chatToken.body.access_token).payload.aud).toBe('chat-api');
      const issuerToken = await postForm<TokenBody>(tokenUrl, { ...GRANT, resource: `${api.url}/` }, chat);
      expect(decodeJwt(issuerToken.body.access_token).payload.aud).toBe('auth-api');
      const twice = await postForm<TokenBody>(
        tokenUrl,
        { ...GRANT, resource: ['chat-api', 'chat-api'] },
        chat,
      );
      expect(decodeJwt(twice.body.access_token).payload.aud).toBe('chat-api');
    });

    it('refuses unknown resources and several at once (invalid_target)', async () => {
      expectOAuthError(
        await postForm(tokenUrl, { ...GRANT, resource: 'https://evil.example/' }, chat),
        400,
        'invalid_target',
      );
      expectOAuthError(
        await postForm(tokenUrl, { ...GRANT, resource: ['auth-api', 'chat-api'] }, chat),
        400,
        'invalid_target',
      );
    });
  });

  it('stores client secrets only as Argon2id hashes', async () => {
    const rows = await api.running.core.db.selectFrom('oauth_client_secrets').select('secret_hash').execute();
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      expect(row.secret_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      expect(row.secret_hash).not.toContain(DEMO.serviceClientSecret);
    }
  });

  it('verifies a secret with Argon2id once per process, then from the cache', async () => {
    const core = api.running.core;
    const client = await createClient(api, { scopes: [] });
    // Another process (a fresh service over the same database) has not seen this secret yet.
    const fresh = new ClientService({
      repository: createClientRepository(core.db),
      hasher: core.hasher,
      logger: core.logger,
    });
    let slow = 0;
    const hooks = {
      beforeSlowVerification: async () => {
        slow += 1;
      },
    };
    expect(await fresh.authenticate(client.clientId, client.secret, hooks)).toMatchObject({
      clientId: client.clientId,
    });
    expect(slow).toBe(1);
    for (let i = 0; i < 20; i++)
      expect(await fresh.authenticate(client.clientId, client.secret, hooks)).not.toBeNull();
    expect(slow).toBe(1);
    // A wrong secret, and an unknown client, always take the (rate-limited) slow path.
    expect(await fresh.authenticate(client.clientId, `${client.secret}x`, hooks)).toBeNull();
    expect(await fresh.authenticate('nobody-at-all', client.secret, hooks)).toBeNull();
    expect(slow).toBe(3);
    // The service that created the client recognises its secret without Argon2id.
    let creatorSlow = 0;
    await clientServiceFor(core).authenticate(client.clientId, client.secret, {
      beforeSlowVerification: async () => {
        creatorSlow += 1;
      },
    });
    expect(creatorSlow).toBe(0);
  });
});

describe('rate limits of the token endpoint', () => {
  let api: TestAuthApi;
  beforeAll(async () => {
    api = await startApi({ RATE_LIMIT_TOKEN_PER_CLIENT: '3', RATE_LIMIT_CLIENT_AUTH_PER_IP: '100000' });
  });
  afterAll(async () => {
    await api?.close();
  });

  it('answers 429 slow_down with Retry-After once a client exceeds its limit', async () => {
    const client = await createClient(api, { scopes: ['groups:read'], id: `rl-${crypto.randomUUID()}` });
    const headers = { authorization: basic(client.clientId, client.secret) };
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof postForm>> | undefined;
    for (let i = 0; i < 5; i++) {
      const response = await postForm(`${api.url}/oauth/token`, GRANT, headers);
      statuses.push(response.status);
      if (response.status === 429) limited = response;
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    expect(limited!.body).toMatchObject({ error: 'slow_down', error_description: expect.any(String) });
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(limited!.headers.get('content-type')).toMatch(/^application\/json/);
    // Another client is not affected.
    const other = await createClient(api, { scopes: [], id: `rl-${crypto.randomUUID()}` });
    expect(
      (
        await postForm(`${api.url}/oauth/token`, GRANT, {
          authorization: basic(other.clientId, other.secret),
        })
      ).status,
    ).toBe(200);
  });
});

describe('rate limit on client authentication attempts', () => {
  let api: TestAuthApi;
  beforeAll(async () => {
    api = await startApi({ RATE_LIMIT_CLIENT_AUTH_PER_IP: '3' });
  });
  afterAll(async () => {
    await api?.close();
  });

  it('limits the Argon2id path per IP, without slowing a client whose secret is already verified', async () => {
    // A loopback address of its own, so that the per-IP counter (shared in Redis) is this test's alone.
    const from = `127.${1 + Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.${2 + Math.floor(Math.random() * 250)}`;
    const good = basic(DEMO.serviceClientId, DEMO.serviceClientSecret);
    // Verified at boot (ensureDeclaredClients), so it never takes the slow path.
    expect((await postFrom(from, api.url, good)).status).toBe(200);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++)
      statuses.push((await postFrom(from, api.url, basic('nobody', `guess-${i}`))).status);
    expect(statuses).toEqual([401, 401, 401, 429, 429, 429]);
    expect((await postFrom(from, api.url, good)).status).toBe(200);
  });
});

/** POST /oauth/token from a chosen local (loopback) address. */
function postFrom(localAddress: string, base: string, authorization: string): Promise<{ status: number }> {
  return new Promise((resolve, reject) => {
    const body = 'grant_type=client_credentials';
    const req = httpRequest(
      `${base}/oauth/token`,
      {
        method: 'POST',
        localAddress,
        headers: { authorization, 'content-type': FORM, 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('token endpoint logging', () => {
  it('logs token_issued without any secret or token', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const { startAuthApi } = await import('../../src/boot.ts');
    const { loadAuthConfig } = await import('../../src/config.ts');
    const { freePort } = await import('@groupchat/testkit/auth-api');
    const port = await freePort();
    const base = loadAuthConfig({
      PORT: String(port),
      ISSUER: `http://127.0.0.1:${port}`,
      SERVICE_CLIENT_SECRET: DEMO.serviceClientSecret,
      SEED_DEMO_DATA: 'false',
      SIGNING_KEY_PUBLISH_AHEAD_SECONDS: '0',
    });
    const { MemoryBus } = await import('@groupchat/service-kit');
    const running = await startAuthApi(
      { ...base, database: { kind: 'pglite', dataDir: null } } as typeof base,
      { bus: new MemoryBus(), logger: pino({ level: 'info' }, sink) },
    );
    try {
      const url = `http://127.0.0.1:${port}/oauth/token`;
      const ok = await postForm<TokenBody>(url, GRANT, {
        authorization: basic(DEMO.serviceClientId, DEMO.serviceClientSecret),
      });
      expect(ok.status).toBe(200);
      await postForm(url, { ...GRANT, client_id: DEMO.serviceClientId, client_secret: 'wrong-secret-value' });
      await new Promise((resolve) => setTimeout(resolve, 50));
      const events = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
      const issued = events.find((event) => event.event === 'token_issued');
      expect(issued).toMatchObject({
        client_id: DEMO.serviceClientId,
        scope: 'groups:read members:read',
        aud: 'auth-api',
      });
      expect(events.some((event) => event.event === 'client_authentication_failed')).toBe(true);
      const all = lines.join('\n');
      expect(all).not.toContain(DEMO.serviceClientSecret);
      expect(all).not.toContain(formEncode(DEMO.serviceClientSecret));
      expect(all).not.toContain('wrong-secret-value');
      expect(all).not.toContain(ok.body.access_token);
      expect(all).not.toContain(ok.body.access_token.split('.')[2]!);
    } finally {
      await running.close();
    }
  });
});
