import { DEMO, startTestAuthApi, type TestAuthApi } from '@groupchat/testkit/auth-api';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let auth: TestAuthApi;
let serviceToken: string;

async function json(method: string, url: string, token?: string, body?: unknown) {
  const response = await fetch(url, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

async function feed(cursor?: string) {
  const query = cursor ? `?cursor=${encodeURIComponent(cursor)}` : '';
  return json('GET', `${auth.url}/internal/change-feed${query}`, serviceToken);
}

/**
 * The feed until it holds `count` changes after `cursor` (a read answers nothing while another feed writer
 * is still in flight: the contract's bound is 5 s, and so is this wait).
 */
async function feedUntil(cursor: string, count: number) {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const page = await feed(cursor);
    if (page.body.changes.length >= count || Date.now() > deadline) return page;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function login(email: string) {
  const result = await json('POST', `${auth.url}/api/auth/login`, undefined, {
    email,
    password: DEMO.password,
  });
  expect(result.status).toBe(200);
  return result.body as { access_token: string; user: { id: string } };
}

beforeAll(async () => {
  auth = await startTestAuthApi();
  const token = await fetch(`${auth.url}/oauth/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${DEMO.serviceClientId}:${DEMO.serviceClientSecret}`).toString('base64')}`,
    },
    body: 'grant_type=client_credentials',
  });
  serviceToken = ((await token.json()) as { access_token: string }).access_token;
}, 240_000);
afterAll(async () => {
  await auth?.close();
});

describe('change feed', () => {
  it('serves ended sessions, removed members and revoked clients in order, after a cursor; services only', async () => {
    const start = await feed();
    expect(start.status).toBe(200);
    const cursor = start.body.next_cursor as string;
    const bob = await login(DEMO.users.bob);
    const carol = await login(DEMO.users.carol);
    expect((await json('POST', `${auth.url}/api/auth/logout`, bob.access_token)).status).toBe(204);
    const groups = await json('GET', `${auth.url}/api/auth/groups`, carol.access_token);
    const general = groups.body.groups.find((g: { name: string }) => g.name === 'general').id;
    expect(
      (
        await json(
          'DELETE',
          `${auth.url}/api/auth/groups/${general}/members/${carol.user.id}`,
          carol.access_token,
        )
      ).status,
    ).toBe(204);
    const page = await feedUntil(cursor, 2);
    const events = page.body.changes.map((c: { event: { type: string } }) => c.event);
    expect(events).toEqual([
      expect.objectContaining({ type: 'session_ended', user_id: bob.user.id }),
      expect.objectContaining({ type: 'member_removed', group_id: general, user_id: carol.user.id }),
    ]);
    // From the returned cursor: nothing again.
    expect((await feed(page.body.next_cursor)).body.changes).toEqual([]);
    // Not for users, and a bad cursor is a 400.
    const asUser = await json('GET', `${auth.url}/internal/change-feed`, carol.access_token);
    expect(asUser.status).toBe(403);
    expect((await json('GET', `${auth.url}/internal/change-feed`)).status).toBe(401);
    expect((await feed('not-a-cursor')).status).toBe(400);
  });
});

describe.skipIf(!process.env.TEST_DATABASE_URL)('change feed order (PostgreSQL)', () => {
  it('a row of a transaction still open is not passed over by a later one that committed first', async () => {
    const url = auth.env.DATABASE_URL!;
    const slow = new pg.Client({ connectionString: url });
    const fast = new pg.Client({ connectionString: url });
    await slow.connect();
    await fast.connect();
    try {
      const cursor = (await feed()).body.next_cursor as string;
      await slow.query('begin');
      await slow.query(
        "insert into revocations (id, kind, expires_at) values ('slow-jti', 'token', now() + interval '1 hour')",
      );
      await fast.query(
        "insert into revocations (id, kind, expires_at) values ('fast-jti', 'token', now() + interval '1 hour')",
      );
      // The later id committed first: a bigserial cursor would move past the slow one now.
      const during = await feed(cursor);
      expect(during.body.changes).toEqual([]);
      await slow.query('commit');
      const after = await feedUntil(during.body.next_cursor, 2);
      const jtis = after.body.changes.map((c: { event: { jti: string } }) => c.event.jti);
      expect(jtis.sort()).toEqual(['fast-jti', 'slow-jti']);
    } finally {
      await slow.end();
      await fast.end();
    }
  });

  it('a long transaction that writes no change (here, or in another database) holds nothing back', async () => {
    const url = auth.env.DATABASE_URL!;
    const here = new pg.Client({ connectionString: url });
    const elsewhere = new pg.Client({ connectionString: url.replace(/\/[^/?]+(\?|$)/, '/postgres$1') });
    const other = new pg.Client({ connectionString: url });
    await Promise.all([here.connect(), elsewhere.connect(), other.connect()]);
    try {
      const cursor = (await feed()).body.next_cursor as string;
      // Two transactions with transaction ids that stay open: a report, a migration, a forgotten psql.
      for (const client of [here, elsewhere]) {
        await client.query('begin');
        await client.query('select pg_current_xact_id()');
      }
      await other.query(
        "insert into revocations (id, kind, expires_at) values ('while-open-jti', 'token', now() + interval '1 hour')",
      );
      const page = await feed(cursor);
      expect(page.body.changes.map((c: { event: { jti: string } }) => c.event.jti)).toEqual([
        'while-open-jti',
      ]);
    } finally {
      for (const client of [here, elsewhere]) await client.query('rollback').catch(() => {});
      await Promise.all([here.end(), elsewhere.end(), other.end()]);
    }
  });
});

describe('no stale trust at auth-api', () => {
  it("a deleted client's tokens are refused on the admin API within 5 s; another client's are not", async () => {
    const admin = await login(DEMO.users.admin);
    const make = async (id: string) => {
      const created = await json('POST', `${auth.url}/admin/oauth/clients`, admin.access_token, {
        client_id: id,
        client_name: id,
        client_type: 'confidential',
        allowed_scopes: ['admin:clients'],
        grant_types: ['client_credentials'],
      });
      expect(created.status).toBe(201);
      const token = await fetch(`${auth.url}/oauth/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${id}:${created.body.client_secret}`).toString('base64')}`,
        },
        body: 'grant_type=client_credentials',
      });
      return ((await token.json()) as { access_token: string }).access_token;
    };
    const doomed = await make('doomed-admin');
    const other = await make('other-admin');
    expect((await json('GET', `${auth.url}/admin/oauth/clients`, doomed)).status).toBe(200);
    expect(
      (await json('DELETE', `${auth.url}/admin/oauth/clients/doomed-admin`, admin.access_token)).status,
    ).toBe(204);
    const deleted = Date.now();
    let status = 200;
    while (status === 200 && Date.now() - deleted < 5_000) {
      status = (await json('GET', `${auth.url}/admin/oauth/clients`, doomed)).status;
      if (status === 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(401);
    expect((await json('GET', `${auth.url}/admin/oauth/clients`, other)).status).toBe(200);
  });
});
