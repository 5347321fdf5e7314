/**
 * chat-api and tokens an app holds for a user (auth-api's authorization-code flow): accepted when
 * their `aud` names chat-api (RFC 8707 `resource=chat-api` at the token endpoint), refused otherwise,
 * limited to the scopes the app was granted (groups:read to read, groups:write to change anything)
 * and to the user's own groups, and refused once the user disconnects the app.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  type ApiResponse,
  api,
  DEMO,
  eventually,
  generalGroupId,
  login,
  type Platform,
  startPlatform,
  storedState,
  TestSocket,
  type User,
} from './helpers.ts';

let platform: Platform;
let authUrl: string;
let chatUrl: string;
let wsUrl: string;
let bob: User;
let carol: User;
let mallory: User;
let general: string;
const REDIRECT = 'http://127.0.0.1:9/cb';

beforeAll(async () => {
  // A failure limit that this file's requests stay under, but an app refused 70 times would cross.
  platform = await startPlatform({ chatEnv: { RATE_LIMIT_FAILURES_PER_MINUTE: '60' } });
  authUrl = platform.auth.url;
  chatUrl = platform.chats[0]!.url;
  wsUrl = platform.chats[0]!.wsUrl;
  [bob, carol, mallory] = await Promise.all([
    login(authUrl, DEMO.users.bob),
    login(authUrl, DEMO.users.carol),
    login(authUrl, DEMO.users.mallory),
  ]);
  general = await generalGroupId(authUrl, bob);
  const admin = await login(authUrl, DEMO.users.admin);
  const created = await api('POST', `${authUrl}/admin/oauth/clients`, {
    token: admin.token,
    body: {
      client_id: 'chat-bot-app',
      client_name: 'Chat bot',
      client_type: 'public',
      allowed_scopes: ['openid', 'groups:read', 'groups:write'],
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
async function authorize(
  email: string,
  scope = 'openid groups:read',
): Promise<{ code: string; verifier: string; cookie: string }> {
  const verifier = randomBytes(32).toString('base64url');
  const url = new URL(`${authUrl}/oauth/authorize`);
  for (const [name, value] of Object.entries({
    response_type: 'code',
    client_id: 'chat-bot-app',
    redirect_uri: REDIRECT,
    scope,
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

/** A token for chat-api that the app holds for the user, with the scopes it asked for. */
async function appToken(email: string, scope: string) {
  const { code, verifier } = await authorize(email, scope);
  const issued = await token({
    grant_type: 'authorization_code',
    code,
    redirect_uri: REDIRECT,
    code_verifier: verifier,
    resource: 'chat-api',
  });
  expect(issued.status).toBe(200);
  expect(issued.body.scope?.split(' ').sort()).toEqual(scope.split(' ').sort());
  return issued.body;
}

const messages = `/api/chat/groups/:g/messages`;
const at = (path: string) => `${chatUrl}${path.replace(':g', () => general)}`;

/** RFC 6750 §3.1: 403 problem+json with the challenge naming the missing scope. */
function expectInsufficientScope(response: ApiResponse, scope: string, what: string) {
  expect(response.status, what).toBe(403);
  expect(response.headers.get('content-type'), what).toContain('application/problem+json');
  expect(response.body, what).toMatchObject({ status: 403, code: 'insufficient_scope', scope });
  expect(response.headers.get('www-authenticate'), what).toBe(
    `Bearer realm="chat-api", error="insufficient_scope", scope="${scope}"`,
  );
}

