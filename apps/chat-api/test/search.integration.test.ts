import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ApiResponse,
  api,
  createGroup,
  DEMO,
  login,
  type Platform,
  startPlatform,
  type User,
  usingPostgres,
} from './helpers.ts';

/** The contract's "Search", with the same SQL on PostgreSQL and PGlite. */
describe(`search (${usingPostgres ? 'PostgreSQL' : 'PGlite'})`, () => {
  let platform: Platform;
  let authUrl: string;
  let url: string;
  let bob: User;
  let carol: User;
  let mallory: User;
  let group: string;
  let privateGroup: string;
  let globexGroup: string;
  const ids: Record<string, string> = {};

  const post = async (user: User, groupId: string, content: string): Promise<string> => {
    const response = await api('POST', `${url}/api/chat/groups/${groupId}/messages`, {
      token: user.token,
      body: { content },
    });
    expect(response.status, JSON.stringify(response.body)).toBe(201);
    return response.body.id;
  };
  const search = (user: User | null, params: Record<string, string>): Promise<ApiResponse> =>
    api('GET', `${url}/api/chat/search?${new URLSearchParams(params)}`, user ? { token: user.token } : {});
  const found = async (user: User, q: string, extra: Record<string, string> = {}): Promise<string[]> => {
    const response = await search(user, { q, ...extra });
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    return response.body.messages.map((m: { content: string }) => m.content);
  };

  beforeAll(async () => {
    platform = await startPlatform();
    authUrl = platform.auth.url;
    url = platform.chats[0]!.url;
    [bob, carol, mallory] = await Promise.all([
      login(authUrl, DEMO.users.bob),
      login(authUrl, DEMO.users.carol),
      login(authUrl, DEMO.users.mallory),
    ]);
    group = await createGroup(authUrl, bob, 'search', [carol]);
    privateGroup = await createGroup(authUrl, bob, 'search-private');
    globexGroup = await createGroup(authUrl, mallory, 'globex-search');
    const texts: [string, User, string][] = [
      ['deploy', bob, 'The deployment finished on Friday'],
      ['cafe', carol, 'Rendez-vous au Café Crème, très naïve idée'],
      ['strasse', bob, 'Treffen in der Hauptstraße um acht'],
      ['russian', carol, 'Привет! Деплой прошёл успешно'],
      ['tokyo', bob, '明日は東京駅で会いましょう'],
      ['beijing', carol, '我们在北京大学见面'],
      ['korean', bob, '서울에서 만나요 내일'],
      ['upper', carol, 'URGENT: DATABASE MIGRATION tonight'],
    ];
    for (const [key, user, text] of texts) ids[key] = await post(user, group, text);
    ids.private = await post(bob, privateGroup, 'deployment secrets for bob only');
    ids.globex = await post(mallory, globexGroup, 'Globex deployment Friday');
  });
  afterAll(async () => {
    await platform?.close();
  });

  it('finds Latin words by prefix, whatever the case', async () => {
    expect(await found(carol, 'deplo')).toEqual(['The deployment finished on Friday']);
    expect(await found(carol, 'DEPLOYMENT friday')).toEqual(['The deployment finished on Friday']);
    expect(await found(carol, 'database migr')).toEqual(['URGENT: DATABASE MIGRATION tonight']);
    // Every word must occur: one missing word, no result. A word inside another is not a prefix.
    expect(await found(carol, 'deployment monday')).toEqual([]);
    expect(await found(carol, 'ployment')).toEqual([]);
  });

  it('ignores accents both ways and folds ß', async () => {
    for (const q of ['cafe creme', 'Café crème', 'CAFÉ', 'naive', 'naïve idee'])
      expect(await found(carol, q), q).toEqual(['Rendez-vous au Café Crème, très naïve idée']);
    expect(await found(carol, 'hauptstrasse')).toEqual(['Treffen in der Hauptstraße um acht']);
    expect(await found(carol, 'Hauptstraße')).toEqual(['Treffen in der Hauptstraße um acht']);
  });

  it('finds Cyrillic words by prefix, case-insensitively, ё and е alike', async () => {
    expect(await found(carol, 'привет')).toEqual(['Привет! Деплой прошёл успешно']);
    expect(await found(carol, 'ДЕПЛ')).toEqual(['Привет! Деплой прошёл успешно']);
    expect(await found(carol, 'прошел')).toEqual(['Привет! Деплой прошёл успешно']);
    expect(await found(carol, 'пока')).toEqual([]);
  });

  it('finds Chinese, Japanese and Korean text as a substring, not scattered characters', async () => {
    expect(await found(carol, '東京')).toEqual(['明日は東京駅で会いましょう']);
    expect(await found(carol, '東京駅')).toEqual(['明日は東京駅で会いましょう']);
    expect(await found(carol, '北京')).toEqual(['我们在北京大学见面']);
    expect(await found(carol, '大学')).toEqual(['我们在北京大学见面']);
    // Both characters occur, but not next to each other: not a match.
    expect(await found(carol, '京駅東')).toEqual([]);
    expect(await found(carol, '北大')).toEqual([]);
    expect(await found(carol, '서울')).toEqual(['서울에서 만나요 내일']);
    expect(await found(carol, '부산')).toEqual([]);
  });

  it('searches only the caller’s groups of their org; group_id narrows it', async () => {
    // Bob is in `search` and `search-private`; Carol only in `search`; Mallory in neither.
    expect((await found(bob, 'deployment')).sort()).toEqual(
      ['The deployment finished on Friday', 'deployment secrets for bob only'].sort(),
    );
    expect(await found(carol, 'deployment')).toEqual(['The deployment finished on Friday']);
    expect(await found(mallory, 'deployment')).toEqual(['Globex deployment Friday']);
    expect(await found(bob, 'deployment', { group_id: privateGroup })).toEqual([
      'deployment secrets for bob only',
    ]);
    const forbidden = await search(carol, { q: 'deployment', group_id: privateGroup });
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers.get('content-type')).toContain('application/problem+json');
    const otherOrg = await search(bob, { q: 'deployment', group_id: globexGroup });
    expect(otherOrg.status).toBe(404);
    expect(otherOrg.body.code).toBe('group_not_found');
  });

  it('finds an edited message by its new words only, and never a deleted one', async () => {
    const id = await post(bob, group, 'rollout of the kubernetes cluster');
    expect(await found(carol, 'kubernetes')).toEqual(['rollout of the kubernetes cluster']);
    const edited = await api('PATCH', `${url}/api/chat/groups/${group}/messages/${id}`, {
      token: bob.token,
      body: { content: 'rollout of the nomad cluster' },
    });
    expect(edited.status).toBe(200);
    expect(await found(carol, 'kubernetes')).toEqual([]);
    expect(await found(carol, 'nomad')).toEqual(['rollout of the nomad cluster']);
    expect(
      (await api('DELETE', `${url}/api/chat/groups/${group}/messages/${id}`, { token: bob.token })).status,
    ).toBe(204);
    expect(await found(carol, 'nomad')).toEqual([]);
    expect(await found(carol, 'rollout')).toEqual([]);
  });

  it('pages newest first with `before`', async () => {
    const posted = [];
    for (let i = 0; i < 5; i++) posted.push(await post(carol, group, `pagination marker ${i}`));
    const first = await search(carol, { q: 'pagination marker', limit: '2' });
    expect(first.body.messages.map((m: { id: string }) => m.id)).toEqual([posted[4], posted[3]]);
    expect(first.body.next_cursor).toBe(posted[3]);
    const second = await search(carol, { q: 'pagination', limit: '2', before: first.body.next_cursor });
    expect(second.body.messages.map((m: { id: string }) => m.id)).toEqual([posted[2], posted[1]]);
    const last = await search(carol, { q: 'pagination', limit: '2', before: second.body.next_cursor });
    expect(last.body).toEqual({ messages: [expect.objectContaining({ id: posted[0] })], next_cursor: null });
    // The shape is the message shape.
    expect(last.body.messages[0]).toMatchObject({
      group_id: group,
      sender_id: carol.userId,
      content: 'pagination marker 0',
    });
  });

  it('answers 400 for bad input, 401 without a token, and an empty page for a query without words', async () => {
    const bad = [
      {},
      { q: '' },
      { q: '   ' },
      { q: 'x'.repeat(201) },
      { q: 'ok', limit: '0' },
      { q: 'ok', limit: '101' },
      { q: 'ok', limit: '1.5' },
      { q: 'ok', group_id: 'nope' },
      { q: 'ok', before: 'nope' },
    ];
    for (const params of bad) {
      const response = await search(carol, params as Record<string, string>);
      expect(response.status, JSON.stringify(params)).toBe(400);
      expect(response.headers.get('content-type')).toContain('application/problem+json');
    }
    expect((await search(carol, { q: 'x'.repeat(200) })).status).toBe(200);
    expect((await search(null, { q: 'deploy' })).status).toBe(401);
    // Operators and quotes are not syntax: they are dropped, never a 500.
    expect((await search(carol, { q: "!!! & | :* ' (" })).body).toEqual({ messages: [], next_cursor: null });
    expect(await found(carol, "deploy'ment & friday")).toEqual([]);
    expect(await found(carol, 'deploy* | friday!')).toEqual(['The deployment finished on Friday']);
  });
});
