import { Channels } from '@groupchat/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SecondInstance, startSecondInstance } from '../support/second-instance.ts';
import {
  basic,
  createClient,
  DEMO,
  decodeJwt,
  demoIds,
  eventually,
  postForm,
  request,
  serviceToken,
  startApi,
  type TestAuthApi,
  tokenFor,
  userToken,
} from './helpers.ts';

describe('revocation across instances', () => {
  let first: TestAuthApi;
  let second: SecondInstance;
  let ids: Awaited<ReturnType<typeof demoIds>>;
  const chat = { authorization: basic(DEMO.serviceClientId, DEMO.serviceClientSecret) };

  beforeAll(async () => {
    first = await startApi();
    // Its own bus: it can only learn of a revocation from the database poll, the slowest path.
    second = await startSecondInstance(first, { ownBus: true });
    ids = await demoIds(first);
  });
  afterAll(async () => {
    await second?.close();
    await first?.close();
  });

  it('a revoked token is refused by this instance at once and by a second instance within 5 s', async () => {
    const token = await serviceToken(first);
    const { jti } = decodeJwt(token).payload as { jti: string };
    const groupOn = (url: string) => request(`${url}/api/auth/groups/${ids.groupId}`, { token });
    // Both accept it first (and have it in their verified-token caches).
    expect((await groupOn(first.url)).status).toBe(200);
    expect((await groupOn(second.url)).status).toBe(200);

    const events: unknown[] = [];
    const unsubscribe = await first.running.core.bus.subscribe(Channels.revocations, (event) =>
      events.push(event),
    );
    const revokedAt = performance.now();
    const revoked = await postForm(
      `${first.url}/oauth/revoke`,
      { token, token_type_hint: 'access_token' },
      chat,
    );
    expect(revoked.status).toBe(200);
    expect(revoked.text).toBe('');

    const refusedHere = await groupOn(first.url);
    expect(refusedHere.status).toBe(401);
    expect(refusedHere.headers.get('www-authenticate')).toContain('error="invalid_token"');

    await eventually(async () => (await groupOn(second.url)).status === 401, 5_000, 25);
    const elapsed = performance.now() - revokedAt;
    expect(elapsed).toBeLessThan(5_000);
    console.info(`revocation reached the second instance (database poll) after ${Math.round(elapsed)} ms`);

    const introspected = await postForm(`${second.url}/oauth/introspect`, { token }, chat);
    expect(introspected.body).toEqual({ active: false });
    // Recorded in the database, and announced on the bus for other resource servers (chat-api).
    const row = await first.running.core.db
      .selectFrom('revocations')
      .selectAll()
      .where('id', '=', jti)
      .executeTakeFirst();
    expect(row).toMatchObject({ kind: 'token', user_id: null });
    await eventually(async () => events.length > 0, 2_000);
    expect(events).toContainEqual(expect.objectContaining({ type: 'token_revoked', jti }));
    unsubscribe();
  });

  it('revoking twice, or an expired or unknown token, is a quiet 200', async () => {
    const token = await serviceToken(first);
    for (let i = 0; i < 2; i++)
      expect((await postForm(`${first.url}/oauth/revoke`, { token }, chat)).status).toBe(200);
    expect((await postForm(`${first.url}/oauth/revoke`, { token: 'unknown' }, chat)).status).toBe(200);
  });

  it('revokes tokens for chat-api too (the bus carries it to chat-api)', async () => {
    const token = await serviceToken(first, { resource: 'chat-api' });
    expect((await postForm(`${first.url}/oauth/revoke`, { token }, chat)).status).toBe(200);
    const introspected = await postForm(`${first.url}/oauth/introspect`, { token }, chat);
    expect(introspected.body).toEqual({ active: false });
  });

  it('a client may not revoke another client’s token, nor a user’s', async () => {
    const other = await createClient(first, { scopes: ['groups:read'] });
    const othersToken = await tokenFor(first, other.clientId, other.secret);
    const refused = await postForm(`${first.url}/oauth/revoke`, { token: othersToken }, chat);
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ error: 'invalid_request' });
    expect(
      (await request(`${first.url}/api/auth/groups/${ids.groupId}`, { token: othersToken })).status,
    ).toBe(200);
    const bob = await userToken(first, DEMO.users.bob);
    expect((await postForm(`${first.url}/oauth/revoke`, { token: bob }, chat)).status).toBe(400);
    const bobRead = await request(`${first.url}/api/auth/groups/${ids.groupId}`, { token: bob });
    expect(bobRead.status, JSON.stringify(bobRead.body)).toBe(200);
  });

  it('needs client authentication and a token parameter', async () => {
    const token = await serviceToken(first);
    const anonymous = await postForm(`${first.url}/oauth/revoke`, { token });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).toMatchObject({ error: 'invalid_client' });
    expect(anonymous.headers.get('www-authenticate')).toBe('Basic realm="auth-api"');
    const missing = await postForm(`${first.url}/oauth/revoke`, {}, chat);
    expect(missing.status).toBe(400);
    expect(missing.body).toMatchObject({ error: 'invalid_request' });
    // Nothing happened to the token.
    expect((await request(`${first.url}/api/auth/groups/${ids.groupId}`, { token })).status).toBe(200);
  });
});

describe('introspection', () => {
  let api: TestAuthApi;
  const chat = { authorization: basic(DEMO.serviceClientId, DEMO.serviceClientSecret) };

  beforeAll(async () => {
    api = await startApi();
  });
  afterAll(async () => {
    await api?.close();
  });

  it('describes a user token, with org_id and both audiences', async () => {
    const ids = await demoIds(api);
    const token = await userToken(api, DEMO.users.bob);
    const response = await postForm(`${api.url}/oauth/introspect`, { token }, chat);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.body).toMatchObject({
      active: true,
      sub: ids.bob,
      org_id: ids.acmeOrgId,
      aud: ['auth-api', 'chat-api'],
      token_type: 'Bearer',
    });
  });

  it('needs client authentication (both methods work) and a token parameter', async () => {
    const token = await serviceToken(api);
    const anonymous = await postForm(`${api.url}/oauth/introspect`, { token });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).toMatchObject({ error: 'invalid_client' });
    const wrong = await postForm(
      `${api.url}/oauth/introspect`,
      { token },
      { authorization: basic(DEMO.serviceClientId, 'nope') },
    );
    expect(wrong.status).toBe(401);
    const post = await postForm(`${api.url}/oauth/introspect`, {
      token,
      client_id: DEMO.serviceClientId,
      client_secret: DEMO.serviceClientSecret,
    });
    expect(post.body).toMatchObject({ active: true });
    const missing = await postForm(`${api.url}/oauth/introspect`, {}, chat);
    expect(missing.status).toBe(400);
    expect(missing.body).toMatchObject({ error: 'invalid_request' });
  });

  it('lets an introspection-only client (no grant types) introspect', async () => {
    const resourceServer = await createClient(api, { scopes: [], grants: [] });
    const token = await serviceToken(api);
    const response = await postForm(
      `${api.url}/oauth/introspect`,
      { token },
      { authorization: basic(resourceServer.clientId, resourceServer.secret) },
    );
    expect(response.body).toMatchObject({ active: true, client_id: DEMO.serviceClientId });
  });
});
