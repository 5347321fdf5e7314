import { uuidv7 } from '@groupchat/service-kit';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addMember,
  api,
  createGroup,
  DEMO,
  eventually,
  generalGroupId,
  login,
  type Platform,
  removeMember,
  startPlatform,
  type User,
} from './helpers.ts';

/** chat-api against the real auth-api over HTTP (through a counting proxy). */
describe('chat-api REST with the real auth-api', () => {
  let platform: Platform;
  let chatUrl: string;
  let authUrl: string;
  let bob: User;
  let carol: User;
  let mallory: User;
  let general: string;
  const messagesUrl = (groupId: string) => `${chatUrl}/api/chat/groups/${groupId}/messages`;
  const post = (user: User, groupId: string, body: unknown) =>
    api('POST', messagesUrl(groupId), { token: user.token, body });
  const get = (user: User, groupId: string, query = '') =>
    api('GET', `${messagesUrl(groupId)}${query}`, { token: user.token });

  beforeAll(async () => {
    platform = await startPlatform({ proxy: true });
    chatUrl = platform.chats[0]!.url;
    authUrl = platform.auth.url;
    [bob, carol, mallory] = await Promise.all([
      login(authUrl, DEMO.users.bob),
      login(authUrl, DEMO.users.carol),
      login(authUrl, DEMO.users.mallory),
    ]);
    general = await generalGroupId(authUrl, bob);
  });
  afterAll(async () => {
    await platform?.close();
  });

  it('cold start under concurrency: one token request and one group load for many requests', async () => {
    const proxy = platform.proxy!;
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => post(i % 2 ? bob : carol, general, { content: `warm ${i}` })),
    );
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(201));
    expect(proxy.count((path) => path === '/oauth/token')).toBe(1);
    expect(proxy.count((path) => path === `/api/auth/groups/${general}`)).toBe(1);
    expect(proxy.count((path) => path === `/api/auth/groups/${general}/members`)).toBe(1);
    expect(proxy.count((path) => path === '/.well-known/jwks.json')).toBe(1);
  });

  it('seed flow: Bob sends, Carol reads', async () => {
    const sent = await post(bob, general, { content: '  Hello Carol!  ' });
    expect(sent.status).toBe(201);
    expect(sent.headers.get('content-type')).toMatch(/^application\/json/);
    expect(sent.headers.get('x-request-id')).toBeTruthy();
    expect(sent.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
      group_id: general,
      org_id: bob.orgId,
      seq: expect.any(Number),
      sender_id: bob.userId,
      content: 'Hello Carol!',
      client_message_id: null,
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/),
      thread_root_id: null,
      reply_count: 0,
      last_reply_at: null,
      edited_at: null,
      deleted_at: null,
      reactions: [],
      mentions: [],
    });
    const read = await get(carol, general, '?limit=1');
    expect(read.status).toBe(200);
    expect(read.body.messages).toEqual([sent.body]);
    expect(read.body.next_cursor).toBe(sent.body.id);
  });

  it('same-org non-member: 403 on read and send', async () => {
    const privateGroup = await createGroup(authUrl, bob, `private-${uuidv7()}`);
    expect((await post(bob, privateGroup, { content: 'only me' })).status).toBe(201);
    const read = await get(carol, privateGroup);
    expect(read.status).toBe(403);
    expect(read.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(read.body).toMatchObject({
      status: 403,
      title: 'Forbidden',
      type: expect.any(String),
      detail: expect.any(String),
    });
    expect((await post(carol, privateGroup, { content: 'let me in' })).status).toBe(403);
  });

  it('other org: 404 on read and send, like a group that does not exist', async () => {
    const read = await get(mallory, general);
    expect(read.status).toBe(404);
    expect(read.body).toMatchObject({ status: 404 });
    expect((await post(mallory, general, { content: 'hi' })).status).toBe(404);
    const missing = await get(bob, uuidv7());
    expect(missing.status).toBe(404);
    expect(missing.body.detail).toBe(read.body.detail);
  });

  it('idempotent resend: 201 first, 200 with the first message after, nothing duplicated', async () => {
    const clientMessageId = `cm-${uuidv7()}`;
    const first = await post(bob, general, { content: 'once', client_message_id: clientMessageId });
    expect(first.status).toBe(201);
    const again = await post(bob, general, { content: 'once (retry)', client_message_id: clientMessageId });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    const concurrent = await Promise.all(
      Array.from({ length: 10 }, () =>
        post(bob, general, { content: 'once', client_message_id: clientMessageId }),
      ),
    );
    expect(concurrent.map((r) => r.status)).toEqual(Array(10).fill(200));
    const page = await get(carol, general, '?limit=100');
    expect(page.body.messages.filter((m: any) => m.client_message_id === clientMessageId)).toHaveLength(1);
    // The key is per sender: Carol's message with the same key is hers.
    expect((await post(carol, general, { content: 'mine', client_message_id: clientMessageId })).status).toBe(
      201,
    );
  });

  it('pages 230 messages without gaps in both directions', async () => {
    const group = await createGroup(authUrl, bob, `pages-${uuidv7()}`, [carol]);
    const sent: string[] = [];
    for (let i = 0; i < 230; i++) {
      const result = await post(i % 3 ? bob : carol, group, { content: `message ${i}` });
      expect(result.status).toBe(201);
      sent.push(result.body.id);
    }
    // Newest first, with `before`.
    const backwards: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: any = await get(carol, group, `?limit=100${cursor ? `&before=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      backwards.push(...page.body.messages.map((m: any) => m.id));
      cursor = page.body.next_cursor;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(3);
    expect(backwards.reverse()).toEqual(sent);
    // Oldest first, with `after`, from the first message; default page size 50.
    const forwards = [sent[0]!];
    cursor = sent[0]!;
    while (cursor) {
      const page: any = await get(bob, group, `?after=${cursor}`);
      expect(page.body.messages.length).toBeLessThanOrEqual(50);
      forwards.push(...page.body.messages.map((m: any) => m.id));
      cursor = page.body.next_cursor;
    }
    expect(forwards).toEqual(sent);
    // A cursor is a message id: any message works as a starting point.
    const middle = await get(bob, group, `?before=${sent[100]}&limit=2`);
    expect(middle.body.messages.map((m: any) => m.id)).toEqual([sent[99], sent[98]]);
    const end = await get(bob, group, `?after=${sent[228]}`);
    expect(end.body).toEqual({ messages: [expect.objectContaining({ id: sent[229] })], next_cursor: null });
  });

  it('bad ids, queries and bodies: 400 problem+json, never 500', async () => {
    const cases: [string, () => Promise<{ status: number; headers: Headers; body: any }>][] = [
      ['group id not a uuid', () => get(bob, 'not-a-uuid')],
      ['group id not a uuid (post)', () => post(bob, '123', { content: 'x' })],
      ['no body', () => api('POST', messagesUrl(general), { token: bob.token, raw: '' })],
      ['malformed JSON', () => api('POST', messagesUrl(general), { token: bob.token, raw: '{"content": ' })],
      ['array body', () => post(bob, general, ['content'])],
      ['content missing', () => post(bob, general, { client_message_id: 'x' })],
      ['content a number', () => post(bob, general, { content: 123 })],
      ['content null', () => post(bob, general, { content: null })],
      ['content empty', () => post(bob, general, { content: '' })],
      ['content blank', () => post(bob, general, { content: ' \n\t ' })],
      ['content 4001 chars', () => post(bob, general, { content: 'x'.repeat(4001) })],
      ['content 4001 emoji', () => post(bob, general, { content: '😀'.repeat(4001) })],
      ['content with NUL', () => post(bob, general, { content: 'a\u0000b' })],
      ['client_message_id empty', () => post(bob, general, { content: 'x', client_message_id: '' })],
      ['client_message_id a number', () => post(bob, general, { content: 'x', client_message_id: 7 })],
      [
        'client_message_id too long',
        () => post(bob, general, { content: 'x', client_message_id: 'c'.repeat(129) }),
      ],
      ['limit 0', () => get(bob, general, '?limit=0')],
      ['limit 101', () => get(bob, general, '?limit=101')],
      ['limit abc', () => get(bob, general, '?limit=abc')],
      ['limit 1.5', () => get(bob, general, '?limit=1.5')],
      ['before not a uuid', () => get(bob, general, '?before=xyz')],
      ['before and after', () => get(bob, general, `?before=${uuidv7()}&after=${uuidv7()}`)],
      ['unknown cursor', () => get(bob, general, `?after=${uuidv7()}`)],
    ];
    for (const [name, run] of cases) {
      const result = await run();
      expect(result.status, name).toBe(400);
      expect(result.headers.get('content-type'), name).toMatch(/^application\/problem\+json/);
      expect(result.body, name).toMatchObject({
        status: 400,
        type: expect.any(String),
        title: expect.any(String),
        detail: expect.any(String),
      });
    }
    const wrongType = await api('POST', messagesUrl(general), {
      token: bob.token,
      raw: 'content=x',
      headers: { 'content-type': 'text/plain' },
    });
    expect(wrongType.status).toBe(415);
    // The limits themselves are fine: 4000 characters (emoji count as one), after trimming.
    expect((await post(bob, general, { content: `  ${'😀'.repeat(4000)}  ` })).status).toBe(201);
    expect((await get(bob, general, '?limit=100')).status).toBe(200);
    expect((await get(bob, general, '?limit=1')).body.messages).toHaveLength(1);
  });

  it('refuses missing, forged and foreign tokens with 401 and a Bearer challenge', async () => {
    const none = await api('GET', messagesUrl(general));
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="chat-api"');
    expect(none.body).toMatchObject({ status: 401 });
    const basic = await api('GET', messagesUrl(general), { headers: { authorization: 'Basic Ym9iOnB3' } });
    expect(basic.status).toBe(401);
    expect(basic.headers.get('www-authenticate')).toBe('Bearer realm="chat-api"');

    const [header, payload, signature] = bob.token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const kid = JSON.parse(Buffer.from(header, 'base64url').toString()).kid;
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const attacker = await generateKeyPair('ES256');
    const service = await api('POST', `${authUrl}/oauth/token`, {
      raw: new URLSearchParams({ grant_type: 'client_credentials' }).toString(),
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${DEMO.serviceClientId}:${DEMO.serviceClientSecret}`).toString('base64')}`,
      },
    });
    expect(service.status).toBe(200);
    const serviceForChat = await api('POST', `${authUrl}/oauth/token`, {
      raw: new URLSearchParams({ grant_type: 'client_credentials', resource: 'chat-api' }).toString(),
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${DEMO.serviceClientId}:${DEMO.serviceClientSecret}`).toString('base64')}`,
      },
    });
    const forged: [string, string][] = [
      ['garbage', 'garbage'],
      ['three garbage parts', 'a.b.c'],
      ['alg none', `${b64({ alg: 'none', typ: 'at+jwt' })}.${payload}.`],
      ['payload changed', `${header}.${b64({ ...claims, org_id: mallory.orgId })}.${signature}`],
      [
        'own key, real kid',
        await new SignJWT(claims)
          .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid })
          .sign(attacker.privateKey),
      ],
      [
        'own key, own kid',
        await new SignJWT(claims)
          .setProtectedHeader({
            alg: 'ES256',
            typ: 'at+jwt',
            kid: 'attacker',
            jwk: await exportJWK(attacker.publicKey),
          } as never)
          .sign(attacker.privateKey),
      ],
      [
        'expired (re-signed claims cannot be, so: exp in the past, real kid, own key)',
        await new SignJWT({ ...claims, exp: 1 })
          .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid })
          .sign(attacker.privateKey),
      ],
      ['service token (aud auth-api)', service.body.access_token],
      ...(serviceForChat.status === 200
        ? [['service token (aud chat-api)', serviceForChat.body.access_token] as [string, string]]
        : []),
    ];
    for (const [name, token] of forged) {
      const result = await api('GET', messagesUrl(general), { token });
      expect(result.status, name).toBe(401);
      expect(result.headers.get('www-authenticate'), name).toMatch(
        /^Bearer realm="chat-api", error="invalid_token"/,
      );
      expect(result.body, name).toMatchObject({ status: 401 });
      expect((await api('POST', messagesUrl(general), { token, body: { content: 'x' } })).status, name).toBe(
        401,
      );
    }
    // Authentication comes before validation.
    expect((await api('GET', `${chatUrl}/api/chat/groups/nope/messages`, { token: 'garbage' })).status).toBe(
      401,
    );
  });

  it('a burst by cached members makes no call to auth-api', async () => {
    await post(bob, general, { content: 'warm' });
    await get(carol, general);
    // The change-feed poll runs every second whatever the traffic; the burst itself must ask nothing.
    const asked = () => platform.proxy!.count((path) => !path.startsWith('/internal/change-feed'));
    const before = asked();
    const burst = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        i % 3 === 2
          ? get(carol, general, '?limit=5')
          : post(i % 2 ? bob : carol, general, { content: `burst ${i}` }),
      ),
    );
    expect(burst.every((r) => r.status === 200 || r.status === 201)).toBe(true);
    expect(asked()).toBe(before);
  });

  it('a removed member is refused within 1 s; an added one is admitted', async () => {
    const group = await createGroup(authUrl, bob, `removal-${uuidv7()}`, [carol]);
    expect((await post(carol, group, { content: 'I am in' })).status).toBe(201);
    await removeMember(authUrl, bob, group, carol);
    const elapsed = await eventually(
      async () => (await post(carol, group, { content: 'still?' })).status === 403,
      1_000,
      'removal',
    );
    expect(elapsed).toBeLessThan(1_000);
    expect((await get(carol, group)).status).toBe(403);
    await addMember(authUrl, bob, group, carol);
    await eventually(
      async () => (await post(carol, group, { content: 'back' })).status === 201,
      1_000,
      'addition',
    );
  });

  it('a logged-out session is refused within 5 s', async () => {
    const session = await login(authUrl, DEMO.users.carol);
    expect((await get(session, general)).status).toBe(200);
    const logout = await api('POST', `${authUrl}/api/auth/logout`, { token: session.token });
    expect(logout.status).toBe(204);
    const elapsed = await eventually(
      async () => (await get(session, general)).status === 401,
      5_000,
      'revocation',
    );
    expect(elapsed).toBeLessThan(5_000);
    expect((await get(carol, general)).status).toBe(200); // her other session is unaffected
  });

  it('is ready when the database, auth-api and a service token are usable; documents itself', async () => {
    const ready = await api('GET', `${chatUrl}/ready`);
    expect(ready.status).toBe(200);
    expect(ready.body.checks).toMatchObject({
      database: 'ok',
      auth_api: 'ok',
      service_token: 'ok',
      signing_keys: 'ok',
    });
    expect((await api('GET', `${chatUrl}/health`)).body).toEqual({ status: 'ok' });
    const openapi = await api('GET', `${chatUrl}/docs/json`);
    expect(openapi.status).toBe(200);
    expect(Object.keys(openapi.body.paths)).toEqual(
      expect.arrayContaining(['/api/chat/groups/{group_id}/messages', '/api/chat/ws']),
    );
    const upgrade = await api('GET', `${chatUrl}/api/chat/ws`);
    expect(upgrade.status).toBe(426);
    const metrics = await api('GET', `${chatUrl}/metrics`);
    expect(metrics.body).toMatch(/chat_auth_api_requests_total\{[^}]*endpoint="members"/);
    expect(metrics.body).toMatch(/chat_service_token_requests\{[^}]*\} 1$/m);
    expect(metrics.body).toMatch(/chat_ws_connections/);
    // The membership cache's tallies: this test's posts and reads were group checks.
    const hits = /^chat_membership_cache_hits_total(?:\{[^}]*\})? (\d+)$/m.exec(metrics.body);
    const loads = /^chat_membership_loads_total(?:\{[^}]*\})? (\d+)$/m.exec(metrics.body);
    expect(Number(hits?.[1])).toBeGreaterThan(0);
    expect(Number(loads?.[1])).toBeGreaterThan(0);
    expect(metrics.body).toMatch(/^chat_live_frames_delivered_total/m);
  });
});
