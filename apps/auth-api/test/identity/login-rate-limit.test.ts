import { DEMO, startTestAuthApi, type TestAuthApi } from '@groupchat/testkit/auth-api';
import { afterEach, describe, expect, it } from 'vitest';
import { type ApiResponse, expectProblem, TestClient } from '../support/test-client.ts';

function expectRateLimited(response: ApiResponse): void {
  expectProblem(response, 429, 'rate_limited');
  const retryAfter = Number(response.headers.get('retry-after'));
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
}

describe('login rate limits', () => {
  let api: TestAuthApi | undefined;
  afterEach(async () => {
    await api?.close();
    api = undefined;
  });

  it('limits attempts per email: 429 with Retry-After, even for the right password; other emails go on', async () => {
    api = await startTestAuthApi({
      env: { RATE_LIMIT_LOGIN_PER_EMAIL: '3', RATE_LIMIT_LOGIN_PER_IP: '100' },
    });
    const http = new TestClient(api.url);
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const wrong = await http.post('/api/auth/login', {
        body: { email: DEMO.users.bob, password: 'guess-123456' },
      });
      expect(wrong.status).toBe(401);
    }
    expectRateLimited(
      await http.post('/api/auth/login', { body: { email: DEMO.users.bob, password: DEMO.password } }),
    );
    // The same account under another spelling is the same email.
    expectRateLimited(
      await http.post('/api/auth/login', { body: { email: 'BOB@acme.example', password: DEMO.password } }),
    );
    const carol = await http.post('/api/auth/login', {
      body: { email: DEMO.users.carol, password: DEMO.password },
    });
    expect(carol.status).toBe(200);
  });

  it('limits attempts per client IP, whatever the emails', async () => {
    api = await startTestAuthApi({
      env: { RATE_LIMIT_LOGIN_PER_EMAIL: '100', RATE_LIMIT_LOGIN_PER_IP: '4' },
    });
    const http = new TestClient(api.url);
    for (let attempt = 0; attempt < 4; attempt += 1) {
      const response = await http.post('/api/auth/login', {
        body: { email: `user${attempt}@nowhere.example`, password: 'guess-123456' },
      });
      expect(response.status).toBe(401);
    }
    expectRateLimited(
      await http.post('/api/auth/login', { body: { email: DEMO.users.carol, password: DEMO.password } }),
    );
  });
});
