import { DEMO, startTestAuthApi, type TestAuthApi } from '@groupchat/testkit/auth-api';
import { linkOf, startTestMailbox, type TestMailbox } from '@groupchat/testkit/mailbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSessionToken } from '../../src/sessions/service.ts';
import {
  expectAuthenticationRequired,
  expectProblem,
  MALFORMED_IDS,
  sessionCookieOf,
  setCookieLine,
  TestClient,
} from '../support/test-client.ts';

const PASSWORD = 'a-fresh-password-for-tests-42';
const NEW_PASSWORD = 'another-password-for-tests-43';

describe('invitations, email verification, passwords', () => {
  let mailbox: TestMailbox;
  let api: TestAuthApi;
  let http: TestClient;
  let acme: string;
  let globex: string;
  let bob: { token: string; cookie: string };
  let carolToken: string;
  let malloryToken: string;

  beforeAll(async () => {
    mailbox = await startTestMailbox();
    api = await startTestAuthApi({
      env: {
        SMTP_URL: mailbox.url,
        PUBLIC_WEB_URL: 'http://web.test',
        RATE_LIMIT_LOGIN_PER_IP: '1000',
        RATE_LIMIT_LOGIN_PER_EMAIL: '1000',
        RATE_LIMIT_ACCOUNT_PER_IP: '1000',
        RATE_LIMIT_FORGOT_PER_EMAIL: '1000',
      },
    });
    http = new TestClient(api.url);
    const b = await http.login(DEMO.users.bob, DEMO.password);
    bob = b;
    acme = b.user.org_id;
    carolToken = (await http.login(DEMO.users.carol, DEMO.password)).token;
    const m = await http.login(DEMO.users.mallory, DEMO.password);
    malloryToken = m.token;
    globex = m.user.org_id;
  });

  afterAll(async () => {
    // No response ever carried a token of a mail, a password or a hash.
    const tokens = mailbox.mails.map((mail) => linkOf(mail).token);
    for (const text of http?.seen ?? []) {
      for (const token of tokens) expect(text).not.toContain(token);
      expect(text).not.toContain(PASSWORD);
      expect(text).not.toContain('$argon2');
    }
    await api?.close();
    await mailbox?.close();
  });

  const invite = (email: string, token = bob.token, body: unknown = { email }) =>
    http.post(`/api/auth/orgs/${acme}/invitations`, { token, body });

  async function invitedToken(email: string, role?: 'admin' | 'member') {
    const response = await invite(email, bob.token, role ? { email, role } : { email });
    expect(response.status, response.text).toBe(201);
    const mail = await mailbox.to(email, 'invited');
    return { invitation: response.body.invitation, ...linkOf(mail) };
  }

  describe('invitations', () => {
    it('invites by email (201 and a mail); accepting signs in as a verified user of the org with the role', async () => {
      const { invitation, token, url } = await invitedToken('ivy@acme.example', 'admin');
      expect(invitation).toEqual({
        id: expect.any(String),
        email: 'ivy@acme.example',
        role: 'admin',
        org_id: acme,
        status: 'pending',
        expires_at: expect.stringMatching(/Z$/),
        created_at: expect.stringMatching(/Z$/),
      });
      const days = (Date.parse(invitation.expires_at) - Date.parse(invitation.created_at)) / 86_400_000;
      expect(Math.round(days)).toBe(7);
      expect(url).toMatch(/^http:\/\/web\.test\/#\/accept-invitation\?token=/);
      // Stored as a hash only.
      const row = await api.running.core.db
        .selectFrom('invitations')
        .selectAll()
        .where('id', '=', invitation.id)
        .executeTakeFirstOrThrow();
      expect(row.token_hash).toBe(hashSessionToken(token));
      expect(JSON.stringify(row)).not.toContain(token);

      const accepted = await http.post('/api/auth/invitations/accept', {
        body: { token, password: PASSWORD, display_name: ' Ivy ' },
      });
      expect(accepted.status, accepted.text).toBe(201);
      expect(accepted.body).toEqual({
        user: {
          id: expect.any(String),
          email: 'ivy@acme.example',
          display_name: 'Ivy',
          org_id: acme,
          role: 'admin',
          email_verified: true,
          mfa_enabled: false,
        },
        access_token: expect.any(String),
        token_type: 'Bearer',
        expires_in: 900,
      });
      const cookie = sessionCookieOf(accepted);
      expect(setCookieLine(accepted)).toContain('HttpOnly');
      const me = await http.get('/api/auth/me', { cookie });
      expect(me.body).toMatchObject({ email: 'ivy@acme.example', role: 'admin', email_verified: true });
      // Good once.
      expectProblem(
        await http.post('/api/auth/invitations/accept', {
          body: { token, password: PASSWORD, display_name: 'Ivy again' },
        }),
        400,
        'invalid_account_token',
      );
      const list = await http.get(`/api/auth/orgs/${acme}/invitations`, { token: bob.token });
      expect(list.body.invitations.find((i: { id: string }) => i.id === invitation.id).status).toBe(
        'accepted',
      );
    });

    it('a revoked invitation stops working; an expired one too; the list tells each status', async () => {
      const revoked = await invitedToken('rex@acme.example');
      const del = await http.delete(`/api/auth/orgs/${acme}/invitations/${revoked.invitation.id}`, {
        token: bob.token,
      });
      expect(del.status, del.text).toBe(204);
      // Again: 204 (idempotent).
      expect(
        (
          await http.delete(`/api/auth/orgs/${acme}/invitations/${revoked.invitation.id}`, {
            token: bob.token,
          })
        ).status,
      ).toBe(204);
      expectProblem(
        await http.post('/api/auth/invitations/accept', {
          body: { token: revoked.token, password: PASSWORD, display_name: 'Rex' },
        }),
        400,
        'invalid_account_token',
      );
      const expired = await invitedToken('old@acme.example');
      await api.running.core.db
        .updateTable('invitations')
        .set({ expires_at: new Date(Date.now() - 1000) })
        .where('id', '=', expired.invitation.id)
        .execute();
      expectProblem(
        await http.post('/api/auth/invitations/accept', {
          body: { token: expired.token, password: PASSWORD, display_name: 'Old' },
        }),
        400,
        'invalid_account_token',
      );
      const pending = await invitedToken('pen@acme.example');
      expectProblem(
        await http.post('/api/auth/invitations/accept', {
          body: { token: `${pending.token}x`, password: PASSWORD, display_name: 'Pen' },
        }),
        400,
        'invalid_account_token',
      );
      const list = await http.get(`/api/auth/orgs/${acme}/invitations`, { token: bob.token });
      expect(list.status).toBe(200);
      const status = (id: string) => list.body.invitations.find((i: { id: string }) => i.id === id)?.status;
      expect(status(revoked.invitation.id)).toBe('revoked');
      expect(status(expired.invitation.id)).toBe('expired');
      expect(status(pending.invitation.id)).toBe('pending');
      // Nobody was created for the refused tokens.
      const users = await http.get(`/api/auth/orgs/${acme}/users`, { token: bob.token });
      const emails = users.body.users.map((u: { email: string }) => u.email);
      expect(emails).not.toContain('rex@acme.example');
      expect(emails).not.toContain('old@acme.example');
    });

    it('refuses a registered email (409), a member (403), another org (404), services (403), bad input (400)', async () => {
      expectProblem(await invite('Carol@Acme.Example'), 409, 'email_taken');
      expectProblem(await invite('new1@acme.example', carolToken), 403, 'not_org_admin');
      expectProblem(await invite('new1@acme.example', malloryToken), 404, 'org_not_found');
      expectProblem(
        await http.get(`/api/auth/orgs/${acme}/invitations`, { token: malloryToken }),
        404,
        'org_not_found',
      );
      expectProblem(await http.get(`/api/auth/orgs/${acme}/invitations`, { token: carolToken }), 403);
      const service = api.running.core.tokenIssuer.issueServiceToken(
        DEMO.serviceClientId,
        ['groups:write', 'admin:clients'],
        'auth-api',
      ).access_token;
      expectProblem(await invite('new1@acme.example', service), 403, 'user_required');
      expectAuthenticationRequired(
        await http.post(`/api/auth/orgs/${acme}/invitations`, { body: { email: 'x@acme.example' } }),
      );
      for (const body of [{ email: 'nope' }, { email: 'a@b.example', role: 'owner' }, {}])
        expectProblem(await invite('', bob.token, body), 400);
      for (const id of MALFORMED_IDS)
        expectProblem(
          await http.delete(`/api/auth/orgs/${acme}/invitations/${encodeURIComponent(id)}`, {
            token: bob.token,
          }),
          400,
        );
      // Another org's invitation, or an unknown one: 404.
      const theirs = await http.post(`/api/auth/orgs/${globex}/invitations`, {
        token: malloryToken,
        body: { email: 'g1@globex.example' },
      });
      expect(theirs.status).toBe(201);
      expectProblem(
        await http.delete(`/api/auth/orgs/${acme}/invitations/${theirs.body.invitation.id}`, {
          token: bob.token,
        }),
        404,
        'invitation_not_found',
      );
      expectProblem(
        await http.delete(`/api/auth/orgs/${globex}/invitations/${theirs.body.invitation.id}`, {
          token: bob.token,
        }),
        404,
        'org_not_found',
      );
      for (const body of [
        {},
        { token: 'x', password: 'short', display_name: 'X' },
        { token: 'x', password: PASSWORD },
      ])
        expectProblem(await http.post('/api/auth/invitations/accept', { body }), 400);
    });
  });

  describe('email verification', () => {
    it('register sends the mail; its token verifies once; wrong and expired tokens are 400', async () => {
      const email = 'verify-me@initech.example';
      const registered = await http.post('/api/auth/register', {
        body: { email, password: PASSWORD, display_name: 'Vera', org_name: 'Initech' },
      });
      expect(registered.status, registered.text).toBe(201);
      expect(registered.body.user.email_verified).toBe(false);
      const { token, url } = linkOf(await mailbox.to(email, 'Confirm'));
      expect(url).toContain('/#/verify-email?token=');
      expectProblem(
        await http.post('/api/auth/email/verify', { body: { token: 'nope' } }),
        400,
        'invalid_account_token',
      );
      const ok = await http.post('/api/auth/email/verify', { body: { token } });
      expect(ok.status, ok.text).toBe(204);
      const me = await http.login(email, PASSWORD);
      expect(me.user).toMatchObject({ email_verified: true });
      expectProblem(
        await http.post('/api/auth/email/verify', { body: { token } }),
        400,
        'invalid_account_token',
      );
      expectProblem(await http.post('/api/auth/email/verify', { body: {} }), 400);

      const other = 'verify-late@initech.example';
      await http.post('/api/auth/register', {
        body: { email: other, password: PASSWORD, display_name: 'Late', org_name: 'Late' },
      });
      const late = linkOf(await mailbox.to(other, 'Confirm')).token;
      await api.running.core.db
        .updateTable('account_tokens')
        .set({ expires_at: new Date(Date.now() - 1000) })
        .where('token_hash', '=', hashSessionToken(late))
        .execute();
      expectProblem(
        await http.post('/api/auth/email/verify', { body: { token: late } }),
        400,
        'invalid_account_token',
      );
    });
  });

  describe('password forgot and reset', () => {
    it('answers 202 with the same body for a known and an unknown email; mails only the known one', async () => {
      const known = await http.post('/api/auth/password/forgot', { body: { email: 'Carol@acme.example' } });
      const unknown = await http.post('/api/auth/password/forgot', {
        body: { email: 'nobody@acme.example' },
      });
      expect(known.status).toBe(202);
      expect(unknown.status).toBe(202);
      expect(unknown.text).toBe(known.text);
      expect(unknown.headers.get('content-type')).toBe(known.headers.get('content-type'));
      const mail = await mailbox.to(DEMO.users.carol, 'Reset');
      expect(linkOf(mail).url).toContain('/#/reset-password?token=');
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(mailbox.mails.some((m) => m.to.includes('nobody@acme.example'))).toBe(false);
      expectProblem(await http.post('/api/auth/password/forgot', { body: { email: 'bad' } }), 400);
    });

    it('takes the same time whether or not the email exists', async () => {
      const sample = async (email: string) => {
        const started = performance.now();
        const response = await http.post('/api/auth/password/forgot', { body: { email } });
        expect(response.status).toBe(202);
        return performance.now() - started;
      };
      const known: number[] = [];
      const unknown: number[] = [];
      for (let i = 0; i < 15; i++) {
        known.push(await sample(DEMO.users.mallory));
        unknown.push(await sample(`ghost-${i}@globex.example`));
      }
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      // The request does no email-dependent work: medians within a few milliseconds of each other.
      expect(Math.abs(median(known) - median(unknown))).toBeLessThan(Math.max(5, median(unknown) * 0.5));
    });

    it('resets once with the mailed token; every session and earlier token of the user is refused', async () => {
      const email = 'resetme@acme.example';
      const { token: inviteToken } = await invitedToken(email);
      const created = await http.post('/api/auth/invitations/accept', {
        body: { token: inviteToken, password: PASSWORD, display_name: 'Resa' },
      });
      const first = { token: created.body.access_token, cookie: sessionCookieOf(created)! };
      const second = await http.login(email, PASSWORD);
      expect((await http.get('/api/auth/me', { token: first.token })).status).toBe(200);

      await http.post('/api/auth/password/forgot', { body: { email } });
      const older = linkOf(await mailbox.to(email, 'Reset')).token;
      await http.post('/api/auth/password/forgot', { body: { email } });
      const newer = linkOf(await mailbox.to(email, 'Reset')).token;
      expect(newer).not.toBe(older);
      expectProblem(
        await http.post('/api/auth/password/reset', {
          body: { token: 'x'.repeat(43), password: NEW_PASSWORD },
        }),
        400,
        'invalid_account_token',
      );
      expectProblem(
        await http.post('/api/auth/password/reset', { body: { token: newer, password: 'short' } }),
        400,
      );
      const reset = await http.post('/api/auth/password/reset', {
        body: { token: newer, password: NEW_PASSWORD },
      });
      expect(reset.status, reset.text).toBe(204);
      // Used once; the older mail's token died with it.
      expectProblem(
        await http.post('/api/auth/password/reset', { body: { token: newer, password: PASSWORD } }),
        400,
        'invalid_account_token',
      );
      expectProblem(
        await http.post('/api/auth/password/reset', { body: { token: older, password: PASSWORD } }),
        400,
        'invalid_account_token',
      );
      // Every session and token before the reset is dead.
      for (const s of [first, second]) {
        expect((await http.get('/api/auth/me', { token: s.token })).status).toBe(401);
        expectProblem(await http.get('/api/auth/me', { cookie: s.cookie }), 401, 'invalid_session');
      }
      expect((await http.post('/api/auth/login', { body: { email, password: PASSWORD } })).status).toBe(401);
      await http.login(email, NEW_PASSWORD);
    });

    it('refuses an expired reset token', async () => {
      await http.post('/api/auth/password/forgot', { body: { email: DEMO.users.mallory } });
      const { token } = linkOf(await mailbox.to(DEMO.users.mallory, 'Reset'));
      const row = await api.running.core.db
        .selectFrom('account_tokens')
        .select(['created_at', 'expires_at'])
        .where('token_hash', '=', hashSessionToken(token))
        .executeTakeFirstOrThrow();
      expect(row.expires_at.getTime() - row.created_at.getTime()).toBeLessThanOrEqual(3_600_000 + 5_000);
      await api.running.core.db
        .updateTable('account_tokens')
        .set({ expires_at: new Date(Date.now() - 1000) })
        .where('token_hash', '=', hashSessionToken(token))
        .execute();
      expectProblem(
        await http.post('/api/auth/password/reset', { body: { token, password: NEW_PASSWORD } }),
        400,
        'invalid_account_token',
      );
      await http.login(DEMO.users.mallory, DEMO.password);
    });
  });

  describe('password change', () => {
    it('needs the current password; ends the other sessions and keeps this one', async () => {
      const email = 'changer@acme.example';
      const { token } = await invitedToken(email);
      const created = await http.post('/api/auth/invitations/accept', {
        body: { token, password: PASSWORD, display_name: 'Cha' },
      });
      const here = created.body.access_token as string;
      const other = await http.login(email, PASSWORD);
      expectProblem(
        await http.post('/api/auth/password/change', {
          token: here,
          body: { current_password: 'wrong-password-1', new_password: NEW_PASSWORD },
        }),
        400,
        'wrong_current_password',
      );
      expectProblem(
        await http.post('/api/auth/password/change', {
          token: here,
          body: { current_password: PASSWORD, new_password: 'short' },
        }),
        400,
      );
      expectAuthenticationRequired(
        await http.post('/api/auth/password/change', {
          body: { current_password: PASSWORD, new_password: NEW_PASSWORD },
        }),
      );
      const changed = await http.post('/api/auth/password/change', {
        token: here,
        body: { current_password: PASSWORD, new_password: NEW_PASSWORD },
      });
      expect(changed.status, changed.text).toBe(204);
      expect((await http.get('/api/auth/me', { token: here })).status).toBe(200);
      expect((await http.get('/api/auth/me', { token: other.token })).status).toBe(401);
      expect((await http.get('/api/auth/me', { cookie: other.cookie })).status).toBe(401);
      await http.login(email, NEW_PASSWORD);
      const service = api.running.core.tokenIssuer.issueServiceToken(
        DEMO.serviceClientId,
        [],
        'auth-api',
      ).access_token;
      expectProblem(
        await http.post('/api/auth/password/change', {
          token: service,
          body: { current_password: PASSWORD, new_password: NEW_PASSWORD },
        }),
        403,
        'user_required',
      );
    });
  });
});

describe('account limits', () => {
  let mailbox: TestMailbox;
  let api: TestAuthApi;
  let http: TestClient;

  beforeAll(async () => {
    mailbox = await startTestMailbox();
    api = await startTestAuthApi({
      env: { SMTP_URL: mailbox.url, RATE_LIMIT_ACCOUNT_PER_IP: '4', RATE_LIMIT_FORGOT_PER_EMAIL: '2' },
    });
    http = new TestClient(api.url);
  });

  afterAll(async () => {
    await api?.close();
    await mailbox?.close();
  });

  const limited = (response: Awaited<ReturnType<TestClient['post']>>) => {
    expectProblem(response, 429, 'rate_limited');
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  };

  it('limits forgot per email, then per address; reset, accept and verify per address', async () => {
    for (let i = 0; i < 2; i++)
      expect((await http.post('/api/auth/password/forgot', { body: { email: DEMO.users.bob } })).status).toBe(
        202,
      );
    limited(await http.post('/api/auth/password/forgot', { body: { email: 'BOB@acme.example' } }));
    // Another email from the same address still passes (2 of the 4 per address are used... now 3).
    expect((await http.post('/api/auth/password/forgot', { body: { email: DEMO.users.carol } })).status).toBe(
      202,
    );
    limited(await http.post('/api/auth/password/forgot', { body: { email: DEMO.users.mallory } }));
    const body = { token: 'x'.repeat(43), password: PASSWORD };
    for (let i = 0; i < 4; i++)
      expect((await http.post('/api/auth/password/reset', { body })).status).toBe(400);
    limited(await http.post('/api/auth/password/reset', { body }));
    for (let i = 0; i < 4; i++)
      expect(
        (await http.post('/api/auth/invitations/accept', { body: { ...body, display_name: 'X' } })).status,
      ).toBe(400);
    limited(await http.post('/api/auth/invitations/accept', { body: { ...body, display_name: 'X' } }));
    for (let i = 0; i < 4; i++)
      expect((await http.post('/api/auth/email/verify', { body: { token: 'x' } })).status).toBe(400);
    limited(await http.post('/api/auth/email/verify', { body: { token: 'x' } }));
  });
});
