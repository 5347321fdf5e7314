import { DEMO, startTestAuthApi, type TestAuthApi } from '@groupchat/testkit/auth-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectAuthenticationRequired,
  expectProblem,
  type LoggedIn,
  MALFORMED_IDS,
  TestClient,
} from '../support/test-client.ts';

const PASSWORD = 'direct-tests-password-1';
const UNKNOWN_ID = '0190f3a0-0000-7000-8000-000000000000';

/** The contract's "auth-api: direct conversations" section, row by row. */
describe('POST /api/auth/direct-groups', () => {
  let api: TestAuthApi;
  let http: TestClient;
  let bob: LoggedIn; // Acme owner (an org admin)
  let carol: LoggedIn;
  let dave: LoggedIn;
  let mallory: LoggedIn; // Globex

  beforeAll(async () => {
    api = await startTestAuthApi({ env: { RATE_LIMIT_LOGIN_PER_IP: '1000' } });
    http = new TestClient(api.url);
    bob = await http.login(DEMO.users.bob, DEMO.password);
    carol = await http.login(DEMO.users.carol, DEMO.password);
    mallory = await http.login(DEMO.users.mallory, DEMO.password);
    const created = await http.post(`/api/auth/orgs/${bob.user.org_id}/users`, {
      token: bob.token,
      body: { email: 'dave@acme.example', password: PASSWORD, display_name: 'Dave' },
    });
    expect(created.status, created.text).toBe(201);
    dave = await http.login('dave@acme.example', PASSWORD);
  });

  afterAll(async () => {
    await api?.close();
  });

  it('creates one direct group per pair, whichever of the two asks, and lists it with the groups', async () => {
    const first = await http.post('/api/auth/direct-groups', {
      token: carol.token,
      body: { user_id: dave.user.id },
    });
    expect(first.status, first.text).toBe(201);
    expect(first.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-7/),
      name: null,
      kind: 'direct',
      org_id: carol.user.org_id,
      created_at: expect.any(String),
      member_count: 2,
    });
    const again = await http.post('/api/auth/direct-groups', {
      token: carol.token,
      body: { user_id: dave.user.id.toUpperCase() },
    });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    const reverse = await http.post('/api/auth/direct-groups', {
      cookie: dave.cookie,
      body: { user_id: carol.user.id },
    });
    expect(reverse.status).toBe(200);
    expect(reverse.body.id).toBe(first.body.id);

    const members = await http.get(`/api/auth/groups/${first.body.id}/members`, { token: dave.token });
    expect(members.body.members.map((m: { user_id: string }) => m.user_id).sort()).toEqual(
      [carol.user.id, dave.user.id].sort(),
    );
    for (const user of [carol, dave]) {
      const listed = await http.get('/api/auth/groups', { token: user.token });
      const kinds = listed.body.groups.map((g: { id: string; kind: string }) => [g.id, g.kind]);
      expect(kinds).toContainEqual([first.body.id, 'direct']);
    }
    const carolsList = await http.get('/api/auth/groups', { token: carol.token });
    expect(carolsList.body.groups.some((g: { kind: string }) => g.kind === 'group')).toBe(true);
    // Bob is not one of the pair: he cannot read it (403), though he is in the same org.
    expectProblem(
      await http.get(`/api/auth/groups/${first.body.id}`, { token: bob.token }),
      403,
      'not_group_member',
    );
    expectProblem(
      await http.get(`/api/auth/groups/${first.body.id}`, { token: mallory.token }),
      404,
      'group_not_found',
    );
  });

  it('settles concurrent creations for one pair on a single group (the database decides)', async () => {
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        http.post('/api/auth/direct-groups', {
          token: i % 2 === 0 ? bob.token : dave.token,
          body: { user_id: i % 2 === 0 ? dave.user.id : bob.user.id },
        }),
      ),
    );
    const ids = new Set(results.map((r) => r.body.id));
    expect(ids.size).toBe(1);
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(results.filter((r) => r.status === 200)).toHaveLength(5);
    const rows = await api.running.core.db
      .selectFrom('groups')
      .select('id')
      .where('kind', '=', 'direct')
      .where('direct_low', '=', [bob.user.id, dave.user.id].sort()[0]!)
      .execute();
    expect(rows).toHaveLength(1);
  });

  it('refuses a third member (409), even from an org admin or a service', async () => {
    const direct = await http.post('/api/auth/direct-groups', {
      token: bob.token,
      body: { user_id: carol.user.id },
    });
    expect(direct.status).toBeLessThan(300);
    const groupId = direct.body.id;
    expectProblem(
      await http.post(`/api/auth/groups/${groupId}/members`, {
        token: bob.token,
        body: { user_id: dave.user.id },
      }),
      409,
      'direct_group_closed',
    );
    const service = api.running.core.tokenIssuer.issueServiceToken(
      DEMO.serviceClientId,
      ['groups:write'],
      'auth-api',
    ).access_token;
    expectProblem(
      await http.post(`/api/auth/groups/${groupId}/members`, {
        token: service,
        body: { user_id: dave.user.id },
      }),
      409,
      'direct_group_closed',
    );
    const members = await http.get(`/api/auth/groups/${groupId}/members`, { token: bob.token });
    expect(members.body.members).toHaveLength(2);
    // The database refuses a direct group that breaks the shape, whatever the code does.
    await expect(
      api.running.core.db
        .insertInto('groups')
        .values({
          id: UNKNOWN_ID,
          org_id: bob.user.org_id,
          name: null,
          kind: 'direct',
          // The pair in the wrong order: low > high.
          direct_low: [carol.user.id, bob.user.id].sort()[1]!,
          direct_high: [carol.user.id, bob.user.id].sort()[0]!,
        })
        .execute(),
    ).rejects.toMatchObject({ code: '23514' });
  });

  it('brings back a member who left when the pair opens it again', async () => {
    const direct = await http.post('/api/auth/direct-groups', {
      token: mallory.token,
      body: { user_id: (await globexUser()).user.id },
    });
    expect(direct.status).toBe(201);
    const left = await http.delete(`/api/auth/groups/${direct.body.id}/members/${mallory.user.id}`, {
      token: mallory.token,
    });
    expect(left.status).toBe(204);
    const reopened = await http.post('/api/auth/direct-groups', {
      token: mallory.token,
      body: { user_id: (await globexUser()).user.id },
    });
    expect(reopened.status).toBe(200);
    expect(reopened.body).toMatchObject({ id: direct.body.id, member_count: 2 });
  });

  let globexPeer: LoggedIn | undefined;
  async function globexUser(): Promise<LoggedIn> {
    if (globexPeer) return globexPeer;
    const created = await http.post(`/api/auth/orgs/${mallory.user.org_id}/users`, {
      token: mallory.token,
      body: { email: 'trent@globex.example', password: PASSWORD, display_name: 'Trent' },
    });
    expect(created.status, created.text).toBe(201);
    globexPeer = await http.login('trent@globex.example', PASSWORD);
    return globexPeer;
  }

  it('answers 404 for a user of another org or an unknown user, 400 for bad input, 401/403 for non-users', async () => {
    expectProblem(
      await http.post('/api/auth/direct-groups', { token: carol.token, body: { user_id: mallory.user.id } }),
      404,
      'user_not_found',
    );
    expectProblem(
      await http.post('/api/auth/direct-groups', { token: carol.token, body: { user_id: UNKNOWN_ID } }),
      404,
      'user_not_found',
    );
    expectProblem(
      await http.post('/api/auth/direct-groups', { token: carol.token, body: { user_id: carol.user.id } }),
      400,
      'invalid_direct_peer',
    );
    for (const body of [{}, { user_id: 5 }, ...MALFORMED_IDS.map((id) => ({ user_id: id }))]) {
      expectProblem(await http.post('/api/auth/direct-groups', { token: carol.token, body }), 400);
    }
    expectAuthenticationRequired(
      await http.post('/api/auth/direct-groups', { body: { user_id: dave.user.id } }),
    );
    const service = api.running.core.tokenIssuer.issueServiceToken(
      DEMO.serviceClientId,
      ['groups:write'],
      'auth-api',
    ).access_token;
    expectProblem(
      await http.post('/api/auth/direct-groups', { token: service, body: { user_id: dave.user.id } }),
      403,
      'user_required',
    );
    // Nothing was created by the refused calls: Carol's direct groups are still the one with Dave.
    const listed = await http.get('/api/auth/groups', { token: carol.token });
    const directs = listed.body.groups.filter((g: { kind: string }) => g.kind === 'direct');
    expect(directs.length).toBe(2); // with Dave and with Bob (earlier tests)
  });
});