it('a read-only app token reads but changes nothing; the same app with groups:write posts, edits and reacts', async () => {
  const readOnly = (await appToken(DEMO.users.bob, 'openid groups:read')).access_token!;
  const payload = JSON.parse(Buffer.from(readOnly.split('.')[1]!, 'base64url').toString());
  expect(payload).toMatchObject({ aud: 'chat-api', client_id: 'chat-bot-app', sub: bob.userId });
  // A message of Bob's own (posted from the platform's web token) for the app to try to change.
  const own = await api('POST', at(messages), { token: bob.token, body: { content: 'Bob, by hand' } });
  expect(own.status).toBe(201);
  const id = own.body.id as string;

  const read = await api('GET', at(`${messages}?limit=5`), { token: readOnly });
  expect(read.status).toBe(200);
  expect(read.body.messages.map((m: { id: string }) => m.id)).toContain(id);
  expect((await api('GET', at(`${messages}/${id}`), { token: readOnly })).status).toBe(200);
  expect((await api('GET', at('/api/chat/groups/:g/events?limit=1'), { token: readOnly })).status).toBe(200);
  // The app's token names chat-api alone: chat-api lists Bob's groups with its own service token.
  const unread = await api('GET', `${chatUrl}/api/chat/unread`, { token: readOnly });
  expect(unread.status, JSON.stringify(unread.body)).toBe(200);
  expect(unread.body.groups.map((g: { group_id: string }) => g.group_id)).toContain(general);
  const found = await api('GET', `${chatUrl}/api/chat/search?q=hand`, { token: readOnly });
  expect(found.status, JSON.stringify(found.body)).toBe(200);
  expect(found.body.messages.map((m: { id: string }) => m.id)).toContain(id);

  const before = await storedState(platform.chats[0]!);
  const writes: [string, string, unknown][] = [
    ['POST', messages, { content: 'posted by an app for Bob' }],
    ['POST', messages, { content: 'a reply by the app', thread_root_id: id }],
    ['PATCH', `${messages}/${id}`, { content: 'edited by the app' }],
    ['DELETE', `${messages}/${id}`, undefined],
    ['PUT', `${messages}/${id}/reactions/${encodeURIComponent('👍')}`, undefined],
    ['DELETE', `${messages}/${id}/reactions/${encodeURIComponent('👍')}`, undefined],
    ['PUT', '/api/chat/groups/:g/read', { message_id: id }],
  ];
  for (const [method, path, body] of writes) {
    const refused = await api(method, at(path), { token: readOnly, ...(body ? { body } : {}) });
    expectInsufficientScope(refused, 'groups:write', `${method} ${path}`);
  }
  // Also with a body that would fail validation: the scope is checked first, nothing about inputs leaks.
  expectInsufficientScope(
    await api('POST', at(messages), { token: readOnly, body: { content: 42 } }),
    'groups:write',
    'invalid body',
  );
  expect(await storedState(platform.chats[0]!)).toEqual(before);
  const unchanged = await api('GET', at(`${messages}/${id}`), { token: bob.token });
  expect(unchanged.body).toMatchObject({
    content: 'Bob, by hand',
    edited_at: null,
    deleted_at: null,
    reactions: [],
  });

  // The same app, granted groups:write too: every one of those works, as Bob.
  const readWrite = (await appToken(DEMO.users.bob, 'openid groups:read groups:write')).access_token!;
  const posted = await api('POST', at(messages), {
    token: readWrite,
    body: { content: 'posted by an app for Bob' },
  });
  expect(posted.status).toBe(201);
  expect(posted.body.sender_id).toBe(bob.userId);
  expect(
    (
      await api('PATCH', at(`${messages}/${id}`), {
        token: readWrite,
        body: { content: 'edited by the app' },
      })
    ).status,
  ).toBe(200);
  expect(
    (await api('PUT', at(`${messages}/${id}/reactions/${encodeURIComponent('👍')}`), { token: readWrite }))
      .status,
  ).toBe(200);
  expect(
    (
      await api('PUT', at('/api/chat/groups/:g/read'), {
        token: readWrite,
        body: { message_id: posted.body.id },
      })
    ).status,
  ).toBe(200);
  expect(await storedState(platform.chats[0]!)).not.toEqual(before);

  // Write without read: the app may post but not read.
  const writeOnly = (await appToken(DEMO.users.bob, 'openid groups:write')).access_token!;
  expectInsufficientScope(
    await api('GET', at(messages), { token: writeOnly }),
    'groups:read',
    'GET timeline',
  );
  expectInsufficientScope(
    await api('GET', `${chatUrl}/api/chat/search?q=app`, { token: writeOnly }),
    'groups:read',
    'search',
  );
  expect(
    (await api('POST', at(messages), { token: writeOnly, body: { content: 'write only' } })).status,
  ).toBe(201);
}, 120_000);

it('an app that keeps trying writes its token may not do gets 403 each time, never blocks its user', async () => {
  const readOnly = (await appToken(DEMO.users.carol, 'openid groups:read')).access_token!;
  // More refusals than the failure limit (60 a minute here): they are the app's, not a probe of groups.
  for (let i = 0; i < 70; i++) {
    const refused = await api('POST', at(messages), { token: readOnly, body: { content: `try ${i}` } });
    expect(refused.status, `attempt ${i}`).toBe(403);
  }
  expect((await api('GET', at(`${messages}?limit=1`), { token: carol.token })).status).toBe(200);
  expect(
    (await api('POST', at(messages), { token: carol.token, body: { content: 'Carol is not blocked' } }))
      .status,
  ).toBe(201);
});

