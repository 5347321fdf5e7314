/**
 * chat-api and tokens an app holds for a user (auth-api's authorization-code flow): accepted when
 * their `aud` names chat-api (RFC 8707 `resource=chat-api` at the token endpoint), refused otherwise,
 * still limited to the user's own groups, and refused once the user disconnects the app.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  api,
  DEMO,
  eventually,
  generalGroupId,
  login,
  type Platform,
  startPlatform,
  type User,
} from './helpers.ts';

let platform: Platform;
let authUrl: string;
let chatUrl: string;
let bob: User;
let mallory: User;
const REDIRECT = 'http://127.0.0.1:9/cb';

beforeAll(async () => {
  platform = await startPlatform();
  authUrl = platform.auth.url;
  chatUrl = platform.chats[0]!.url;
  [bob, mallory] = await Promise.all([login(authUrl, DEMO.users.bob), login(authUrl, DEMO.users.mallory)]);
  const admin = await login(authUrl, DEMO.users.admin);
  const created = await api('POST', `${authUrl}/admin/oauth/clients`, {
    token: admin.token,
    body: {
      client_id: 'chat-bot-app',
      client_name: 'Chat bot',
      client_type: 'public',
      allowed_scopes: ['openid', 'groups:read'],
      grant_types: ['authorization_code', 'refresh_token'],
      redirect_uris: [REDIRECT],
      first_party: true,
    },
  });
  expect(created.status).toBe(201);
}, 180_000);

afterAll(async () => {
  await platform?.close();
});

/** Signs the user in on auth-api's page and returns the code (first-party app: no consent step). */
async function authorize(email: string): Promise<{ code: string; verifier: string; cookie: string }> {
  const verifier = randomBytes(32).toString('base64url');
  const url = new URL(`${authUrl}/oauth/authorize`);
  for (const [name, value] of Object.entries({
    response_type: 'code',
    client_id: 'chat-bot-app',
    redirect_uri: REDIRECT,
    scope: 'openid groups:read',
    state: 's',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }))
    url.searchParams.set(name, value);
  const page = await fetch(url, { redirect: 'manual' });
  const csrf = /oauth_csrf=([^;]+)/.exec(page.headers.get('set-cookie') ?? '')![1]!;
  const form = new URLSearchParams();
  for (const match of (await page.text()).matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g))
    form.set(match[1]!, match[2]!.replace(/&amp;/g, '&'));
  form.set('email', email);
  form.set('password', DEMO.password);
  const signedIn = await fetch(`${authUrl}/oauth/authorize/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      cookie: `oauth_csrf=${csrf}`,
      origin: authUrl,
    },
    body: form.toString(),
  });
  expect(signedIn.status).toBe(303);
  const code = new URL(signedIn.headers.get('location')!).searchParams.get('code')!;
  const cookie = /(?:^|, )sid=([^;]+)/.exec(signedIn.headers.get('set-cookie') ?? '')![1]!;
  return { code, verifier, cookie };
}

async function token(params: Record<string, string>) {
  const response = await fetch(`${authUrl}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: 'chat-bot-app', ...params }).toString(),
  });
  return { status: response.status, body: (await response.json()) as Record<string, string> };
}

it('accepts a delegated token whose aud names chat-api, within the user’s groups; refuses it once the app revokes its grant', async () => {
  const general = await generalGroupId(authUrl, bob);
  const { code, verifier } = await authorize(DEMO.users.bob);
  const issued = await token({
    grant_type: 'authorization_code',
    code,
    redirect_uri: REDIRECT,
    code_verifier: verifier,
    resource: 'chat-api',
  });
  expect(issued.status).toBe(200);
  const payload = JSON.parse(Buffer.from(issued.body.access_token!.split('.')[1]!, 'base64url').toString());
  expect(payload).toMatchObject({ aud: 'chat-api', client_id: 'chat-bot-app', sub: bob.userId });

  const posted = await api('POST', `${chatUrl}/api/chat/groups/${general}/messages`, {
    token: issued.body.access_token!,
    body: { content: 'posted by an app for Bob' },
  });
  expect(posted.status).toBe(201);
  expect(posted.body.sender_id).toBe(bob.userId);

  // A token for auth-api (no resource) is not one for chat-api.
  const refreshed = await token({ grant_type: 'refresh_token', refresh_token: issued.body.refresh_token! });
  expect(refreshed.status).toBe(200);
  const wrongAudience = await api('GET', `${chatUrl}/api/chat/groups/${general}/messages`, {
    token: refreshed.body.access_token!,
  });
  expect(wrongAudience.status).toBe(401);

  // Mallory's app token cannot read Bob's org's group: the app never does more than its user could.
  const hers = await authorize(DEMO.users.mallory);
  const malloryToken = await token({
    grant_type: 'authorization_code',
    code: hers.code,
    redirect_uri: REDIRECT,
    code_verifier: hers.verifier,
    resource: 'chat-api',
  });
  const foreign = await api('GET', `${chatUrl}/api/chat/groups/${general}/messages`, {
    token: malloryToken.body.access_token!,
  });
  expect(foreign.status).toBe(404);
  void mallory;

  // The app revokes its refresh token (RFC 7009, a public client names itself): the grant ends, and
  // with it the app's chat-api token, within the revocation delay.
  const revoked = await fetch(`${authUrl}/oauth/revoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: 'chat-bot-app', token: refreshed.body.refresh_token! }).toString(),
  });
  expect(revoked.status).toBe(200);
  await eventually(
    async () =>
      (
        await api('GET', `${chatUrl}/api/chat/groups/${general}/messages`, {
          token: issued.body.access_token!,
        })
      ).status === 401,
    5_000,
    'the revoked grant refused by chat-api',
  );
}, 120_000);
