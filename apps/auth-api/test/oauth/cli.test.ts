import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { createLogger, MemoryBus } from '@groupchat/service-kit';
import { createTestDatabaseTarget } from '@groupchat/testkit';
import { freePort } from '@groupchat/testkit/auth-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAuthApi } from '../../src/boot.ts';
import { runCli } from '../../src/cli.ts';
import { loadAuthConfig } from '../../src/config.ts';
import { basic, postForm, request, type TokenBody } from './helpers.ts';

const run = promisify(execFile);
const CLI = resolve(import.meta.dirname, '../../src/cli.ts');

describe('auth-api CLI', () => {
  let env: Record<string, string>;
  let cleanup = async () => {};

  beforeAll(async () => {
    const target = await createTestDatabaseTarget('auth_cli');
    if (target.target.kind === 'postgres') {
      env = {
        DATABASE_URL: target.target.url,
        SEED_DEMO_DATA: 'false',
        // A server-backed start is the production profile, which requires the key secret.
        SIGNING_KEY_ENCRYPTION_SECRET: 'test-signing-key-secret-0123456789abcdef',
      };
      cleanup = target.drop;
    } else {
      const dir = await mkdtemp(join(tmpdir(), 'auth-cli-'));
      env = { DATA_DIR: dir };
      cleanup = () => rm(dir, { recursive: true, force: true });
    }
  });
  afterAll(async () => {
    await cleanup();
  });

  async function cli(...argv: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(argv, env, { out: (line) => out.push(line), err: (line) => err.push(line) });
    return { code, out: out.join('\n'), err: err.join('\n') };
  }

  /** A server on the CLI's database, for the duration of `use` (PGlite allows one process at a time). */
  async function withServer<T>(use: (url: string) => Promise<T>): Promise<T> {
    const port = await freePort();
    const config = loadAuthConfig({ ...env, PORT: String(port), ISSUER: `http://127.0.0.1:${port}` });
    const running = await startAuthApi(config, {
      bus: new MemoryBus(),
      logger: createLogger('auth-api', 'silent'),
    });
    try {
      return await use(running.url);
    } finally {
      await running.close();
    }
  }

  const tokenStatus = async (url: string, clientId: string, secret: string) =>
    postForm<TokenBody>(
      `${url}/oauth/token`,
      { grant_type: 'client_credentials' },
      { authorization: basic(clientId, secret) },
    );

  it('migrates', async () => {
    const first = await cli('migrate');
    expect(first.code).toBe(0);
    expect(first.out).toMatch(/applied: 0001_identity, 0002_oauth|up to date/);
    expect((await cli('migrate')).out).toBe('the database is up to date');
  });

  it('creates the first admin client, which then administers clients over HTTP', async () => {
    const created = await cli(
      'clients',
      'create',
      '--name',
      'Ops console',
      '--scopes',
      'admin:clients',
      '--id',
      'ops',
    );
    expect(created.code).toBe(0);
    const body = JSON.parse(created.out) as {
      client_id: string;
      client_secret: string;
      allowed_scopes: string[];
    };
    expect(body).toMatchObject({ client_id: 'ops', allowed_scopes: ['admin:clients'] });
    expect(body.client_secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(created.err).toContain('not shown again');

    const list = await cli('clients', 'list');
    expect(list.out).toMatch(/^CLIENT_ID\s+NAME/);
    expect(list.out).toContain('ops');
    expect(list.out).not.toContain(body.client_secret);
    expect(JSON.parse((await cli('clients', 'list', '--json')).out)).toEqual([
      expect.objectContaining({ client_id: 'ops', grant_types: ['client_credentials'] }),
    ]);

    await withServer(async (url) => {
      const token = await tokenStatus(url, 'ops', body.client_secret);
      expect(token.status).toBe(200);
      const clients = await request<{ clients: { client_id: string }[] }>(`${url}/admin/oauth/clients`, {
        token: token.body.access_token,
      });
      expect(clients.status).toBe(200);
      expect(clients.body.clients.map((client) => client.client_id)).toContain('ops');
    });
    expect((await cli('clients', 'create', '--name', 'again', '--scopes', '', '--id', 'ops')).code).toBe(1);
  });

  it('takes a supplied secret from an environment variable, never from the command line', async () => {
    const secret = 'from-the-environment-0123456789abcdef';
    env = { ...env, OPS_SECRET: secret };
    const created = await cli(
      'clients',
      'create',
      '--name',
      'Batch',
      '--scopes',
      'groups:read',
      '--id',
      'batch',
      '--secret-env',
      'OPS_SECRET',
    );
    expect(created.code).toBe(0);
    expect(created.out).not.toContain(secret);
    const tooShort = await cli('clients', 'create', '--name', 'x', '--scopes', '', '--secret-env', 'NOPE');
    expect(tooShort.code).toBe(2);
    await withServer(async (url) => {
      expect((await tokenStatus(url, 'batch', secret)).status).toBe(200);
    });
  });

  it('rotates a secret (at once, or with grace), shows, and deletes', async () => {
    const created = JSON.parse(
      (await cli('clients', 'create', '--name', 'R', '--scopes', 'groups:read', '--id', 'rot')).out,
    ) as {
      client_secret: string;
    };
    const graceful = await cli('clients', 'rotate', 'rot', '--grace', '3600');
    expect(graceful.code).toBe(0);
    const second = JSON.parse(graceful.out) as { client_secret: string; previous_secrets_expire_at: string };
    expect(Date.parse(second.previous_secrets_expire_at)).toBeGreaterThan(Date.now() + 3_500_000);
    const shown = JSON.parse((await cli('clients', 'show', 'rot')).out) as { secret_versions: unknown[] };
    expect(shown.secret_versions).toHaveLength(2);
    await withServer(async (url) => {
      expect((await tokenStatus(url, 'rot', created.client_secret)).status).toBe(200);
      expect((await tokenStatus(url, 'rot', second.client_secret)).status).toBe(200);
    });
    const third = JSON.parse((await cli('clients', 'rotate', 'rot')).out) as { client_secret: string };
    await withServer(async (url) => {
      expect((await tokenStatus(url, 'rot', created.client_secret)).status).toBe(401);
      expect((await tokenStatus(url, 'rot', second.client_secret)).status).toBe(401);
      expect((await tokenStatus(url, 'rot', third.client_secret)).status).toBe(200);
    });
    expect((await cli('clients', 'delete', 'rot')).code).toBe(0);
    const again = await cli('clients', 'delete', 'rot');
    expect(again.code).toBe(1);
    expect(again.err).toContain('no OAuth client');
    await withServer(async (url) => {
      expect((await tokenStatus(url, 'rot', third.client_secret)).status).toBe(401);
    });
  });

  it('rotates the signing key: published at once, signing after the publish-ahead delay or at once', async () => {
    const kids = async () =>
      withServer(async (url) => {
        const jwks = (await (await fetch(`${url}/.well-known/jwks.json`)).json()) as {
          keys: { kid: string }[];
        };
        const token = await tokenStatus(url, 'ops-keys', secret);
        const signer = JSON.parse(
          Buffer.from(token.body.access_token.split('.')[0]!, 'base64url').toString(),
        ).kid;
        return { published: jwks.keys.map((key) => key.kid), signer };
      });
    const secret = (
      JSON.parse((await cli('clients', 'create', '--name', 'K', '--scopes', '', '--id', 'ops-keys')).out) as {
        client_secret: string;
      }
    ).client_secret;
    const before = await kids();
    const ahead = await cli('keys', 'rotate');
    expect(ahead.code).toBe(0);
    const scheduled = JSON.parse(ahead.out) as { kid: string; signs_from: string };
    expect(Date.parse(scheduled.signs_from)).toBeGreaterThan(Date.now() + 200_000);
    const afterAhead = await kids();
    expect(afterAhead.published).toEqual([...before.published, scheduled.kid]);
    expect(afterAhead.signer).toBe(before.signer);

    const now = JSON.parse((await cli('keys', 'rotate', '--immediate')).out) as { kid: string };
    const afterImmediate = await kids();
    expect(afterImmediate.signer).toBe(now.kid);
    expect(afterImmediate.published).toEqual(expect.arrayContaining([before.signer, now.kid]));
  });

  it('keys revoke KID: the signing key leaves JWKS at once and a new one signs; tokens it signed are refused', async () => {
    const secret = (
      JSON.parse(
        (await cli('clients', 'create', '--name', 'R', '--scopes', 'admin:clients', '--id', 'ops-revoke'))
          .out,
      ) as { client_secret: string }
    ).client_secret;
    const before = await withServer(async (url) => {
      const token = (await tokenStatus(url, 'ops-revoke', secret)).body.access_token as string;
      return {
        token,
        kid: JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()).kid as string,
      };
    });
    const revoked = await cli('keys', 'revoke', before.kid);
    expect(revoked.code).toBe(0);
    expect(JSON.parse(revoked.out)).toMatchObject({ revoked: before.kid });
    await withServer(async (url) => {
      const jwks = (await (await fetch(`${url}/.well-known/jwks.json`)).json()) as {
        keys: { kid: string }[];
      };
      expect(jwks.keys.map((k) => k.kid)).not.toContain(before.kid);
      const old = await fetch(`${url}/admin/oauth/clients`, {
        headers: { authorization: `Bearer ${before.token}` },
      });
      expect(old.status).toBe(401);
      const fresh = (await tokenStatus(url, 'ops-revoke', secret)).body.access_token as string;
      const ok = await fetch(`${url}/admin/oauth/clients`, { headers: { authorization: `Bearer ${fresh}` } });
      expect(ok.status).toBe(200);
    });
    expect((await cli('keys', 'revoke', 'no-such-kid')).code).toBe(1);
  }, 120_000);

  // The lock guards a PGlite directory: only the embedded run (no TEST_DATABASE_URL) has one.
  it.skipIf(Boolean(process.env.TEST_DATABASE_URL))(
    'refuses to open a PGlite directory a running server holds (lock file), and opens it once it stopped',
    async () => {
      await withServer(async () => {
        const refused = await cli('clients', 'list');
        expect(refused.code).toBe(1);
        expect(refused.err).toMatch(/in use by a running server \(pid \d+\)/);
      });
      expect((await cli('clients', 'list')).code).toBe(0);
    },
  );

  it('registers apps for the authorization-code flow, with the same validation as the API', async () => {
    const created = await cli(
      'clients',
      'create',
      '--name',
      'Phone app',
      '--id',
      'phone-app',
      '--type',
      'public',
      '--scopes',
      'openid profile',
      '--grants',
      'authorization_code refresh_token',
      '--redirect-uris',
      'http://127.0.0.1:7000/cb https://phone.example/cb',
      '--first-party',
    );
    expect(created.code, created.err).toBe(0);
    expect(JSON.parse(created.out)).toMatchObject({
      client_id: 'phone-app',
      token_endpoint_auth_method: 'none',
      first_party: true,
      redirect_uris: ['http://127.0.0.1:7000/cb', 'https://phone.example/cb'],
    });
    expect(JSON.parse(created.out).client_secret).toBeUndefined();
    const refused = await cli(
      'clients',
      'create',
      '--name',
      'Bad',
      '--scopes',
      'openid',
      '--grants',
      'authorization_code',
      '--redirect-uris',
      'http://bad.example/cb',
    );
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('https');
  });

  it('explains its usage and refuses unknown commands', async () => {
    expect((await cli('help')).code).toBe(0);
    expect((await cli('clients', 'frobnicate')).code).toBe(2);
    expect((await cli('clients', 'create', '--bogus')).code).toBe(2);
    expect((await cli('clients', 'rotate')).code).toBe(2);
  });

  it('runs as a program (npm run cli)', async () => {
    const { stdout } = await run(process.execPath, [CLI, 'clients', 'list', '--json'], {
      env: { ...process.env, ...env, LOG_LEVEL: 'silent' },
    });
    expect(JSON.parse(stdout).map((client: { client_id: string }) => client.client_id)).toContain('ops');
    const failed = await run(process.execPath, [CLI, 'nonsense'], { env: { ...process.env, ...env } }).catch(
      (error: { code: number }) => error,
    );
    expect((failed as { code: number }).code).toBe(2);
  });
});
