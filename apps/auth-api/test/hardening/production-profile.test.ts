import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConfigError,
  createHttpServer,
  createLogger,
  dataDirHolder,
  MemoryBus,
} from '@groupchat/service-kit';
import { freePort } from '@groupchat/testkit/auth-api';
import { afterAll, describe, expect, it } from 'vitest';
import { startAuthApi } from '../../src/boot.ts';
import { DEFAULT_DEMO_PASSWORD, loadAuthConfig } from '../../src/config.ts';

const SECRET = 'profile-test-signing-secret-0123456789abcdef';

describe('production profile (config)', () => {
  it('the embedded start on loopback is the demo profile and seeds the demo data', () => {
    const config = loadAuthConfig({});
    expect(config.profile).toBe('demo');
    expect(config.demo.seed).toBe(true);
    expect(config.operations.metrics.publicOpen).toBe(true);
  });

  it.each([
    ['DATABASE_URL', { DATABASE_URL: 'postgres://db.internal/auth' }],
    ['REDIS_URL', { REDIS_URL: 'redis://redis.internal:6379' }],
    ['a non-loopback HOST', { HOST: '0.0.0.0' }],
    ['a non-loopback ISSUER', { ISSUER: 'https://auth.example.com' }],
  ])('a start with %s is production: seeds nothing unless asked, /metrics not public', (_name, env) => {
    const config = loadAuthConfig({ ...env, SIGNING_KEY_ENCRYPTION_SECRET: SECRET });
    expect(config.profile).toBe('production');
    expect(config.demo.seed).toBe(false);
    expect(config.operations.metrics.publicOpen).toBe(false);
  });

  it('production refuses demo data on the default password, and a start without a key-encryption secret', () => {
    const base = { DATABASE_URL: 'postgres://db.internal/auth', SIGNING_KEY_ENCRYPTION_SECRET: SECRET };
    expect(() => loadAuthConfig({ ...base, SEED_DEMO_DATA: 'true' })).toThrow(/DEMO_PASSWORD/);
    expect(() =>
      loadAuthConfig({ ...base, SEED_DEMO_DATA: 'true', DEMO_PASSWORD: DEFAULT_DEMO_PASSWORD }),
    ).toThrow(ConfigError);
    // Told, with a password of its own: fine.
    expect(
      loadAuthConfig({ ...base, SEED_DEMO_DATA: 'true', DEMO_PASSWORD: 'a-password-of-our-own' }).demo.seed,
    ).toBe(true);
    expect(() => loadAuthConfig({ DATABASE_URL: 'postgres://db.internal/auth' })).toThrow(
      /SIGNING_KEY_ENCRYPTION_SECRET is required/,
    );
  });

  it('a secure cookie is __Host- prefixed; default allowed origins are the issuer and the web client only', () => {
    const config = loadAuthConfig({
      ISSUER: 'https://auth.example.com',
      PUBLIC_WEB_URL: 'https://chat.example.com/',
      SIGNING_KEY_ENCRYPTION_SECRET: SECRET,
    });
    expect(config.session.secureCookie).toBe(true);
    expect(config.session.cookieName).toBe('__Host-sid');
    expect(config.allowedOrigins).toEqual(['https://auth.example.com', 'https://chat.example.com']);
    expect(loadAuthConfig({}).session.cookieName).toBe('sid');
  });
});

