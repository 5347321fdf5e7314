/**
 * Real client addresses: behind the web client's same-origin server every browser has its own limit
 * bucket, and nobody chooses their address by sending X-Forwarded-For. Distinct clients are distinct
 * loopback source addresses (127.0.0.2, 127.0.0.3, …: Linux routes all of 127/8 to lo).
 */

import { addressKey } from '@groupchat/service-kit';
import { startTestAuthApi, type TestAuthApi } from '@groupchat/testkit/auth-api';
import { startWebServer, type WebServer } from '@groupchat/web/server';
import { Agent, fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const agents = new Map<string, Agent>();
function from(address: string): Agent {
  let agent = agents.get(address);
  if (!agent) {
    agent = new Agent({ localAddress: address });
    agents.set(address, agent);
  }
  return agent;
}

async function badLogin(base: string, source: string, email: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${base}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ email, password: 'wrong-password-123' }),
    dispatcher: from(source),
  });
  return { status: response.status, retryAfter: response.headers.get('retry-after') };
}

let auth: TestAuthApi;
let web: WebServer;
beforeAll(async () => {
  auth = await startTestAuthApi({
    env: {
      // The web server connects from 127.0.0.1: the only proxy auth-api believes.
      TRUST_PROXY: '127.0.0.1',
      RATE_LIMIT_LOGIN_PER_IP: '5',
      RATE_LIMIT_LOGIN_PER_EMAIL: '1000',
      RATE_LIMIT_REGISTER_PER_IP: '3',
      RATE_LIMIT_REGISTER_PER_EMAIL: '2',
    },
  });
  web = await startWebServer({ port: 0, authApiUrl: auth.url, chatApiUrl: 'http://127.0.0.1:9' });
}, 240_000);
afterAll(async () => {
  await web?.close();
  await auth?.close();
  for (const agent of agents.values()) await agent.close();
});

describe('behind the web server', () => {
  it('each browser has its own login bucket; a forged X-Forwarded-For changes nothing', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) {
      // Every attempt claims another address: the web server replaces the header with the real one.
      const result = await badLogin(web.url, '127.0.0.2', `user${i}@x.example`, {
        'x-forwarded-for': `203.0.113.${i}`,
      });
      statuses.push(result.status);
    }
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.slice(5)).toEqual([429, 429]);
    // Another browser through the same server, at the same moment: not limited.
    expect((await badLogin(web.url, '127.0.0.3', 'someone@x.example')).status).toBe(401);
  });
});

describe('directly at auth-api', () => {
  it('X-Forwarded-For from a peer that is not a trusted proxy is ignored', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++)
      statuses.push(
        (await badLogin(auth.url, '127.0.0.4', `d${i}@x.example`, { 'x-forwarded-for': `198.51.100.${i}` }))
          .status,
      );
    expect(statuses.at(-1)).toBe(429);
    expect((await badLogin(auth.url, '127.0.0.5', 'other@x.example')).status).toBe(401);
  });

  it('IPv6 clients reported by the trusted proxy are limited per /64', async () => {
    // 127.0.0.1 is the trusted proxy: its X-Forwarded-For is believed.
    const v6 = (host: string, email: string) =>
      badLogin(auth.url, '127.0.0.1', email, { 'x-forwarded-for': `2001:db8:1:2:${host}` });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await v6(`${i + 1}:0:0:${i}`, `v6-${i}@x.example`)).status);
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses[5]).toBe(429); // six addresses of one /64: one bucket
    const elsewhere = await badLogin(auth.url, '127.0.0.1', 'v6-other@x.example', {
      'x-forwarded-for': '2001:db8:1:3::1',
    });
    expect(elsewhere.status).toBe(401); // the next /64 is someone else
  });
});

describe('registration limits', () => {
  const register = (source: string, email: string) =>
    fetch(`${auth.url}/api/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        email,
        password: 'a-good-password',
        display_name: 'R',
        org_name: `Org ${email}`,
      }),
      dispatcher: from(source),
    });

  it('per address: 429 with Retry-After before any Argon2 work; another address goes on', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await register('127.0.0.6', `reg${i}@r.example`)).status);
    expect(statuses).toEqual([201, 201, 201, 429]);
    const refused = await register('127.0.0.6', 'reg-late@r.example');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    // Nothing stored by the refused request: the email is still free for someone else.
    expect((await register('127.0.0.7', 'reg-late@r.example')).status).toBe(201);
  });

  it('per email: the same address tried from many places is limited; other emails are not', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++)
      statuses.push((await register(`127.0.1.${i + 1}`, 'popular@r.example')).status);
    expect(statuses).toEqual([201, 409, 429]);
    expect((await register('127.0.1.9', 'unpopular@r.example')).status).toBe(201);
  });
});

describe('addressKey', () => {
  it('keeps IPv4 whole, maps IPv4-mapped IPv6 to IPv4, cuts IPv6 to its /64', () => {
    expect(addressKey('192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:DB8:1:2::')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
  });
});
