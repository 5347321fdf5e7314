import { createLogger, MemoryBus } from '@groupchat/service-kit';
import { createTestDatabaseTarget } from '@groupchat/testkit';
import { freePort } from '@groupchat/testkit/auth-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningAuthApi, startAuthApi } from '../../src/boot.ts';
import { loadAuthConfig } from '../../src/config.ts';
import type { SigningKeyRepository, StoredKey } from '../../src/keys/repository.ts';
import { KeyService } from '../../src/keys/service.ts';
import {
  basic,
  DEMO,
  decodeJwt,
  demoIds,
  postForm,
  request,
  type TestAuthApi,
  type TokenBody,
} from './helpers.ts';

const TTL = 900;
const AHEAD = 300;

/**
 * Signing-key rotation on a running auth-api whose clock the test moves: the next key is published
 * before it signs, tokens signed by the old key keep verifying until they expire, and the old key
 * leaves JWKS only after its last token has expired.
 */
describe('signing key rotation (injected clock)', () => {
  let clock = Date.now();
  let running: RunningAuthApi;
  let drop = async () => {};
  let ids: Awaited<ReturnType<typeof demoIds>>;

  beforeAll(async () => {
    const target = await createTestDatabaseTarget('auth_keys');
    drop = target.drop;
    const port = await freePort();
    const config = loadAuthConfig({
      PORT: String(port),
      ISSUER: `http://127.0.0.1:${port}`,
      SERVICE_CLIENT_SECRET: DEMO.serviceClientSecret,
      SEED_DEMO_DATA: 'true',
      DEMO_PASSWORD: DEMO.password,
      ACCESS_TOKEN_TTL_SECONDS: String(TTL),
      SIGNING_KEY_PUBLISH_AHEAD_SECONDS: String(AHEAD),
      RATE_LIMIT_TOKEN_PER_CLIENT: '100000',
      // A server-backed start is the production profile, which requires the key secret.
      ...(target.target.kind === 'postgres'
        ? {
            DATABASE_URL: target.target.url,
            SIGNING_KEY_ENCRYPTION_SECRET: 'test-signing-key-secret-0123456789abcdef',
          }
        : {}),
    });
    const effective =
      config.database.kind === 'pglite'
        ? { ...config, database: { kind: 'pglite' as const, dataDir: null } }
        : config;
    running = await startAuthApi(effective as typeof config, {
      bus: new MemoryBus(),
      logger: createLogger('auth-api', 'silent'),
      now: () => clock,
    });
    ids = await demoIds({ running } as TestAuthApi);
  });
  afterAll(async () => {
    await running?.close();
    await drop();
  });

  const advance = (seconds: number) => {
    clock += seconds * 1000;
  };
  const kids = async () =>
    (
      (await (await fetch(`${running.url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] }
    ).keys.map((key) => key.kid);
  const token = async () => {
    const response = await postForm<TokenBody>(
      `${running.url}/oauth/token`,
      { grant_type: 'client_credentials' },
      { authorization: basic(DEMO.serviceClientId, DEMO.serviceClientSecret) },
    );
    expect(response.status).toBe(200);
    return response.body.access_token;
  };
  const kidOf = (jwt: string) => decodeJwt(jwt).header.kid as string;
  const groupStatus = async (jwt: string) =>
    (await request(`${running.url}/api/auth/groups/${ids.groupId}`, { token: jwt })).status;

  it('publishes the next key ahead, switches to it on activation, and retires the old one after its tokens', async () => {
    const t0 = clock;
    const before = await token();
    const k1 = kidOf(before);
    expect(await kids()).toEqual([k1]);

    // Rotation (what `npm run cli -- keys rotate` and the schedule do): published now, signs later.
    const { kid: k2, activatesAt } = await running.core.keys.rotate({ immediate: false });
    expect(activatesAt.getTime()).toBe(t0 + AHEAD * 1000);
    expect(await kids()).toEqual([k1, k2]);
    const stillOld = await token();
    expect(kidOf(stillOld)).toBe(k1);

    advance(AHEAD - 1); // t0 + 299 s: the last moment k1 signs
    const lastOld = await token();
    expect(kidOf(lastOld)).toBe(k1);

    advance(2); // t0 + 301 s: k2 signs
    const fresh = await token();
    expect(kidOf(fresh)).toBe(k2);
    expect(await groupStatus(fresh)).toBe(200);
    // Tokens signed by the old key still verify.
    expect(await groupStatus(before)).toBe(200);
    expect(await groupStatus(lastOld)).toBe(200);
    expect(await kids()).toEqual([k1, k2]);

    // Just before the last k1 token expires (issued at t0+299 s, exp t0+1199 s): k1 still published.
    clock = t0 + (AHEAD - 1 + TTL - 5) * 1000;
    expect(await groupStatus(lastOld)).toBe(200);
    expect(await kids()).toContain(k1);

    // After every k1 token has expired (+60 s of skew): k1 leaves JWKS.
    clock = t0 + (AHEAD + TTL + 61) * 1000;
    expect(await kids()).toEqual([k2]);
    expect(await groupStatus(lastOld)).toBe(401);
    expect(kidOf(await token())).toBe(k2);
  });

  it('an immediate rotation signs with the new key at once; older tokens keep verifying', async () => {
    const before = await token();
    const { kid } = await running.core.keys.rotate({ immediate: true });
    const after = await token();
    expect(kidOf(after)).toBe(kid);
    expect(kidOf(before)).not.toBe(kid);
    expect(await groupStatus(before)).toBe(200);
    expect(await groupStatus(after)).toBe(200);
    expect(await kids()).toEqual(expect.arrayContaining([kidOf(before), kid]));
  });
});

/** An in-memory signing-key repository with the same semantics as the SQL one. */
function memoryRepository(): SigningKeyRepository & { rows: StoredKey[] } {
  const rows: StoredKey[] = [];
  return {
    rows,
    async listPublished(now: Date) {
      return rows
        .filter((key) => key.expiresAt === null || key.expiresAt > now)
        .sort((a, b) => a.activatesAt.getTime() - b.activatesAt.getTime());
    },
    async insertAndSupersede(key: StoredKey, retireOthersAt: Date, othersExpireAt: Date) {
      for (const row of rows) {
        if (row.retiredAt === null) {
          row.retiredAt = retireOthersAt;
          row.expiresAt = othersExpireAt;
        }
      }
      rows.push({ ...key });
    },
    async deleteKey(kid: string) {
      const i = rows.findIndex((row) => row.kid === kid);
      if (i >= 0) rows.splice(i, 1);
    },
    async replacePrivate(kid: string, privateJwk: string) {
      for (const row of rows) if (row.kid === kid) row.privateJwk = privateJwk;
    },
    async deleteExpired(now: Date) {
      const before = rows.length;
      for (let i = rows.length - 1; i >= 0; i--)
        if (rows[i]!.expiresAt && rows[i]!.expiresAt! <= now) rows.splice(i, 1);
      return before - rows.length;
    },
  };
}

describe('scheduled key rotation (KeyService with a fake clock)', () => {
  it('rotates when the active key is SIGNING_KEY_ROTATE_EVERY_SECONDS old, and purges expired keys', async () => {
    let clock = Date.UTC(2030, 0, 1);
    const repository = memoryRepository();
    const keys = new KeyService({
      repository,
      logger: createLogger('keys', 'silent'),
      maxTokenTtlSeconds: TTL,
      publishAheadSeconds: AHEAD,
      rotateEverySeconds: 86_400,
      encryptionSecret: 'test-encryption-secret',
      now: () => clock,
    });
    await keys.start(10);
    try {
      const first = keys.signingKey().kid;
      expect(repository.rows[0]!.privateJwk).toMatch(/^v2:/); // encrypted at rest (HKDF-derived key)
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(keys.jwks().keys).toHaveLength(1); // not due yet

      clock += 86_400 * 1000;
      await waitFor(() => keys.jwks().keys.length === 2);
      const next = keys.jwks().keys[1]!.kid;
      expect(keys.signingKey().kid).toBe(first); // published ahead, not signing yet

      clock += (AHEAD + 1) * 1000;
      await keys.refresh();
      expect(keys.signingKey().kid).toBe(next);

      clock += (TTL + 60) * 1000;
      await waitFor(() => repository.rows.length === 1);
      expect(keys.jwks().keys.map((key) => key.kid)).toEqual([next]);
    } finally {
      keys.stop();
    }
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
