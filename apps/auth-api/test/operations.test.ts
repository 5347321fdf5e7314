import { DEMO, startTestAuthApi, type TestAuthApi } from '@groupchat/testkit/auth-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

describe('auth-api operations', () => {
  let api: TestAuthApi;
  beforeAll(async () => {
    api = await startTestAuthApi();
  });
  afterAll(async () => {
    await api?.close();
  });

  it('answers /health and echoes a request id', async () => {
    const response = await fetch(`${api.url}/health`, { headers: { 'x-request-id': 'abc-123' } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
    expect(response.headers.get('x-request-id')).toBe('abc-123');
  });

  it('generates a request id when none or a malformed one is sent', async () => {
    const response = await fetch(`${api.url}/health`, { headers: { 'x-request-id': 'bad id with spaces' } });
    const id = response.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('is ready when the database and a signing key are usable', async () => {
    const response = await fetch(`${api.url}/ready`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      status: 'ready',
      checks: { database: 'ok', signing_key: 'ok' },
    });
  });

  it('serves OpenAPI generated from the route schemas', async () => {
    const response = await fetch(`${api.url}/docs/json`);
    expect(response.status).toBe(200);
    const document = (await response.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(document.openapi).toMatch(/^3\./);
    expect(document.paths['/health']).toBeDefined();
  });

  it('answers unknown routes with problem+json', async () => {
    const response = await fetch(`${api.url}/nope`);
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(await response.json()).toMatchObject({ status: 404, title: 'Not Found', code: 'route_not_found' });
  });

  it('exposes Prometheus metrics behind the bearer secret only', async () => {
    const response = await fetch(`${api.url}/metrics`, {
      headers: { authorization: `Bearer ${DEMO.metricsToken}` },
    });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('http_request_duration_seconds');
    const anonymous = await fetch(`${api.url}/metrics`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('content-type')).toContain('application/problem+json');
    const wrong = await fetch(`${api.url}/metrics`, {
      headers: { authorization: `Bearer ${DEMO.metricsToken.replace(/.$/, 'X')}` },
    });
    expect(wrong.status).toBe(401);
  });
});
