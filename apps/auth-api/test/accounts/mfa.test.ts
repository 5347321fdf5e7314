import { DEMO, startTestAuthApi, type TestAuthApi } from '@groupchat/testkit/auth-api';
import { awayFromTotpStepEdge, TOTP_STEP_MS as STEP_MS } from '@groupchat/testkit/totp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCode } from '../../src/mfa/totp.ts';
import {
  expectAuthenticationRequired,
  expectProblem,
  sessionCookieOf,
  setCookieLine,
  TestClient,
} from '../support/test-client.ts';

describe('TOTP two-factor sign-in', () => {
  let api: TestAuthApi;
  let http: TestClient;
  const secrets: string[] = [];
  const codes: string[] = [];

  beforeAll(async () => {
    api = await startTestAuthApi({
      env: {
        RATE_LIMIT_LOGIN_PER_IP: '1000',
        RATE_LIMIT_LOGIN_PER_EMAIL: '1000',
        RATE_LIMIT_MFA_PER_IP: '1000',
        RATE_LIMIT_MFA_PER_USER: '1000',
        SIGNING_KEY_ENCRYPTION_SECRET: 'mfa-test-at-rest-secret-0123456789',
      },
    });
    http = new TestClient(api.url);
  });

  afterAll(async () => {
    // Secrets, codes and recovery codes only ever in the answers meant to carry them; never in audit.
    const audit = JSON.stringify(await api.running.core.db.selectFrom('audit_events').selectAll().execute());
    for (const secret of secrets) expect(audit).not.toContain(secret);
    for (const code of codes) expect(audit).not.toContain(code);
    await api?.close();
  });

  const password = (email: string) =>
    http.post('/api/auth/login', { body: { email, password: DEMO.password } });
  const second = (mfa_token: string, code: string) =>
    http.post('/api/auth/login/mfa', { body: { mfa_token, code } });

  /** Bob with TOTP enabled (by a code of the previous step, so the current and next steps stay unused). */
  async function enableFor(email: string) {
    const login = await http.login(email, DEMO.password);
    const setup = await http.post('/api/auth/mfa/totp/setup', { token: login.token });
    expect(setup.status, setup.text).toBe(200);
    const { secret, otpauth_uri } = setup.body;
    secrets.push(secret);
    expect(secret).toMatch(/^[A-Z2-7]{32,}$/);
    expect(otpauth_uri).toMatch(/^otpauth:\/\/totp\//);
    expect(otpauth_uri).toContain(`secret=${secret}`);
    expect(otpauth_uri).toContain('algorithm=SHA1');
    expect(otpauth_uri).toContain('digits=6');
    expect(otpauth_uri).toContain('period=30');
    // Not active yet: login is one step still.
    expect((await password(email)).body.access_token).toEqual(expect.any(String));
    expectProblem(
      await http.post('/api/auth/mfa/totp/enable', { token: login.token, body: { code: '000000' } }),
      400,
      'invalid_mfa_code',
    );
    await awayFromTotpStepEdge();
    const enable = await http.post('/api/auth/mfa/totp/enable', {
      token: login.token,
      body: { code: totpCode(secret, Date.now() - STEP_MS) },
    });
    expect(enable.status, enable.text).toBe(200);
    const recovery: string[] = enable.body.recovery_codes;
    codes.push(...recovery);
    return { secret, recovery, token: login.token };
  }

  it('setup, enable (10 recovery codes, stored hashed, secret encrypted), two-step login, each code once', async () => {
    const { secret, recovery, token } = await enableFor(DEMO.users.bob);
    expect(recovery).toHaveLength(10);
    expect(new Set(recovery).size).toBe(10);
    const user = (await http.get('/api/auth/me', { token })).body;
    expect(user.mfa_enabled).toBe(true);
    const stored = await api.running.core.db
      .selectFrom('totp_credentials')
      .selectAll()
      .where('user_id', '=', user.id)
      .executeTakeFirstOrThrow();
    expect(stored.sealed_secret).toMatch(/^v2:/);
    expect(stored.sealed_secret).not.toContain(secret);
    const hashes = await api.running.core.db
      .selectFrom('recovery_codes')
      .select('code_hash')
      .where('user_id', '=', user.id)
      .execute();
    expect(hashes).toHaveLength(10);
    for (const { code_hash } of hashes) expect(recovery).not.toContain(code_hash);
    expectProblem(await http.post('/api/auth/mfa/totp/setup', { token }), 409, 'mfa_already_enabled');

    // Step one: no token, no cookie.
    const first = await password(DEMO.users.bob);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ mfa_required: true, mfa_token: expect.any(String), expires_in: 300 });
    expect(setCookieLine(first)).toBeUndefined();
    // The code of the step used to enable is spent already.
    expectProblem(
      await second(first.body.mfa_token, totpCode(secret, Date.now() - STEP_MS)),
      401,
      'invalid_mfa_code',
    );
    await awayFromTotpStepEdge();
    const code = totpCode(secret, Date.now());
    const done = await second(first.body.mfa_token, code);
    expect(done.status, done.text).toBe(200);
    expect(done.body.user).toMatchObject({ email: DEMO.users.bob, mfa_enabled: true });
    expect(sessionCookieOf(done)).toBeTruthy();
    expect((await http.get('/api/auth/me', { token: done.body.access_token })).status).toBe(200);
    // The mfa_token is single use.
    expectProblem(
      await second(first.body.mfa_token, totpCode(secret, Date.now() + STEP_MS)),
      401,
      'invalid_mfa_token',
    );
    // The same TOTP code again, on a new attempt: refused (accepted once).
    const again = await password(DEMO.users.bob);
    expectProblem(await second(again.body.mfa_token, code), 401, 'invalid_mfa_code');
    // The next step (+1) is within the window and unused.
    const next = await second(again.body.mfa_token, totpCode(secret, Date.now() + STEP_MS));
    expect(next.status, next.text).toBe(200);
    // Two steps ahead is outside the window.
    const far = await password(DEMO.users.bob);
    expectProblem(
      await second(far.body.mfa_token, totpCode(secret, Date.now() + 2 * STEP_MS)),
      401,
      'invalid_mfa_code',
    );

    // A recovery code signs in once, in any case and with or without dashes.
    const viaRecovery = await second(far.body.mfa_token, recovery[0]!.toUpperCase().replace(/-/g, ''));
    expect(viaRecovery.status, viaRecovery.text).toBe(200);
    const reuse = await password(DEMO.users.bob);
    expectProblem(await second(reuse.body.mfa_token, recovery[0]!), 401, 'invalid_mfa_code');
    expect((await second(reuse.body.mfa_token, recovery[1]!)).status).toBe(200);

    // Disable: a wrong code is 400, a recovery code works; afterwards login is one step again.
    expectProblem(
      await http.delete('/api/auth/mfa/totp', { token, body: { code: '123456' } }),
      400,
      'invalid_mfa_code',
    );
    expectProblem(
      await http.delete('/api/auth/mfa/totp', { token, body: { code: recovery[0]! } }),
      400,
      'invalid_mfa_code',
    );
    expectProblem(await http.delete('/api/auth/mfa/totp', { token, body: {} }), 400);
    const disabled = await http.delete('/api/auth/mfa/totp', { token, body: { code: recovery[2]! } });
    expect(disabled.status, disabled.text).toBe(204);
    const plain = await password(DEMO.users.bob);
    expect(plain.body.access_token).toEqual(expect.any(String));
    expect(plain.body.user.mfa_enabled).toBe(false);
    expectProblem(
      await http.delete('/api/auth/mfa/totp', { token, body: { code: recovery[3]! } }),
      409,
      'mfa_not_enabled',
    );
    const types = (await api.running.core.db.selectFrom('audit_events').select('type').execute()).map(
      (e) => e.type,
    );
    expect(types).toEqual(
      expect.arrayContaining(['user.mfa_enabled', 'user.mfa_disabled', 'user.mfa_failed']),
    );
  });

  it('five wrong codes end the attempt: even the right code is refused after them', async () => {
    const { secret } = await enableFor(DEMO.users.carol);
    const attempt = await password(DEMO.users.carol);
    for (let i = 0; i < 4; i++)
      expectProblem(await second(attempt.body.mfa_token, '000000'), 401, 'invalid_mfa_code');
    expectProblem(await second(attempt.body.mfa_token, '000001'), 401, 'invalid_mfa_token');
    await awayFromTotpStepEdge();
    expectProblem(
      await second(attempt.body.mfa_token, totpCode(secret, Date.now())),
      401,
      'invalid_mfa_token',
    );
    // A fresh attempt works.
    const fresh = await password(DEMO.users.carol);
    expect((await second(fresh.body.mfa_token, totpCode(secret, Date.now()))).status).toBe(200);
  });

  it('answers 400 for malformed input, 401 without a user, 401 for an unknown mfa_token', async () => {
    expectProblem(await http.post('/api/auth/login/mfa', { body: { mfa_token: 'x' } }), 400);
    expectProblem(await second('unknown-token', '123456'), 401, 'invalid_mfa_token');
    expectAuthenticationRequired(await http.post('/api/auth/mfa/totp/setup'));
    expectAuthenticationRequired(await http.post('/api/auth/mfa/totp/enable', { body: { code: '123456' } }));
    const service = api.running.core.tokenIssuer.issueServiceToken(
      DEMO.serviceClientId,
      [],
      'auth-api',
    ).access_token;
    expectProblem(await http.post('/api/auth/mfa/totp/setup', { token: service }), 403, 'user_required');
    const mallory = await http.login(DEMO.users.mallory, DEMO.password);
    expectProblem(
      await http.post('/api/auth/mfa/totp/enable', { token: mallory.token, body: { code: '123456' } }),
      409,
      'mfa_not_set_up',
    );
    expectProblem(
      await http.post('/api/auth/login/mfa', {
        body: { mfa_token: 'x', code: '123456' },
        headers: { 'sec-fetch-site': 'cross-site' },
      }),
      403,
      'cross_site_request',
    );
  });
});

describe('MFA code limits', () => {
  let api: TestAuthApi;
  afterAll(async () => api?.close());

  it('limits second-step attempts per address: 429 with Retry-After', { timeout: 120_000 }, async () => {
    api = await startTestAuthApi({ env: { RATE_LIMIT_MFA_PER_IP: '3' } });
    const http = new TestClient(api.url);
    for (let i = 0; i < 3; i++)
      expect(
        (await http.post('/api/auth/login/mfa', { body: { mfa_token: 'nope', code: '123456' } })).status,
      ).toBe(401);
    const limited = await http.post('/api/auth/login/mfa', { body: { mfa_token: 'nope', code: '123456' } });
    expectProblem(limited, 429, 'rate_limited');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });
});
