import { Channels, type MembershipEvent } from '@groupchat/contract';
import { DEMO, startTestAuthApi, type TestAuthApi } from '@groupchat/testkit/auth-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LoggedIn, TestClient } from '../support/test-client.ts';

interface Received {
  event: MembershipEvent;
  /** Whether the membership row existed when the event arrived: proves the publish follows the commit. */
  rowExisted: Promise<boolean>;
}

describe('membership events on the bus', () => {
  let api: TestAuthApi;
  let http: TestClient;
  let bob: LoggedIn;
  let carol: LoggedIn;
  let received: Received[];
  let unsubscribe: () => void;

  beforeAll(async () => {
    api = await startTestAuthApi();
    http = new TestClient(api.url);
    bob = await http.login(DEMO.users.bob, DEMO.password);
    carol = await http.login(DEMO.users.carol, DEMO.password);
    received = [];
    const db = api.running.core.db;
    unsubscribe = await api.running.core.bus.subscribe(Channels.membership, (payload) => {
      const event = payload as MembershipEvent;
      const rowExisted =
        event.type === 'group_deleted'
          ? Promise.resolve(false)
          : db
              .selectFrom('group_members')
              .select('user_id')
              .where('group_id', '=', event.group_id)
              .where('user_id', '=', event.user_id)
              .executeTakeFirst()
              .then((row) => row !== undefined)
              // An event that arrives while the server shuts down finds the database closed.
              .catch(() => false);
      received.push({ event, rowExisted });
    });
  });

  afterAll(async () => {
    unsubscribe?.();
    await api?.close();
  });

  /** Events for this group, waiting up to 1 s (the contract's bound for chat-api to drop a member). */
  async function eventsFor(groupId: string, count: number): Promise<Received[]> {
    const deadline = Date.now() + 1_000;
    for (;;) {
      const matching = received.filter((r) => r.event.group_id === groupId);
      if (matching.length >= count || Date.now() > deadline) return matching;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  it('publishes member_added for the creator, then for an added member, after the commit', async () => {
    const created = await http.post('/api/auth/groups', { token: bob.token, body: { name: 'events' } });
    const group = created.body.id;
    const added = await http.post(`/api/auth/groups/${group}/members`, {
      token: bob.token,
      body: { user_id: carol.user.id, role: 'admin' },
    });
    expect(added.status).toBe(201);
    const events = await eventsFor(group, 2);
    expect(events.map((r) => r.event)).toEqual([
      {
        type: 'member_added',
        group_id: group,
        org_id: bob.user.org_id,
        user_id: bob.user.id,
        role: 'owner',
        at: expect.stringMatching(/Z$/),
      },
      {
        type: 'member_added',
        group_id: group,
        org_id: bob.user.org_id,
        user_id: carol.user.id,
        role: 'admin',
        at: expect.any(String),
      },
    ]);
    for (const r of events) expect(await r.rowExisted).toBe(true);
  });

  it('publishes member_removed once the row is gone, and nothing for refused writes', async () => {
    const created = await http.post('/api/auth/groups', { token: bob.token, body: { name: 'leaving' } });
    const group = created.body.id;
    await http.post(`/api/auth/groups/${group}/members`, {
      token: bob.token,
      body: { user_id: carol.user.id },
    });
    // Refused: duplicate (409) and a plain member removing the owner (403).
    expect(
      (
        await http.post(`/api/auth/groups/${group}/members`, {
          token: bob.token,
          body: { user_id: carol.user.id },
        })
      ).status,
    ).toBe(409);
    const asMember = await http.delete(`/api/auth/groups/${group}/members/${bob.user.id}`, {
      token: carol.token,
    });
    expect(asMember.status).toBe(403);

    const removed = await http.delete(`/api/auth/groups/${group}/members/${carol.user.id}`, {
      token: carol.token,
    });
    expect(removed.status).toBe(204);
    const events = await eventsFor(group, 3);
    expect(events.map((r) => r.event.type)).toEqual(['member_added', 'member_added', 'member_removed']);
    const last = events[2]!;
    expect(last.event).toEqual({
      type: 'member_removed',
      group_id: group,
      org_id: bob.user.org_id,
      user_id: carol.user.id,
      at: expect.any(String),
    });
    expect(await last.rowExisted).toBe(false);
  });

  it('publishes member_removed for every member, then group_deleted, when a group is deleted', async () => {
    const created = await http.post('/api/auth/groups', { token: bob.token, body: { name: 'doomed' } });
    const group = created.body.id;
    await http.post(`/api/auth/groups/${group}/members`, {
      token: bob.token,
      body: { user_id: carol.user.id },
    });
    expect((await http.delete(`/api/auth/groups/${group}`, { token: bob.token })).status).toBe(204);
    const events = (await eventsFor(group, 5)).map((r) => r.event);
    expect(events.slice(2).map((e) => e.type)).toEqual(['member_removed', 'member_removed', 'group_deleted']);
    expect(
      events
        .slice(2, 4)
        .map((e) => (e.type === 'member_removed' ? e.user_id : ''))
        .sort(),
    ).toEqual([bob.user.id, carol.user.id].sort());
  });
});