it('over the WebSocket, a read-only app token subscribes and receives but may not signal typing; with groups:write it may', async () => {
  const readOnly = (await appToken(DEMO.users.bob, 'openid groups:read')).access_token!;
  const readWrite = (await appToken(DEMO.users.bob, 'openid groups:read groups:write')).access_token!;
  const writeOnly = (await appToken(DEMO.users.bob, 'openid groups:write')).access_token!;
  const watcher = await TestSocket.connect(wsUrl, carol.token);
  expect((await watcher.subscribe(general)).type).toBe('subscribed');

  const app = await TestSocket.connect(wsUrl, readOnly);
  expect((await app.subscribe(general)).type).toBe('subscribed');
  const live = await api('POST', at(messages), { token: carol.token, body: { content: 'seen by the app' } });
  await app.waitFor((f) => f.type === 'message' && f.message.id === live.body.id);

  const watcherFrom = watcher.frames.length;
  const appFrom = app.frames.length;
  app.send({ type: 'typing', group_id: general });
  const refused = await app.waitFor((f) => f.type === 'error', 2_000, appFrom);
  expect(refused).toMatchObject({ group_id: general, status: 403 });
  expect(refused.detail).toContain('groups:write');
  // The connection stays, and Carol was told nothing: a post of hers arrives first, no typing before it.
  const marker = await api('POST', at(messages), { token: carol.token, body: { content: 'after typing' } });
  await watcher.waitFor((f) => f.type === 'message' && f.message.id === marker.body.id, 5_000, watcherFrom);
  expect(watcher.frames.slice(watcherFrom).filter((f) => f.type === 'typing')).toEqual([]);
  expect(app.socket.readyState).toBe(app.socket.OPEN);

  // The positive pair: the same user through a token with groups:write is forwarded.
  const writer = await TestSocket.connect(wsUrl, readWrite);
  expect((await writer.subscribe(general)).type).toBe('subscribed');
  writer.send({ type: 'typing', group_id: general });
  expect(await watcher.waitFor((f) => f.type === 'typing', 3_000, watcherFrom)).toEqual({
    type: 'typing',
    group_id: general,
    user_id: bob.userId,
  });

  // Without groups:read a subscribe is refused (403), and a later auth frame with such a token ends the
  // subscriptions the connection had.
  const blind = await TestSocket.connect(wsUrl, writeOnly);
  expect(await blind.subscribe(general)).toMatchObject({ type: 'error', status: 403 });
  const writerFrom = writer.frames.length;
  writer.send({ type: 'auth', token: writeOnly });
  expect(await writer.waitFor((f) => f.type === 'error', 3_000, writerFrom)).toMatchObject({
    group_id: general,
    status: 403,
  });
  const unseen = await api('POST', at(messages), { token: carol.token, body: { content: 'not for writer' } });
  await app.waitFor((f) => f.type === 'message' && f.message.id === unseen.body.id);
  expect(writer.messages(general).map((m) => m.id)).not.toContain(unseen.body.id);
  for (const socket of [watcher, app, writer, blind]) socket.close();
}, 120_000);

it('accepts a delegated token only when its aud names chat-api, within the user’s groups; refuses it once the app revokes its grant', async () => {
  const issued = { body: await appToken(DEMO.users.bob, 'openid groups:read') };

  // A token for auth-api (no resource) is not one for chat-api.
  const refreshed = await token({ grant_type: 'refresh_token', refresh_token: issued.body.refresh_token! });
  expect(refreshed.status).toBe(200);
  const wrongAudience = await api('GET', `${chatUrl}/api/chat/groups/${general}/messages`, {
    token: refreshed.body.access_token!,
  });
  expect(wrongAudience.status).toBe(401);

  // Mallory's app token cannot read Bob's org's group: the app never does more than its user could.
  const malloryToken = await appToken(DEMO.users.mallory, 'openid groups:read groups:write');
  const foreign = await api('GET', `${chatUrl}/api/chat/groups/${general}/messages`, {
    token: malloryToken.access_token!,
  });
  expect(foreign.status).toBe(404);
  const foreignPost = await api('POST', `${chatUrl}/api/chat/groups/${general}/messages`, {
    token: malloryToken.access_token!,
    body: { content: 'from another org' },
  });
  expect(foreignPost.status).toBe(404);
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
