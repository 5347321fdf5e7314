import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, MemoryBus } from '@groupchat/service-kit';
import { createTestDatabaseTarget } from '@groupchat/testkit';
import { freePort } from '@groupchat/testkit/auth-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAuthApi } from '../../src/boot.ts';
import { clientServiceFor } from '../../src/clients/index.ts';
import { loadAuthConfig } from '../../src/config.ts';
import {
  adminToken,
  basic,
  createClient,
  DEMO,
  postForm,
  request,
  startApi,
  type TestAuthApi,
  type TokenBody,
  tokenFor,
  userToken,
} from './helpers.ts';

interface ClientBody {
  client_id: string;
  client_name: string;
  client_type: string;
  allowed_scopes: string[];
  grant_types: string[];
  created_at: string;
  updated_at: string;
  client_secret?: string;
  secret_versions: { id: string; created_at: string; expires_at: string | null }[];
}

describe('OAuth client administration', () => {
  let api: TestAuthApi;
  let admin: string;
  let clientsUrl: string;

  beforeAll(async () => {
    api = await startApi();
    admin = await adminToken(api);
    clientsUrl = `${api.url}/admin/oauth/clients`;
  });
  afterAll(async () => {
    await api?.close();
  });

  async function tokenStatus(clientId: string, secret: string): Promise<number> {
    return (
      await postForm(
        `${api.url}/oauth/token`,
        { grant_type: 'client_credentials' },
        { authorization: basic(clientId, secret) },
      )
    ).status;
  }

  describe('access', () => {
    it('needs authentication (401 with a Bearer challenge)', async () => {
      const response = await request(clientsUrl);
      expect(response.status).toBe(401);
      expect(response.headers.get('content-type')).toContain('application/problem+json');
      expect(response.headers.get('www-authenticate')).toBe('Bearer realm="auth-api"');
    });

    it('answers 401, then 403, before it looks at the body (a malformed one included)', async () => {
      const bob = await userToken(api, DEMO.users.bob);
      for (const body of ['{not json', JSON.stringify({ client_name: 1 })]) {
        const send = (authorization?: string) =>
          fetch(clientsUrl, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
            body,
          });
        expect((await send()).status, body).toBe(401);
        expect((await send(`Bearer ${bob}`)).status, body).toBe(403);
        expect((await send(`Bearer ${admin}`)).status, body).toBe(400);
      }
    });

    it('refuses a client token without admin:clients (403 insufficient_scope)', async () => {
      const token = await tokenFor(api, DEMO.serviceClientId, DEMO.serviceClientSecret);
      for (const [method, path] of [
        ['GET', ''],
        ['POST', ''],
        ['GET', `/${DEMO.serviceClientId}`],
        ['DELETE', `/${DEMO.serviceClientId}`],
        ['POST', `/${DEMO.serviceClientId}/secret`],
      ] as const) {
        const response = await request(`${clientsUrl}${path}`, {
          method,
          token,
          ...(method === 'POST' ? { body: {} } : {}),
        });
        expect(response.status, `${method} ${path}`).toBe(403);
        expect(response.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
        expect(response.headers.get('www-authenticate')).toContain('scope="admin:clients"');
      }
      // chat-api-service still exists: nothing was done.
      expect((await request(`${clientsUrl}/${DEMO.serviceClientId}`, { token: admin })).status).toBe(200);
    });

    it('refuses a user who is not a platform admin, accepts one who is', async () => {
      const bob = await userToken(api, DEMO.users.bob);
      const refused = await request(clientsUrl, { token: bob });
      expect(refused.status).toBe(403);
      expect(refused.body).toMatchObject({ status: 403 });
      const platformAdmin = await userToken(api, DEMO.users.admin);
      const listed = await request<{ clients: ClientBody[] }>(clientsUrl, { token: platformAdmin });
      expect(listed.status).toBe(200);
      expect(listed.body.clients.map((client) => client.client_id)).toContain(DEMO.serviceClientId);
    });
  });

  describe('registration', () => {
    it('generates a 256-bit base64url secret, returned once, stored as a hash', async () => {
      const response = await request<ClientBody>(clientsUrl, {
        method: 'POST',
        token: admin,
        body: {
          client_name: 'Reporting',
          client_type: 'confidential',
          allowed_scopes: ['groups:read'],
          grant_types: ['client_credentials'],
        },
      });
      expect(response.status).toBe(201);
      expect(response.headers.get('cache-control')).toBe('no-store');
      const created = response.body;
      expect(created.client_id).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
      expect(response.headers.get('location')).toBe(`/admin/oauth/clients/${created.client_id}`);
      expect(created.client_secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(created.client_secret!, 'base64url')).toHaveLength(32);
      expect(created).toMatchObject({
        client_name: 'Reporting',
        client_type: 'confidential',
        allowed_scopes: ['groups:read'],
        grant_types: ['client_credentials'],
        client_secret_expires_at: 0,
      });
      expect(await tokenStatus(created.client_id, created.client_secret!)).toBe(200);
      // Never again: not in the read, not in the list, not in the database.
      const read = await request<ClientBody>(`${clientsUrl}/${created.client_id}`, { token: admin });
      expect(read.status).toBe(200);
      expect(read.text).not.toContain(created.client_secret!);
      expect(read.body.client_secret).toBeUndefined();
      expect(read.body.secret_versions).toHaveLength(1);
      const list = await request(clientsUrl, { token: admin });
      expect(list.text).not.toContain(created.client_secret!);
      const rows = await api.running.core.db
        .selectFrom('oauth_client_secrets')
        .select('secret_hash')
        .where('client_id', '=', created.client_id)
        .execute();
      expect(rows).toHaveLength(1);
      expect(rows[0]!.secret_hash).toMatch(/^\$argon2id\$/);
      expect(rows[0]!.secret_hash).not.toContain(created.client_secret!);
    });

    it('accepts a supplied secret of 32+ characters and a chosen client_id; refuses shorter (400)', async () => {
      const base = {
        client_name: 'Supplied',
        client_type: 'confidential',
        allowed_scopes: ['members:read'],
        grant_types: ['client_credentials'],
      };
      const short = await request(clientsUrl, {
        method: 'POST',
        token: admin,
        body: { ...base, client_id: 'supplied-short', client_secret: 'x'.repeat(31) },
      });
      expect(short.status).toBe(400);
      expect(short.headers.get('content-type')).toContain('application/problem+json');
      const secret = 's'.repeat(32);
      const created = await request<ClientBody>(clientsUrl, {
        method: 'POST',
        token: admin,
        body: { ...base, client_id: 'supplied-ok', client_secret: secret },
      });
      expect(created.status).toBe(201);
      expect(created.body.client_id).toBe('supplied-ok');
      expect(await tokenStatus('supplied-ok', secret)).toBe(200);
    });

    it('answers 409 when the client_id is taken', async () => {
      const body = {
        client_id: DEMO.serviceClientId,
        client_name: 'Impostor',
        client_type: 'confidential',
        allowed_scopes: ['groups:write'],
        grant_types: ['client_credentials'],
      };
      const response = await request(clientsUrl, { method: 'POST', token: admin, body });
      expect(response.status).toBe(409);
      expect(response.body).toMatchObject({ status: 409 });
    });

    it('validates the body (400 problem+json)', async () => {
      for (const body of [
        {},
        { client_name: 'x', client_type: 'confidential', allowed_scopes: ['nope'], grant_types: [] },
        { client_name: 'x', client_type: 'confidential', allowed_scopes: [], grant_types: ['password'] },
        { client_name: 'x', client_type: 'weird', allowed_scopes: [], grant_types: [] },
        {
          client_name: 'x',
          client_type: 'confidential',
          allowed_scopes: [],
          grant_types: [],
          client_id: 'a b',
        },
        { client_name: 'x', client_type: 'public', allowed_scopes: [], grant_types: ['client_credentials'] },
        {
          client_name: 'x',
          client_type: 'public',
          allowed_scopes: [],
          grant_types: [],
          client_secret: 'p'.repeat(40),
        },
      ]) {
        const response = await request(clientsUrl, { method: 'POST', token: admin, body });
        expect(response.status, JSON.stringify(body)).toBe(400);
        expect(response.headers.get('content-type')).toContain('application/problem+json');
      }
    });

    it('registers a public client without secret (it cannot use the token endpoint)', async () => {
      const response = await request<ClientBody>(clientsUrl, {
        method: 'POST',
        token: admin,
        body: { client_name: 'SPA', client_type: 'public', allowed_scopes: [], grant_types: [] },
      });
      expect(response.status).toBe(201);
      expect(response.body.client_secret).toBeUndefined();
      expect(response.body.secret_versions).toEqual([]);
      const rotate = await request(`${clientsUrl}/${response.body.client_id}/secret`, {
        method: 'POST',
        token: admin,
        body: {},
      });
      expect(rotate.status).toBe(400);
    });
  });

  describe('read and delete', () => {
    it('reads one client and 404s an unknown one', async () => {
      const read = await request<ClientBody>(`${clientsUrl}/${DEMO.serviceClientId}`, { token: admin });
      expect(read.status).toBe(200);
      expect(read.body).toMatchObject({
        client_id: DEMO.serviceClientId,
        allowed_scopes: ['groups:read', 'members:read'],
        grant_types: ['client_credentials'],
      });
      expect(read.text).not.toContain(DEMO.serviceClientSecret);
      expect((await request(`${clientsUrl}/nobody-here`, { token: admin })).status).toBe(404);
      expect((await request(`${clientsUrl}/bad%20id`, { token: admin })).status).toBe(400);
    });

    it('deletes a client: its credentials are refused at once, its tokens become inactive', async () => {
      const victim = await createClient(api, { scopes: ['groups:read'] });
      const token = await tokenFor(api, victim.clientId, victim.secret);
      expect(await tokenStatus(victim.clientId, victim.secret)).toBe(200);
      const deleted = await request(`${clientsUrl}/${victim.clientId}`, { method: 'DELETE', token: admin });
      expect(deleted.status).toBe(204);
      expect(deleted.text).toBe('');
      expect(await tokenStatus(victim.clientId, victim.secret)).toBe(401);
      expect((await request(`${clientsUrl}/${victim.clientId}`, { token: admin })).status).toBe(404);
      expect(
        (await request(`${clientsUrl}/${victim.clientId}`, { method: 'DELETE', token: admin })).status,
      ).toBe(404);
      const introspection = await postForm(
        `${api.url}/oauth/introspect`,
        { token },
        { authorization: basic(DEMO.serviceClientId, DEMO.serviceClientSecret) },
      );
      expect(introspection.body).toEqual({ active: false });
      const rows = await api.running.core.db
        .selectFrom('oauth_client_secrets')
        .select('id')
        .where('client_id', '=', victim.clientId)
        .execute();
      expect(rows).toEqual([]);
    });
  });

  describe('secret rotation', () => {
    it('without grace: the new secret works, the old one stops at once', async () => {
      const client = await createClient(api, { scopes: ['groups:read'] });
      const rotated = await request<{
        client_id: string;
        client_secret: string;
        previous_secrets_expire_at: string;
      }>(`${clientsUrl}/${client.clientId}/secret`, { method: 'POST', token: admin });
      expect(rotated.status).toBe(200);
      expect(rotated.headers.get('cache-control')).toBe('no-store');
      expect(rotated.body.client_id).toBe(client.clientId);
      expect(rotated.body.client_secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(rotated.body.client_secret).not.toBe(client.secret);
      expect(Date.parse(rotated.body.previous_secrets_expire_at)).toBeLessThanOrEqual(Date.now());
      expect(await tokenStatus(client.clientId, client.secret)).toBe(401);
      expect(await tokenStatus(client.clientId, rotated.body.client_secret)).toBe(200);
      const read = await request<ClientBody>(`${clientsUrl}/${client.clientId}`, { token: admin });
      expect(read.body.secret_versions).toHaveLength(1);
      expect(read.text).not.toContain(rotated.body.client_secret);
    });

    it('with grace: both work until the grace ends, then only the new one', async () => {
      const client = await createClient(api, { scopes: ['groups:read'] });
      // Warm this instance's cache with the old secret: the cache must not outlive the grace.
      expect(await tokenStatus(client.clientId, client.secret)).toBe(200);
      const rotated = await request<{ client_secret: string; previous_secrets_expire_at: string }>(
        `${clientsUrl}/${client.clientId}/secret`,
        { method: 'POST', token: admin, body: { grace_seconds: 2 } },
      );
      expect(rotated.status).toBe(200);
      const expiresAt = Date.parse(rotated.body.previous_secrets_expire_at);
      expect(expiresAt).toBeGreaterThan(Date.now());
      expect(await tokenStatus(client.clientId, client.secret)).toBe(200);
      expect(await tokenStatus(client.clientId, rotated.body.client_secret)).toBe(200);
      const read = await request<ClientBody>(`${clientsUrl}/${client.clientId}`, { token: admin });
      expect(read.body.secret_versions.map((version) => version.expires_at)).toEqual([
        rotated.body.previous_secrets_expire_at,
        null,
      ]);
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, expiresAt - Date.now()) + 100));
      expect(await tokenStatus(client.clientId, client.secret)).toBe(401);
      expect(await tokenStatus(client.clientId, rotated.body.client_secret)).toBe(200);
    });

    it('a second rotation never extends the grace of an older secret', async () => {
      const client = await createClient(api, { scopes: [] });
      const first = await request<{ client_secret: string }>(`${clientsUrl}/${client.clientId}/secret`, {
        method: 'POST',
        token: admin,
        body: { grace_seconds: 60 },
      });
      const second = await request<{ client_secret: string }>(`${clientsUrl}/${client.clientId}/secret`, {
        method: 'POST',
        token: admin,
        body: { grace_seconds: 0 },
      });
      expect(second.status).toBe(200);
      expect(await tokenStatus(client.clientId, client.secret)).toBe(401);
      expect(await tokenStatus(client.clientId, first.body.client_secret)).toBe(401);
      expect(await tokenStatus(client.clientId, second.body.client_secret)).toBe(200);
    });

    it('validates grace_seconds and 404s an unknown client', async () => {
      const client = await createClient(api, { scopes: [] });
      for (const body of [{ grace_seconds: -1 }, { grace_seconds: 'soon' }, { grace_seconds: 10 ** 9 }]) {
        const response = await request(`${clientsUrl}/${client.clientId}/secret`, {
          method: 'POST',
          token: admin,
          body,
        });
        expect(response.status, JSON.stringify(body)).toBe(400);
      }
      expect(await tokenStatus(client.clientId, client.secret)).toBe(200);
      expect(
        (await request(`${clientsUrl}/nobody-here/secret`, { method: 'POST', token: admin, body: {} }))
          .status,
      ).toBe(404);
    });
  });

  it('documents the admin and OAuth endpoints in OpenAPI', async () => {
    const document = (await (await fetch(`${api.url}/docs/json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    for (const [path, method] of [
      ['/admin/oauth/clients', 'post'],
      ['/admin/oauth/clients', 'get'],
      ['/admin/oauth/clients/{client_id}', 'get'],
      ['/admin/oauth/clients/{client_id}', 'delete'],
      ['/admin/oauth/clients/{client_id}/secret', 'post'],
      ['/oauth/token', 'post'],
      ['/oauth/introspect', 'post'],
      ['/oauth/revoke', 'post'],
      ['/.well-known/oauth-authorization-server', 'get'],
      ['/.well-known/jwks.json', 'get'],
    ] as const) {
      expect(document.paths[path]?.[method], `${method} ${path}`).toBeDefined();
    }
    const token = document.paths['/oauth/token']!.post as {
      requestBody: { content: Record<string, unknown> };
    };
    expect(Object.keys(token.requestBody.content)).toEqual(['application/x-www-form-urlencoded']);
  });
});

describe('clients declared in configuration', () => {
  it('creates chat-api-service on a fresh start, is idempotent on restart, and replaces a changed secret', async () => {
    const target = await createTestDatabaseTarget('auth_declared');
    const dataDir =
      target.target.kind === 'pglite' ? await mkdtemp(join(tmpdir(), 'auth-declared-')) : undefined;
    const operator = { type: 'operator', name: 'test' } as const;
    const boot = async (env: Record<string, string> = {}) => {
      const port = await freePort();
      const config = loadAuthConfig({
        PORT: String(port),
        ISSUER: `http://127.0.0.1:${port}`,
        SERVICE_CLIENT_SECRET: DEMO.serviceClientSecret,
        SEED_DEMO_DATA: 'false',
        SIGNING_KEY_PUBLISH_AHEAD_SECONDS: '0',
        // A server-backed start is the production profile, which requires the key secret.
        ...(target.target.kind === 'postgres'
          ? {
              DATABASE_URL: target.target.url,
              SIGNING_KEY_ENCRYPTION_SECRET: 'test-signing-key-secret-0123456789abcdef',
            }
          : { DATA_DIR: dataDir! }),
        ...env,
      });
      return startAuthApi(config, { bus: new MemoryBus(), logger: createLogger('auth-api', 'silent') });
    };
    try {
      const first = await boot();
      const created = await clientServiceFor(first.core).get(operator, DEMO.serviceClientId);
      await first.close();
      expect(created).toMatchObject({
        clientType: 'confidential',
        allowedScopes: ['groups:read', 'members:read'],
        grantTypes: ['client_credentials'],
      });
      expect(created.secrets).toHaveLength(1);
      // Same configuration: nothing changes.
      const second = await boot();
      const again = await clientServiceFor(second.core).get(operator, DEMO.serviceClientId);
      await second.close();
      expect(again.secrets.map((secret) => secret.id)).toEqual(created.secrets.map((secret) => secret.id));
      expect(again.updatedAt).toEqual(created.updatedAt);
      // A new configured secret replaces the old one at once; scopes follow the configuration.
      const newSecret = 'a-brand-new-configured-secret-0123456789';
      const third = await boot({ SERVICE_CLIENT_SECRET: newSecret, SERVICE_CLIENT_SCOPES: 'groups:read' });
      try {
        const token = async (secret: string) =>
          (
            await postForm<TokenBody>(
              `${third.url}/oauth/token`,
              { grant_type: 'client_credentials' },
              { authorization: basic(DEMO.serviceClientId, secret) },
            )
          ).body;
        expect((await token(DEMO.serviceClientSecret)).error).toBe('invalid_client');
        expect((await token(newSecret)).scope).toBe('groups:read');
        const after = await clientServiceFor(third.core).get(operator, DEMO.serviceClientId);
        expect(after.secrets).toHaveLength(1);
      } finally {
        await third.close();
      }
    } finally {
      await target.drop();
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    }
  });
});
