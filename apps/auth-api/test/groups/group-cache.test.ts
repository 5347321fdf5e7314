import { DEMO, startTestAuthApi, type TestAuthApi } from '@groupchat/testkit/auth-api';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../oauth/helpers.ts';
import { startSecondInstance } from '../support/second-instance.ts';
import { expectProblem, type LoggedIn, TestClient } from '../support/test-client.ts';

/**
 * GET /api/auth/groups/{id} and the membership checks are answered from memory; every change made
 * through the API (member add/remove, delete) must be seen by the very next read, on this instance at
 * once and on another instance as soon as the bus brings the news.
 */
describe('group reads from the cache', () => {
  let api: TestAuthApi;
  let http: TestClient;
  let bob: LoggedIn; // Acme owner
  let carol: LoggedIn; // Acme member
  let mallory: LoggedIn; // Globex owner
  // PostgreSQL without Redis: no instance could hear another's changes, so nothing is cached.
  let cached: boolean;

  const service = (...scopes: string[]) =>
    api.running.core.tokenIssuer.issueServiceToken(DEMO.serviceClientId, scopes, 'auth-api').access_token;

  beforeAll(async () => {
    api = await startTestAuthApi({ env: { RATE_LIMIT_LOGIN_PER_IP: '1000' } });
    http = new TestClient(api.url);
    bob = await http.login(DEMO.users.bob, DEMO.password);
    carol = await http.login(DEMO.users.carol, DEMO.password);
    mallory = await http.login(DEMO.users.mallory, DEMO.password);
    cached = !api.env.DATABASE_URL || api.env.REDIS_URL !== undefined;
  });
  afterAll(async () => {
    await api?.close();
  });

  async function scratchGroup(): Promise<string> {
    const created = await http.post('/api/auth/groups', { token: bob.token, body: { name: 'cached' } });
    expect(created.status, created.text).toBe(201);
    return created.body.id;
  }

  it('serves a read from memory (a change behind the API’s back is not seen), and any change through the API at once', async () => {
    const id = await scratchGroup();
    const token = service('groups:read');
    const first = await http.get(`/api/auth/groups/${id}`, { token });
    expect(first.body).toMatchObject({ name: 'cached', member_count: 1 });
    // No API renames a group; a write straight to the database shows whether reads come from memory.
    await sql`update groups set name = 'renamed' where id = ${id}`.execute(api.running.core.db);
    const again = await http.get(`/api/auth/groups/${id}`, { token });
    expect(again.body.name).toBe(cached ? 'cached' : 'renamed');

    const added = await http.post(`/api/auth/groups/${id}/members`, {
      token: bob.token,
      body: { user_id: carol.user.id },
    });
    expect(added.status, added.text).toBe(201);
    const after = await http.get(`/api/auth/groups/${id}`, { token });
    expect(after.body).toMatchObject({ name: 'renamed', member_count: 2 });

    // A service's membership question is always answered from the database (resource servers catch
    // up from the change feed and ask again): carol's cached membership does not answer it.
    expect((await http.get(`/api/auth/groups/${id}`, { token: carol.token })).status).toBe(200);
    await sql`delete from group_members where group_id = ${id} and user_id = ${carol.user.id}`.execute(
      api.running.core.db,
    );
    const asked = await http.get(`/api/auth/groups/${id}/members/${carol.user.id}`, {
      token: service('members:read'),
    });
    expectProblem(asked, 404, 'member_not_found');
    expect((await http.get(`/api/auth/groups/${id}`, { token: carol.token })).status).toBe(
      cached ? 200 : 403,
    );
  });

  it('member add, member remove and delete are seen by the next read on the same instance', async () => {
    const id = await scratchGroup();
    const token = service('groups:read');
    const path = `/api/auth/groups/${id}`;
    expect((await http.get(path, { token })).body.member_count).toBe(1);
    expectProblem(await http.get(path, { token: carol.token }), 403, 'not_group_member');

    expect(
      (await http.post(`${path}/members`, { token: bob.token, body: { user_id: carol.user.id } })).status,
    ).toBe(201);
    expect((await http.get(path, { token })).body.member_count).toBe(2);
    expect((await http.get(path, { token: carol.token })).status).toBe(200);

    expect((await http.delete(`${path}/members/${carol.user.id}`, { token: bob.token })).status).toBe(204);
    expect((await http.get(path, { token })).body.member_count).toBe(1);
    expectProblem(await http.get(path, { token: carol.token }), 403, 'not_group_member');

    // Tenant isolation is unchanged on a warm cache: another organization's group does not exist.
    expectProblem(await http.get(path, { token: mallory.token }), 404, 'group_not_found');

    expect((await http.delete(path, { token: bob.token })).status).toBe(204);
    expectProblem(await http.get(path, { token }), 404, 'group_not_found');
    expectProblem(await http.get(path, { token: bob.token }), 404, 'group_not_found');
  });

  it('a second instance sees the first one’s changes', async () => {
    const second = await startSecondInstance(api);
    try {
      const other = new TestClient(second.url);
      const id = await scratchGroup();
      const token = service('groups:read');
      const path = `/api/auth/groups/${id}`;
      // Warm the second instance's cache (group, and carol's non-membership is not cached: a miss).
      expect((await other.get(path, { token })).body.member_count).toBe(1);
      expectProblem(await other.get(path, { token: carol.token }), 403, 'not_group_member');

      expect(
        (await http.post(`${path}/members`, { token: bob.token, body: { user_id: carol.user.id } })).status,
      ).toBe(201);
      const grown = await eventually(async () => {
        const r = await other.get(path, { token });
        return r.body.member_count === 2 && r;
      }, 1_000);
      expect(grown.body.member_count).toBe(2);
      const member = await eventually(async () => {
        const r = await other.get(path, { token: carol.token });
        return r.status === 200 && r;
      }, 1_000);
      expect(member.status).toBe(200);

      expect((await http.delete(`${path}/members/${carol.user.id}`, { token: bob.token })).status).toBe(204);
      const shrunk = await eventually(async () => {
        const r = await other.get(path, { token });
        return r.body.member_count === 1 && r;
      }, 1_000);
      expect(shrunk.body.member_count).toBe(1);
      const left = await eventually(async () => {
        const r = await other.get(path, { token: carol.token });
        return r.status === 403 && r;
      }, 1_000);
      expectProblem(left, 403, 'not_group_member');

      expect((await http.delete(path, { token: bob.token })).status).toBe(204);
      const gone = await eventually(async () => {
        const r = await other.get(path, { token });
        return r.status === 404 && r;
      }, 1_000);
      expectProblem(gone, 404, 'group_not_found');
    } finally {
      await second.close();
    }
  });
});
