import { createHmac } from 'node:crypto';
import { MemoryBus, uuidv7 } from '@groupchat/service-kit';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { Agent } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { captureLogger, json, startFakeServer } from '../test-support/fake-server.ts';
import { RevokedTokens } from './revocations.ts';
import { SigningKeysUnavailableError, TokenRejectedError, UserTokenVerifier } from './user-token-verifier.ts';

type Fake = Awaited<ReturnType<typeof startFakeServer>>;
type Key = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

const ISSUER = 'http://auth.test';
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('UserTokenVerifier', () => {
  let server: Fake;
  let agent: Agent;
  let signingKey: Key;
  let publicJwk: JWK;
  let otherKey: Key;
  let jwksDown: boolean;
  let revocations: RevokedTokens;
  const user = { sub: uuidv7(), org_id: uuidv7(), sid: uuidv7() };

  beforeAll(async () => {
    agent = new Agent();
    const pair = await generateKeyPair('ES256', { extractable: true });
    signingKey = pair.privateKey;
    publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    otherKey = (await generateKeyPair('ES256')).privateKey;
    server = await startFakeServer((_request, response) =>
      jwksDown ? json(response, 503, {}) : json(response, 200, { keys: [publicJwk] }),
    );
  });
  afterAll(async () => {
    await agent.close();
    await server.close();
  });
  beforeEach(() => {
    jwksDown = false;
    server.requests.length = 0;
    revocations = new RevokedTokens({ bus: new MemoryBus(), logger: captureLogger().logger });
  });

  const verifier = (overrides: Partial<ConstructorParameters<typeof UserTokenVerifier>[0]> = {}) =>
    new UserTokenVerifier({
      jwksUrl: `${server.url}/.well-known/jwks.json`,
      issuer: ISSUER,
      audience: 'chat-api',
      clockToleranceSeconds: 5,
      dispatcher: agent,
      revocations,
      logger: captureLogger().logger,
      timeoutMs: 1_000,
      ...overrides,
    });

  const token = async (
    claims: Record<string, unknown> = {},
    header: Record<string, unknown> = {},
    key: Key = signingKey,
    expiresIn: string | number = '15m',
  ) =>
    new SignJWT({ ...user, client_id: 'groupchat-web', scope: '', jti: uuidv7(), ...claims })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'k1', ...header })
      .setIssuer(ISSUER)
      .setAudience(['auth-api', 'chat-api'])
      .setIssuedAt()
      .setExpirationTime(expiresIn)
      .sign(key);

  const rejects = async (v: UserTokenVerifier, jwt: string) => {
    const error = await v.verify(jwt).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error, 'token should be refused').toBeInstanceOf(TokenRejectedError);
    return (error as Error).message;
  };

  it('accepts a user access token and fetches the JWKS once for many verifications', async () => {
    const v = verifier();
    const jwt = await token();
    const principal = await v.verify(jwt);
    expect(principal).toMatchObject({ userId: user.sub, orgId: user.org_id, sessionId: user.sid });
    for (let i = 0; i < 50; i++) await v.verify(await token());
    expect(server.requests).toHaveLength(1);
  });

  it('refuses forged, foreign and malformed tokens', async () => {
    const v = verifier();
    const good = await token();
    const [h, p] = good.split('.');
    // alg none
    expect(await rejects(v, `${b64({ alg: 'none', typ: 'at+jwt' })}.${p}.`)).toBe('algorithm not allowed');
    // HS256 with the public key as the secret (algorithm confusion)
    const hsInput = `${b64({ alg: 'HS256', typ: 'at+jwt', kid: 'k1' })}.${p}`;
    const hsSig = createHmac('sha256', JSON.stringify(publicJwk)).update(hsInput).digest('base64url');
    expect(await rejects(v, `${hsInput}.${hsSig}`)).toBe('algorithm not allowed');
    // right kid, wrong key
    expect(await rejects(v, await token({}, {}, otherKey))).toBe('bad signature');
    // a payload changed after signing
    const tampered = b64({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), org_id: uuidv7() });
    expect(await rejects(v, `${h}.${tampered}.${good.split('.')[2]}`)).toBe('bad signature');
    // wrong audience, issuer, type
    expect(
      await rejects(
        v,
        await new SignJWT({ ...user, jti: uuidv7() })
          .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' })
          .setIssuer(ISSUER)
          .setAudience('auth-api')
          .setIssuedAt()
          .setExpirationTime('5m')
          .sign(signingKey),
      ),
    ).toContain('aud');
    expect(
      await rejects(
        v,
        await new SignJWT({ ...user, jti: uuidv7() })
          .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' })
          .setIssuer('http://evil.test')
          .setAudience('chat-api')
          .setIssuedAt()
          .setExpirationTime('5m')
          .sign(signingKey),
      ),
    ).toContain('iss');
    expect(await rejects(v, await token({}, { typ: 'JWT' }))).toContain('typ');
    // expired (beyond the clock tolerance)
    expect(await rejects(v, await token({}, {}, signingKey, Math.floor(Date.now() / 1000) - 60))).toBe(
      'token expired',
    );
    // garbage
    expect(await rejects(v, 'not.a.token')).toBe('malformed token');
    expect(await rejects(v, 'garbage')).toBe('malformed token');
    expect(await rejects(v, 'x'.repeat(9_000))).toBe('token too long');
  });

  it('refuses a client-credentials token even when it names chat-api', async () => {
    const v = verifier();
    const service = await new SignJWT({ client_id: 'chat-api-service', scope: 'groups:read', jti: uuidv7() })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' })
      .setSubject('chat-api-service')
      .setIssuer(ISSUER)
      .setAudience('chat-api')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(signingKey);
    expect(await rejects(v, service)).toBe('not a user access token');
    expect(await rejects(v, await token({ org_id: undefined }))).toBe('not a user access token');
    expect(await rejects(v, await token({ sub: 'not-a-uuid' }))).toBe('malformed subject or organization');
  });

  it('exposes the token’s scopes, none when it has no scope; a non-string scope is refused', async () => {
    const v = verifier();
    const app = await v.verify(await token({ client_id: 'some-app', scope: 'openid  groups:read' }));
    expect([...app.scopes].sort()).toEqual(['groups:read', 'openid']);
    expect(app.clientId).toBe('some-app');
    expect([...(await v.verify(await token({ scope: undefined }))).scopes]).toEqual([]);
    expect(await rejects(v, await token({ scope: ['groups:write'] }))).toBe('malformed scope');
  });

  it('refuses revoked tokens and tokens of ended sessions', async () => {
    const v = verifier();
    const jti = uuidv7();
    const jwt = await token({ jti });
    await v.verify(jwt);
    const exp = Math.floor(Date.now() / 1000) + 900;
    revocations.apply({ type: 'token_revoked', jti, exp });
    expect(await rejects(v, jwt)).toBe('token revoked');
    const other = await token();
    await v.verify(other);
    revocations.apply({ type: 'session_ended', sid: user.sid, user_id: user.sub, exp });
    expect(await rejects(v, other)).toBe('token revoked');
    expect(await rejects(v, await token())).toBe('token revoked');
    expect((await v.verify(await token({ sid: uuidv7() }))).userId).toBe(user.sub);
  });

  it('remembers a verified token only until it expires', async () => {
    let now = Date.now();
    const v = verifier({ now: () => now, clockToleranceSeconds: 0 });
    const jwt = await token({}, {}, signingKey, '60s');
    expect((await v.verify(jwt)).userId).toBe(user.sub);
    expect((await v.verify(jwt)).userId).toBe(user.sub);
    now += 61_000;
    expect(await rejects(v, jwt)).toBe('token expired');
  });

  it('refetches the JWKS for an unknown kid, at most once per cooldown', async () => {
    const v = verifier({ cooldownMs: 60_000 });
    await v.verify(await token());
    for (let i = 0; i < 5; i++)
      expect(await rejects(v, await token({}, { kid: 'unknown' }))).toBe('unknown signing key');
    // The first unknown kid arrived inside the cooldown of the initial fetch: no refetch at all.
    expect(server.requests).toHaveLength(1);
    const rotated = verifier({ cooldownMs: 0 });
    await rotated.verify(await token());
    await rejects(rotated, await token({}, { kid: 'unknown' }));
    expect(server.requests).toHaveLength(3);
  });

  it('keeps verifying with the keys it has while the JWKS cannot be refreshed', async () => {
    const v = verifier({ cacheMaxAgeMs: 0 });
    await v.verify(await token());
    jwksDown = true;
    for (let i = 0; i < 5; i++) expect((await v.verify(await token())).userId).toBe(user.sub);
  });

  it('never having had the keys, reports them unavailable (503), not the token as bad', async () => {
    jwksDown = true;
    const error = await verifier()
      .verify(await token())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SigningKeysUnavailableError);
    jwksDown = false;
  });
});
