import { DEMO, startTestAuthApi, type TestAuthApi } from '@groupchat/testkit/auth-api';
import { linkOf, startTestMailbox, type TestMailbox } from '@groupchat/testkit/mailbox';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectProblem, TestClient } from '../support/test-client.ts';

const PASSWORD = 'audit-test-password-42';

describe('audit log', () => {
  let mailbox: TestMailbox;
  let api: TestAuthApi;
  let http: TestClient;
  let acme: string;
  let globex: string;
  let bob: string;
  let carol: string;
  let mallory: string;
  let admin: string;
  const secrets: string[] = [PASSWORD, DEMO.password];

  beforeAll(async () => {
    mailbox = await startTestMailbox();
    api = await startTestAuthApi({
      env: { SMTP_URL: mailbox.url, RATE_LIMIT_LOGIN_PER_IP: '1000', RATE_LIMIT_LOGIN_PER_EMAIL: '1000' },
    });
    http = new TestClient(api.url);
    const b = await http.login(DEMO.users.bob, DEMO.password);
    bob = b.token;
    acme = b.user.org_id;
    carol = (await http.login(DEMO.users.carol, DEMO.password)).token;
    const m = await http.login(DEMO.users.mallory, DEMO.password);
    mallory = m.token;
    globex = m.user.org_id;
    admin = (await http.login(DEMO.users.admin, DEMO.password)).token;

    // A day in the life of Acme: a failed login, an invitation accepted, another revoked, a group with
    // a member added and removed, then deleted; a logout; and a client created, rotated and deleted.
    await http.post('/api/auth/login', { body: { email: DEMO.users.carol, password: 'not-her-password' } });
    const invited = await http.post(`/api/auth/orgs/${acme}/invitations`, {
      token: bob,
      body: { email: 'aud@acme.example' },
    });
    const { token } = linkOf(await mailbox.to('aud@acme.example'));
    secrets.push(token);
    const accepted = await http.post('/api/auth/invitations/accept', {
      body: { token, password: PASSWORD, display_name: 'Aud' },
    });
    expect(accepted.status).toBe(201);
    const other = await http.post(`/api/auth/orgs/${acme}/invitations`, {
      token: bob,
      body: { email: 'gone@acme.example' },
    });
    await http.delete(`/api/auth/orgs/${acme}/invitations/${other.body.invitation.id}`, { token: bob });
    expect(invited.status).toBe(201);
    const group = await http.post('/api/auth/groups', { token: bob, body: { name: 'audited' } });
    const groupId = group.body.id ?? group.body.group?.id;
    await http.post(`/api/auth/groups/${groupId}/members`, {
      token: bob,
      body: { user_id: accepted.body.user.id },
    });
    await http.delete(`/api/auth/groups/${groupId}/members/${accepted.body.user.id}`, { token: bob });
    await http.delete(`/api/auth/groups/${groupId}`, { token: bob });
    await http.post('/api/auth/logout', { token: accepted.body.access_token });
    const client = await http.post('/admin/oauth/clients', {
      token: admin,
      body: {
        client_name: 'Audited app',
        client_type: 'confidential',
        allowed_scopes: ['groups:read'],
        grant_types: ['client_credentials'],
      },
    });
    expect(client.status, client.text).toBe(201);
    secrets.push(client.body.client_secret);
    const rotated = await http.post(`/admin/oauth/clients/${client.body.client_id}/secret`, {
      token: admin,
      body: {},
    });
    secrets.push(rotated.body.client_secret);
    await http.delete(`/admin/oauth/clients/${client.body.client_id}`, { token: admin });
    await api.running.core.keys.rotate({ immediate: false });
  }, 180_000);

  afterAll(async () => {
    await api?.close();
    await mailbox?.close();
  });

  async function all(path: string, token: string) {
    const events = [];
    let cursor: string | null = null;
    do {
      const page = await http.get(
        `${path}${path.includes('?') ? '&' : '?'}limit=3${cursor ? `&after=${cursor}` : ''}`,
        { token },
      );
      expect(page.status, page.text).toBe(200);
      expect(page.body.events.length).toBeLessThanOrEqual(3);
      events.push(...page.body.events);
      cursor = page.body.next_cursor;
    } while (cursor);
    return events;
  }

  it('lists the org’s events oldest first, with actor, target and client address, page by page', async () => {
    const events = await all(`/api/auth/orgs/${acme}/audit-events`, bob);
    const types = events.map((e) => e.type);
    for (const type of [
      'user.login_succeeded',
      'user.login_failed',
      'user.created',
      'invitation.created',
      'invitation.accepted',
      'invitation.revoked',
      'group.created',
      'group.deleted',
      'member.added',
      'member.removed',
      'session.ended',
    ])
      expect(types, type).toContain(type);
    const ats = events.map((e) => Date.parse(e.at));
    expect([...ats].sort((a, b) => a - b)).toEqual(ats);
    const created = events.find((e) => e.type === 'invitation.created');
    expect(created).toMatchObject({
      actor: { type: 'user', id: expect.any(String) },
      target: { type: 'invitation' },
      ip: '127.0.0.1',
    });
    expect(Object.keys(created).sort()).toEqual(['actor', 'at', 'cursor', 'id', 'ip', 'target', 'type']);
    // Only Acme's: nothing about Globex users or platform clients.
    expect(types).not.toContain('client.created');
    const filtered = await http.get(`/api/auth/orgs/${acme}/audit-events?type=member.added`, { token: bob });
    expect(filtered.body.events.map((e: { type: string }) => e.type)).toEqual(['member.added']);
    // Globex sees its own only.
    const theirs = await all(`/api/auth/orgs/${globex}/audit-events`, mallory);
    expect(theirs.map((e) => e.type)).not.toContain('invitation.created');
    const ids = new Set(events.map((e) => e.id));
    for (const e of theirs) expect(ids.has(e.id)).toBe(false);
  });

  it('is for the org’s owners and admins: member 403, another org 404, bad query 400', async () => {
    expectProblem(
      await http.get(`/api/auth/orgs/${acme}/audit-events`, { token: carol }),
      403,
      'not_org_admin',
    );
    expectProblem(
      await http.get(`/api/auth/orgs/${acme}/audit-events`, { token: mallory }),
      404,
      'org_not_found',
    );
    expectProblem(await http.get(`/api/auth/orgs/${acme}/audit-events`), 401);
    for (const query of ['limit=0', 'limit=1000', 'after=abc', 'type=DROP TABLE', 'after=-1'])
      expectProblem(await http.get(`/api/auth/orgs/${acme}/audit-events?${query}`, { token: bob }), 400);
  });

  it('lets the platform admin read every event, with client and signing-key events; nobody else', async () => {
    const events = await all('/admin/audit-events', admin);
    const types = events.map((e) => e.type);
    for (const type of [
      'client.created',
      'client.secret_rotated',
      'client.deleted',
      'signing_key.rotated',
      'invitation.created',
    ])
      expect(types, type).toContain(type);
    expectProblem(await http.get('/admin/audit-events', { token: bob }), 403, 'not_platform_admin');
    const service = api.running.core.tokenIssuer.issueServiceToken(
      DEMO.serviceClientId,
      ['groups:read'],
      'auth-api',
    ).access_token;
    expectProblem(await http.get('/admin/audit-events', { token: service }), 403, 'insufficient_scope');
  });

  it('holds no password, secret, token or code, and is append-only', async () => {
    const dump = JSON.stringify(await api.running.core.db.selectFrom('audit_events').selectAll().execute());
    for (const secret of secrets) expect(dump).not.toContain(secret);
    await expect(sql`update audit_events set type = 'x'`.execute(api.running.core.db)).rejects.toThrow(
      /append-only/,
    );
    await expect(sql`delete from audit_events`.execute(api.running.core.db)).rejects.toThrow(/append-only/);
  });

  it('commits a sign-in and a sign-out with their audit events, or neither', async () => {
    const db = api.running.core.db;
    const sessions = async () =>
      Number((await sql<{ n: number }>`select count(*)::int as n from sessions`.execute(db)).rows[0]!.n);
    const live = async () =>
      Number(
        (
          await sql<{ n: number }>`select count(*)::int as n from sessions where revoked_at is null`.execute(
            db,
          )
        ).rows[0]!.n,
      );
    // The audit log refuses these two event types for a moment: the change they record must not stay.
    await sql`create or replace function refuse_session_audit() returns trigger language plpgsql as $$
      begin raise exception 'audit store unavailable'; end $$`.execute(db);
    await sql`create trigger refuse_session_audit before insert on audit_events for each row
      when (new.type in ('user.login_succeeded', 'session.ended')) execute function refuse_session_audit()`.execute(
      db,
    );
    try {
      const before = await sessions();
      const failed = await http.post('/api/auth/login', {
        body: { email: DEMO.users.carol, password: DEMO.password },
      });
      expect(failed.status).toBe(500);
      expect(await sessions()).toBe(before);

      const liveBefore = await live();
      const out = await http.post('/api/auth/logout', { token: carol });
      expect(out.status).toBe(500);
      expect(await live()).toBe(liveBefore);
    } finally {
      await sql`drop trigger refuse_session_audit on audit_events`.execute(db);
      await sql`drop function refuse_session_audit()`.execute(db);
    }
    // And with the audit log back, both work and are recorded.
    const signedIn = await http.login(DEMO.users.carol, DEMO.password);
    expect((await http.post('/api/auth/logout', { token: signedIn.token })).status).toBe(204);
  });
});
