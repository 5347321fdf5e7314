import { DEMO, startTestAuthApi, type TestAuthApi } from '@groupchat/testkit/auth-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectAuthenticationRequired,
  expectInsufficientScope,
  expectInvalidToken,
  expectProblem,
  FORGED_TOKEN,
  type LoggedIn,
  MALFORMED_IDS,
  TestClient,
} from '../support/test-client.ts';

const PASSWORD = 'group-tests-password-1';
const UNKNOWN_ID = '0190f3a0-0000-7000-8000-000000000000';

/**
 * The contract's groups table, row by row, for every kind of caller: a user allowed by membership or
 * role, a user of the same org without the right (403), a user of another org (404), no credentials
 * (401), a bad token (401 invalid_token), and services with and without the scope.
 */
describe('groups and members', () => {
  let api: TestAuthApi;
  let http: TestClient;
  let bob: LoggedIn; // Acme owner, owner of "general"
  let carol: LoggedIn; // Acme member, member of "general"
  let dave: LoggedIn; // Acme member, in no group
  let erin: LoggedIn; // Acme admin, in no group
  let mallory: LoggedIn; // Globex owner
  let acme: string;
  let globex: string;
  let general: string;

  const service = (...scopes: string[]) =>
    api.running.core.tokenIssuer.issueServiceToken(DEMO.serviceClientId, scopes, 'auth-api').access_token;

  beforeAll(async () => {
    api = await startTestAuthApi({ env: { RATE_LIMIT_LOGIN_PER_IP: '1000' } });
    http = new TestClient(api.url);
    bob = await http.login(DEMO.users.bob, DEMO.password);
    carol = await http.login(DEMO.users.carol, DEMO.password);
    mallory = await http.login(DEMO.users.mallory, DEMO.password);
    acme = bob.user.org_id;
    globex = mallory.user.org_id;
    for (const [email, role] of [
      ['dave@acme.example', 'member'],
      ['erin@acme.example', 'admin'],
    ] as const) {
      const created = await http.post(`/api/auth/orgs/${acme}/users`, {
        token: bob.token,
        body: { email, password: PASSWORD, display_name: email.split('@')[0], role },
      });
      expect(created.status, created.text).toBe(201);
    }
    dave = await http.login('dave@acme.example', PASSWORD);
    erin = await http.login('erin@acme.example', PASSWORD);
    const groups = await http.get('/api/auth/groups', { token: bob.token });
    general = groups.body.groups.find((g: { name: string }) => g.name === 'general').id;
  });

  afterAll(async () => {
    for (const text of http?.seen ?? []) {
      expect(text).not.toContain(DEMO.password);
      expect(text).not.toContain(PASSWORD);
      expect(text).not.toContain('$argon2');
    }
    await api?.close();
  });

  /** A fresh Acme group owned by bob, with the given extra members. */
  async function acmeGroup(...members: LoggedIn[]): Promise<string> {
    const created = await http.post('/api/auth/groups', { token: bob.token, body: { name: 'scratch' } });
    expect(created.status, created.text).toBe(201);
    for (const member of members) {
      const added = await http.post(`/api/auth/groups/${created.body.id}/members`, {
        token: bob.token,
        body: { user_id: member.user.id },
      });
      expect(added.status, added.text).toBe(201);
    }
    return created.body.id;
  }

  describe('POST /api/auth/groups', () => {
    it('creates a group in the caller’s org with the caller as its owner (Bearer or cookie)', async () => {
      const created = await http.post('/api/auth/groups', {
        token: carol.token,
        body: { name: '  random  ' },
      });
      expect(created.status, created.text).toBe(201);
      expect(created.body).toEqual({
        id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-7/),
        name: 'random',
        kind: 'group',
        org_id: acme,
        created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/),
        member_count: 1,
      });
      const members = await http.get(`/api/auth/groups/${created.body.id}/members`, { token: carol.token });
      expect(members.body.members).toEqual([
        { user_id: carol.user.id, role: 'owner', joined_at: expect.any(String), display_name: 'Carol' },
      ]);

      const byCookie = await http.post('/api/auth/groups', {
        cookie: carol.cookie,
        body: { name: 'by-cookie' },
      });
      expect(byCookie.status, byCookie.text).toBe(201);
      // Naming one's own org is allowed; another org's is 404, as if it did not exist.
      const own = await http.post('/api/auth/groups', {
        token: carol.token,
        body: { name: 'x', org_id: acme },
      });
      expect(own.status).toBe(201);
      expectProblem(
        await http.post('/api/auth/groups', { token: carol.token, body: { name: 'x', org_id: globex } }),
        404,
        'org_not_found',
      );
    });

    it('lets a service with groups:write create a group in the org it names', async () => {
      const created = await http.post('/api/auth/groups', {
        token: service('groups:write'),
        body: { name: 'ops', org_id: globex },
      });
      expect(created.status, created.text).toBe(201);
      expect(created.body).toMatchObject({ name: 'ops', org_id: globex, member_count: 0 });
      expectProblem(
        await http.post('/api/auth/groups', { token: service('groups:write'), body: { name: 'ops' } }),
        400,
        'org_id_required',
      );
      expectProblem(
        await http.post('/api/auth/groups', {
          token: service('groups:write'),
          body: { name: 'ops', org_id: UNKNOWN_ID },
        }),
        404,
        'org_not_found',
      );
      expectInsufficientScope(
        await http.post('/api/auth/groups', {
          token: service('groups:read', 'members:read'),
          body: { name: 'ops', org_id: globex },
        }),
        'groups:write',
      );
    });

    it('answers 401 without credentials or with a bad token', async () => {
      expectAuthenticationRequired(await http.post('/api/auth/groups', { body: { name: 'x' } }));
      expectInvalidToken(await http.post('/api/auth/groups', { token: FORGED_TOKEN, body: { name: 'x' } }));
    });

    it('answers 400 problem+json for malformed bodies', async () => {
      for (const body of [
        {},
        { name: '' },
        { name: '   ' },
        { name: 'n'.repeat(101) },
        { name: 'x', org_id: 'not-a-uuid' },
        { name: 'x', org_id: `urn:uuid:${acme}` },
        [],
      ]) {
        expectProblem(await http.post('/api/auth/groups', { token: bob.token, body }), 400);
      }
      expectProblem(await http.post('/api/auth/groups', { token: bob.token, rawBody: '{"name":' }), 400);
    });

    it('refuses cookie-authenticated creation from another site; header-less clients pass', async () => {
      const body = { name: 'csrf' };
      expectProblem(
        await http.post('/api/auth/groups', {
          cookie: bob.cookie,
          body,
          headers: { 'sec-fetch-site': 'cross-site' },
        }),
        403,
        'cross_site_request',
      );
      expectProblem(
        await http.post('/api/auth/groups', {
          cookie: bob.cookie,
          body,
          headers: { origin: 'https://evil.example' },
        }),
        403,
        'cross_site_request',
      );
      const allowed = await http.post('/api/auth/groups', {
        cookie: bob.cookie,
        body,
        headers: { origin: 'http://127.0.0.1:8080', 'sec-fetch-site': 'same-site' },
      });
      expect(allowed.status, allowed.text).toBe(201);
    });
  });

  describe('GET /api/auth/groups', () => {
    it('lists the caller’s own groups', async () => {
      const mine = await http.get('/api/auth/groups', { token: carol.token });
      expect(mine.status).toBe(200);
      const ids = mine.body.groups.map((g: { id: string }) => g.id);
      expect(ids).toContain(general);
      expect(mine.body.groups.find((g: { id: string }) => g.id === general)).toEqual({
        id: general,
        name: 'general',
        kind: 'group',
        org_id: acme,
        created_at: expect.any(String),
        member_count: expect.any(Number),
      });
      const daves = await http.get('/api/auth/groups', { cookie: dave.cookie });
      expect(daves.body.groups.map((g: { id: string }) => g.id)).not.toContain(general);
      const mallorys = await http.get('/api/auth/groups', { token: mallory.token });
      for (const group of mallorys.body.groups) expect(group.org_id).toBe(globex);
      expectProblem(
        await http.get(`/api/auth/groups?org_id=${globex}`, { token: carol.token }),
        404,
        'org_not_found',
      );
      expect((await http.get(`/api/auth/groups?org_id=${acme}`, { token: carol.token })).status).toBe(200);
    });

    it('lists every group of an org for a service with groups:read and ?org_id=', async () => {
      const davesOnly = await http.post('/api/auth/groups', {
        token: dave.token,
        body: { name: 'dave-only' },
      });
      const all = await http.get(`/api/auth/groups?org_id=${acme}`, { token: service('groups:read') });
      expect(all.status, all.text).toBe(200);
      const ids = all.body.groups.map((g: { id: string }) => g.id);
      expect(ids).toEqual(expect.arrayContaining([general, davesOnly.body.id]));
      for (const group of all.body.groups) expect(group.org_id).toBe(acme);

      expectProblem(
        await http.get('/api/auth/groups', { token: service('groups:read') }),
        400,
        'org_id_required',
      );
      expectProblem(await http.get('/api/auth/groups?org_id=nope', { token: service('groups:read') }), 400);
      expectProblem(
        await http.get(`/api/auth/groups?org_id=${UNKNOWN_ID}`, { token: service('groups:read') }),
        404,
        'org_not_found',
      );
      expectInsufficientScope(
        await http.get(`/api/auth/groups?org_id=${acme}`, { token: service('members:read', 'groups:write') }),
        'groups:read',
      );
    });

    it('lists one user’s groups of an org for a service with groups:read and members:read (?member_id=)', async () => {
      const reader = service('groups:read', 'members:read');
      const carols = await http.get(`/api/auth/groups?org_id=${acme}&member_id=${carol.user.id}`, {
        token: reader,
      });
      expect(carols.status, carols.text).toBe(200);
      const asCarol = await http.get('/api/auth/groups', { token: carol.token });
      expect(carols.body.groups.map((g: { id: string }) => g.id).sort()).toEqual(
        asCarol.body.groups.map((g: { id: string }) => g.id).sort(),
      );
      expect(carols.body.groups.map((g: { id: string }) => g.id)).toContain(general);
      // Dave is not in general; Mallory's groups are not Acme's.
      const daves = await http.get(`/api/auth/groups?org_id=${acme}&member_id=${dave.user.id}`, {
        token: reader,
      });
      expect(daves.body.groups.map((g: { id: string }) => g.id)).not.toContain(general);
      const mallorys = await http.get(`/api/auth/groups?org_id=${acme}&member_id=${mallory.user.id}`, {
        token: reader,
      });
      expect(mallorys.body.groups).toEqual([]);
      expectInsufficientScope(
        await http.get(`/api/auth/groups?org_id=${acme}&member_id=${carol.user.id}`, {
          token: service('groups:read'),
        }),
        'members:read',
      );
      expectProblem(
        await http.get(`/api/auth/groups?org_id=${acme}&member_id=not-a-uuid`, { token: reader }),
        400,
        'validation_failed',
      );
      // A user lists their own groups: naming another member is refused, not answered.
      expectProblem(
        await http.get(`/api/auth/groups?member_id=${dave.user.id}`, { token: carol.token }),
        400,
        'validation_failed',
      );
    });

    it('answers 401 without credentials or with a bad token', async () => {
      expectAuthenticationRequired(await http.get('/api/auth/groups'));
      expectInvalidToken(await http.get('/api/auth/groups', { token: FORGED_TOKEN }));
    });
  });

  describe('GET /api/auth/groups/{group_id}', () => {
    it('is for members of the group and services with groups:read', async () => {
      const byMember = await http.get(`/api/auth/groups/${general}`, { cookie: carol.cookie });
      expect(byMember.status).toBe(200);
      expect(byMember.body).toMatchObject({ id: general, name: 'general', org_id: acme, member_count: 2 });
      const byService = await http.get(`/api/auth/groups/${general}`, { token: service('groups:read') });
      expect(byService.body).toEqual(byMember.body);
      // The same id in upper case names the same group.
      expect(
        (await http.get(`/api/auth/groups/${general.toUpperCase()}`, { token: carol.token })).status,
      ).toBe(200);
    });

    it('refuses a same-org non-member (403), another org (404), and a service without groups:read', async () => {
      expectProblem(
        await http.get(`/api/auth/groups/${general}`, { token: dave.token }),
        403,
        'not_group_member',
      );
      // An org admin is not a member: the contract keeps groups to their members.
      expectProblem(
        await http.get(`/api/auth/groups/${general}`, { token: erin.token }),
        403,
        'not_group_member',
      );
      const other = await http.get(`/api/auth/groups/${general}`, { token: mallory.token });
      const missing = await http.get(`/api/auth/groups/${UNKNOWN_ID}`, { token: mallory.token });
      expectProblem(other, 404, 'group_not_found');
      expect(other.body.detail).toBe(missing.body.detail); // indistinguishable from a group that does not exist
      expectProblem(await http.get(`/api/auth/groups/${UNKNOWN_ID}`, { token: service('groups:read') }), 404);
      expectInsufficientScope(
        await http.get(`/api/auth/groups/${general}`, { token: service('members:read') }),
        'groups:read',
      );
      expectAuthenticationRequired(await http.get(`/api/auth/groups/${general}`));
      expectInvalidToken(await http.get(`/api/auth/groups/${general}`, { token: FORGED_TOKEN }));
    });
  });

  describe('GET /api/auth/groups/{group_id}/members', () => {
    it('is for members of the group and services with members:read', async () => {
      const byMember = await http.get(`/api/auth/groups/${general}/members`, { token: carol.token });
      expect(byMember.status).toBe(200);
      expect(byMember.body.members).toEqual([
        { user_id: bob.user.id, role: 'owner', joined_at: expect.any(String), display_name: 'Bob' },
        { user_id: carol.user.id, role: 'member', joined_at: expect.any(String), display_name: 'Carol' },
      ]);
      const byService = await http.get(`/api/auth/groups/${general}/members`, {
        token: service('members:read'),
      });
      expect(byService.body).toEqual(byMember.body);
    });

    it('refuses a same-org non-member (403), another org (404), and a service without members:read', async () => {
      expectProblem(
        await http.get(`/api/auth/groups/${general}/members`, { token: dave.token }),
        403,
        'not_group_member',
      );
      expectProblem(
        await http.get(`/api/auth/groups/${general}/members`, { token: mallory.token }),
        404,
        'group_not_found',
      );
      expectInsufficientScope(
        await http.get(`/api/auth/groups/${general}/members`, {
          token: service('groups:read', 'groups:write'),
        }),
        'members:read',
      );
      expectAuthenticationRequired(await http.get(`/api/auth/groups/${general}/members`));
      expectInvalidToken(await http.get(`/api/auth/groups/${general}/members`, { token: FORGED_TOKEN }));
    });
  });

  describe('GET /api/auth/groups/{group_id}/members/{user_id}', () => {
    it('answers the membership with the group’s org, or 404 for a non-member', async () => {
      const expected = { group_id: general, user_id: bob.user.id, role: 'owner', org_id: acme };
      const byMember = await http.get(`/api/auth/groups/${general}/members/${bob.user.id}`, {
        token: carol.token,
      });
      expect(byMember.status).toBe(200);
      expect(byMember.body).toMatchObject(expected);
      const byService = await http.get(`/api/auth/groups/${general}/members/${bob.user.id}`, {
        token: service('members:read'),
      });
      expect(byService.status).toBe(200);
      expect(byService.body).toMatchObject(expected);
      expectProblem(
        await http.get(`/api/auth/groups/${general}/members/${dave.user.id}`, {
          token: service('members:read'),
        }),
        404,
        'member_not_found',
      );
      expectProblem(
        await http.get(`/api/auth/groups/${general}/members/${mallory.user.id}`, { token: carol.token }),
        404,
        'member_not_found',
      );
      expectProblem(
        await http.get(`/api/auth/groups/${UNKNOWN_ID}/members/${bob.user.id}`, {
          token: service('members:read'),
        }),
        404,
        'group_not_found',
      );
    });

    it('refuses a same-org non-member (403), another org (404), and a service without members:read', async () => {
      const path = `/api/auth/groups/${general}/members/${bob.user.id}`;
      expectProblem(await http.get(path, { token: dave.token }), 403, 'not_group_member');
      // Not even about themself: only members see the group's membership.
      expectProblem(
        await http.get(`/api/auth/groups/${general}/members/${dave.user.id}`, { token: dave.token }),
        403,
      );
      expectProblem(await http.get(path, { token: mallory.token }), 404, 'group_not_found');
      expectInsufficientScope(await http.get(path, { token: service('groups:read') }), 'members:read');
      expectAuthenticationRequired(await http.get(path));
      expectInvalidToken(await http.get(path, { token: FORGED_TOKEN }));
    });
  });

  describe('POST /api/auth/groups/{group_id}/members', () => {
    it('lets the group owner, an org admin and a service with groups:write add members', async () => {
      const group = await acmeGroup();
      const byOwner = await http.post(`/api/auth/groups/${group}/members`, {
        cookie: bob.cookie,
        body: { user_id: carol.user.id },
      });
      expect(byOwner.status, byOwner.text).toBe(201);
      expect(byOwner.body).toEqual({
        user_id: carol.user.id,
        role: 'member',
        joined_at: expect.any(String),
        display_name: 'Carol',
      });
      const byAdmin = await http.post(`/api/auth/groups/${group}/members`, {
        token: erin.token,
        body: { user_id: dave.user.id, role: 'admin' },
      });
      expect(byAdmin.status, byAdmin.text).toBe(201);
      expect(byAdmin.body.role).toBe('admin');
      const byService = await http.post(`/api/auth/groups/${group}/members`, {
        token: service('groups:write'),
        body: { user_id: erin.user.id },
      });
      expect(byService.status, byService.text).toBe(201);
      const read = await http.get(`/api/auth/groups/${group}`, { token: dave.token });
      expect(read.body.member_count).toBe(4);
    });

    it('answers 409 for a member already there', async () => {
      const group = await acmeGroup(carol);
      expectProblem(
        await http.post(`/api/auth/groups/${group}/members`, {
          token: bob.token,
          body: { user_id: carol.user.id },
        }),
        409,
        'already_member',
      );
      expectProblem(
        await http.post(`/api/auth/groups/${group}/members`, {
          token: service('groups:write'),
          body: { user_id: bob.user.id },
        }),
        409,
        'already_member',
      );
    });

    it('answers 404 user_not_found for an unknown user or a user of another org', async () => {
      const group = await acmeGroup();
      const otherOrg = await http.post(`/api/auth/groups/${group}/members`, {
        token: bob.token,
        body: { user_id: mallory.user.id },
      });
      const unknown = await http.post(`/api/auth/groups/${group}/members`, {
        token: bob.token,
        body: { user_id: UNKNOWN_ID },
      });
      expectProblem(otherOrg, 404, 'user_not_found');
      expect(unknown.text).toBe(otherOrg.text);
      // A service cannot put a user into another org's group either.
      expectProblem(
        await http.post(`/api/auth/groups/${group}/members`, {
          token: service('groups:write'),
          body: { user_id: mallory.user.id },
        }),
        404,
        'user_not_found',
      );
    });

    it('refuses plain members and non-members of the org (403), another org (404), services without groups:write', async () => {
      const group = await acmeGroup(carol);
      const body = { user_id: dave.user.id };
      expectProblem(
        await http.post(`/api/auth/groups/${group}/members`, { token: carol.token, body }),
        403,
        'not_group_manager',
      );
      expectProblem(
        await http.post(`/api/auth/groups/${group}/members`, { token: dave.token, body }),
        403,
        'not_group_manager',
      );
      expectProblem(
        await http.post(`/api/auth/groups/${group}/members`, { token: mallory.token, body }),
        404,
        'group_not_found',
      );
      expectInsufficientScope(
        await http.post(`/api/auth/groups/${group}/members`, {
          token: service('groups:read', 'members:read'),
          body,
        }),
        'groups:write',
      );
      expectAuthenticationRequired(await http.post(`/api/auth/groups/${group}/members`, { body }));
      expectInvalidToken(await http.post(`/api/auth/groups/${group}/members`, { token: FORGED_TOKEN, body }));
      expectProblem(
        await http.post(`/api/auth/groups/${UNKNOWN_ID}/members`, { token: bob.token, body }),
        404,
        'group_not_found',
      );
    });

    it('answers 400 for malformed bodies and refuses cross-site cookie writes', async () => {
      const group = await acmeGroup();
      for (const body of [{}, { user_id: 'nope' }, { user_id: dave.user.id, role: 'king' }, { user_id: 7 }]) {
        expectProblem(await http.post(`/api/auth/groups/${group}/members`, { token: bob.token, body }), 400);
      }
      expectProblem(
        await http.post(`/api/auth/groups/${group}/members`, {
          cookie: bob.cookie,
          body: { user_id: dave.user.id },
          headers: { 'sec-fetch-site': 'cross-site' },
        }),
        403,
        'cross_site_request',
      );
    });
  });

  describe('DELETE /api/auth/groups/{group_id}/members/{user_id}', () => {
    it('lets the member leave, the group owner or an org admin remove, and a service with groups:write', async () => {
      const group = await acmeGroup(carol, dave, erin);
      const leave = await http.delete(`/api/auth/groups/${group}/members/${dave.user.id}`, {
        cookie: dave.cookie,
      });
      expect(leave.status, leave.text).toBe(204);
      expect(leave.text).toBe('');
      const byOwner = await http.delete(`/api/auth/groups/${group}/members/${carol.user.id}`, {
        token: bob.token,
      });
      expect(byOwner.status).toBe(204);
      const byAdmin = await http.delete(`/api/auth/groups/${group}/members/${bob.user.id}`, {
        token: erin.token,
      });
      expect(byAdmin.status).toBe(204);
      const byService = await http.delete(`/api/auth/groups/${group}/members/${erin.user.id}`, {
        token: service('groups:write'),
      });
      expect(byService.status).toBe(204);
      const left = await http.get(`/api/auth/groups/${group}/members`, { token: service('members:read') });
      expect(left.body.members).toEqual([]);
      expectProblem(
        await http.get(`/api/auth/groups/${group}/members/${carol.user.id}`, {
          token: service('members:read'),
        }),
        404,
        'member_not_found',
      );
    });

    it('refuses a plain member removing another (403), another org (404), a service without groups:write', async () => {
      const group = await acmeGroup(carol, dave);
      const path = `/api/auth/groups/${group}/members/${dave.user.id}`;
      expectProblem(await http.delete(path, { token: carol.token }), 403, 'not_group_manager');
      expectProblem(await http.delete(path, { token: mallory.token }), 404, 'group_not_found');
      expectInsufficientScope(
        await http.delete(path, { token: service('groups:read', 'members:read') }),
        'groups:write',
      );
      expectAuthenticationRequired(await http.delete(path));
      expectInvalidToken(await http.delete(path, { token: FORGED_TOKEN }));
      expectProblem(
        await http.delete(path, { cookie: bob.cookie, headers: { origin: 'https://evil.example' } }),
        403,
        'cross_site_request',
      );
      // Still a member after all of that.
      const check = await http.get(path, { token: service('members:read') });
      expect(check.status).toBe(200);
    });

    it('answers 404 member_not_found for a user who is not a member', async () => {
      const group = await acmeGroup();
      expectProblem(
        await http.delete(`/api/auth/groups/${group}/members/${dave.user.id}`, { token: bob.token }),
        404,
        'member_not_found',
      );
      expectProblem(
        await http.delete(`/api/auth/groups/${group}/members/${dave.user.id}`, { token: dave.token }),
        404,
        'member_not_found',
      );
    });
  });

  describe('DELETE /api/auth/groups/{group_id}', () => {
    it('lets the group owner delete it; others are refused', async () => {
      const group = await acmeGroup(carol);
      expectProblem(
        await http.delete(`/api/auth/groups/${group}`, { token: carol.token }),
        403,
        'not_group_manager',
      );
      expectProblem(
        await http.delete(`/api/auth/groups/${group}`, { token: mallory.token }),
        404,
        'group_not_found',
      );
      expectInsufficientScope(
        await http.delete(`/api/auth/groups/${group}`, { token: service('groups:read') }),
        'groups:write',
      );
      expect((await http.delete(`/api/auth/groups/${group}`, { token: bob.token })).status).toBe(204);
      expectProblem(
        await http.get(`/api/auth/groups/${group}`, { token: bob.token }),
        404,
        'group_not_found',
      );
      expectProblem(
        await http.delete(`/api/auth/groups/${group}`, { token: bob.token }),
        404,
        'group_not_found',
      );
    });
  });

  it('answers 400 problem+json, never 500, for malformed ids in every path', async () => {
    const token = bob.token;
    for (const bad of MALFORMED_IDS.map(encodeURIComponent)) {
      const responses = await Promise.all([
        http.get(`/api/auth/groups/${bad}`, { token }),
        http.delete(`/api/auth/groups/${bad}`, { token }),
        http.get(`/api/auth/groups/${bad}/members`, { token }),
        http.post(`/api/auth/groups/${bad}/members`, { token, body: { user_id: dave.user.id } }),
        http.get(`/api/auth/groups/${bad}/members/${bob.user.id}`, { token }),
        http.get(`/api/auth/groups/${general}/members/${bad}`, { token }),
        http.delete(`/api/auth/groups/${general}/members/${bad}`, { token }),
        http.get(`/api/auth/groups/${bad}`, { token: service('groups:read') }),
      ]);
      for (const response of responses) expectProblem(response, 400, 'validation_failed');
    }
  });

  it('documents every groups route in OpenAPI', async () => {
    const document = (await (await fetch(`${api.url}/docs/json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    expect(Object.keys(document.paths['/api/auth/groups'] ?? {})).toEqual(
      expect.arrayContaining(['get', 'post']),
    );
    expect(Object.keys(document.paths['/api/auth/groups/{group_id}'] ?? {})).toContain('get');
    expect(Object.keys(document.paths['/api/auth/groups/{group_id}/members'] ?? {})).toEqual(
      expect.arrayContaining(['get', 'post']),
    );
    expect(Object.keys(document.paths['/api/auth/groups/{group_id}/members/{user_id}'] ?? {})).toEqual(
      expect.arrayContaining(['get', 'delete']),
    );
  });
});