describe('production profile (start)', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses to start when a platform admin or demo user still has the default password', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'auth-profile-'));
    dirs.push(dir);
    const dataDir = join(dir, 'auth');
    const port = await freePort();
    // An earlier demo start seeded this data with the default password…
    const demo = await startAuthApi(
      loadAuthConfig({ PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'silent' }),
      { bus: new MemoryBus(), logger: createLogger('auth-api', 'silent') },
    );
    expect(demo.core.config.profile).toBe('demo');
    await demo.close();
    // …the embedded start generated a key-sealing secret and kept it 0600 beside the data.
    expect(statSync(`${dataDir}.signing-key-secret`).mode & 0o777).toBe(0o600);
    // …and a start on the same data outside loopback (with that secret, as an operator would carry it
    // over) refuses, naming the accounts.
    const production = loadAuthConfig({
      PORT: String(port),
      DATA_DIR: dataDir,
      ISSUER: 'https://auth.example.com',
      SIGNING_KEY_ENCRYPTION_SECRET: readFileSync(`${dataDir}.signing-key-secret`, 'utf8').trim(),
      LOG_LEVEL: 'silent',
    });
    expect(production.demo.seed).toBe(false);
    await expect(
      startAuthApi(production, { bus: new MemoryBus(), logger: createLogger('auth-api', 'silent') }),
    ).rejects.toThrow(/admin@platform\.example/);
    // The refused start closed what it had opened: the directory is free again.
    expect(dataDirHolder(dataDir)).toBeNull();
  }, 180_000);

  it('a start that fails late (its port is taken) closes what it opened, and the next start works', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'auth-failed-start-'));
    dirs.push(dir);
    const dataDir = join(dir, 'auth');
    const blocker = createServer();
    const port = await new Promise<number>((resolve) =>
      blocker.listen(0, '127.0.0.1', () => resolve((blocker.address() as AddressInfo).port)),
    );
    const env = { PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'silent' };
    const start = () =>
      startAuthApi(loadAuthConfig(env), { bus: new MemoryBus(), logger: createLogger('auth-api', 'silent') });
    await expect(start()).rejects.toMatchObject({ code: 'EADDRINUSE' });
    expect(dataDirHolder(dataDir)).toBeNull();
    await new Promise<void>((resolve) => blocker.close(() => resolve()));
    // The database and the lock were released: the same directory starts again in this process.
    const running = await start();
    expect(dataDirHolder(dataDir)).toBe(process.pid);
    await running.close();
    expect(dataDirHolder(dataDir)).toBeNull();
  }, 180_000);
});

describe('/ready and /metrics', () => {
  it('/ready names the failing dependency without its host or error', async () => {
    const app = await createHttpServer({
      serviceName: 'probe',
      logger: createLogger('probe', 'silent'),
      readinessChecks: {
        database: async () => {
          throw new Error('connect ECONNREFUSED 10.1.2.3:5432');
        },
        cache: async () => {},
      },
    });
    const response = await app.inject({ method: 'GET', url: '/ready' });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({ checks: { database: 'unavailable', cache: 'ok' } });
    expect(response.body).toContain('database');
    expect(response.body).not.toContain('10.1.2.3');
    expect(response.body).not.toContain('ECONNREFUSED');
    await app.close();
  });

  it('METRICS_PORT serves /metrics on a listener of its own, and not on the public one', async () => {
    const config = loadAuthConfig({
      PORT: '0',
      METRICS_PORT: '0',
      ISSUER: 'https://auth.example.com',
      SIGNING_KEY_ENCRYPTION_SECRET: SECRET,
      LOG_LEVEL: 'silent',
    });
    const running = await startAuthApi(
      { ...config, database: { kind: 'pglite', dataDir: null } } as typeof config,
      { bus: new MemoryBus(), logger: createLogger('auth-api', 'silent') },
    );
    try {
      expect((await fetch(`${running.url}/metrics`)).status).toBe(404);
      const port = running.app.metricsAddress?.();
      expect(port).toBeGreaterThan(0);
      const scraped = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(scraped.status).toBe(200);
      expect(await scraped.text()).toContain('process_cpu_user_seconds_total');
    } finally {
      await running.close();
    }
  }, 120_000);

  it('a path with broken percent-encoding gets problem+json, not the framework error', async () => {
    const app = await createHttpServer({
      serviceName: 'probe',
      logger: createLogger('probe', 'silent'),
      readinessChecks: {},
    });
    app.get('/api/chat/groups/:id/messages', async () => ({ ok: true }));
    const response = await app.inject({ method: 'GET', url: '/api/chat/groups/%F0%9F/messages' });
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(response.json()).toMatchObject({ status: 400, code: 'bad_url' });
    await app.close();
  });
});
