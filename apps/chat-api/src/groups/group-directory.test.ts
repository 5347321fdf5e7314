import {
  Channels,
  type Group,
  type GroupRole,
  type MemberListResponse,
  type Membership,
} from '@groupchat/contract';
import { HttpProblem, MemoryBus, uuidv7 } from '@groupchat/service-kit';
import { Agent } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AuthApiClient } from '../service-auth/auth-api-client.ts';
import { ServiceTokenManager } from '../service-auth/token-manager.ts';
import { captureLogger, json, startFakeServer } from '../test-support/fake-server.ts';
import { type AccessLost, GroupDirectory } from './group-directory.ts';

type Fake = Awaited<ReturnType<typeof startFakeServer>>;

const JOINED = new Date().toISOString();
const ACME = uuidv7();
const GLOBEX = uuidv7();
const bob = { id: uuidv7(), orgId: ACME };
const carol = { id: uuidv7(), orgId: ACME };
const dave = { id: uuidv7(), orgId: ACME };
const mallory = { id: uuidv7(), orgId: GLOBEX };

async function status(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
    return 200;
  } catch (error) {
    if (error instanceof HttpProblem) return error.status;
    throw error;
  }
}

const until = async (check: () => boolean, ms = 2_000) => {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

describe('GroupDirectory', () => {
  let server: Fake;
  let agent: Agent;
  let bus: MemoryBus;
  let groups: GroupDirectory;
  let clock: number;
  let down: boolean;
  const general = uuidv7();
  let members: Map<string, GroupRole>;
  let lost: AccessLost[];

  const apiCalls = () => server.requests.filter((r) => r.path.startsWith('/api/')).length;

  beforeAll(async () => {
    agent = new Agent();
    server = await startFakeServer((request, response) => {
      if (down) return json(response, 503, {});
      if (request.path === '/oauth/token')
        return json(response, 200, {
          access_token: 'svc',
          token_type: 'Bearer',
          expires_in: 900,
          scope: 'groups:read members:read',
        });
      const match = /^\/api\/auth\/groups\/([^/]+)(\/members(?:\/([^/]+))?)?$/.exec(request.path);
      if (!match || match[1] !== general) return json(response, 404, {});
      if (!match[2])
        return json(response, 200, {
          id: general,
          name: 'general',
          kind: 'group',
          org_id: ACME,
          created_at: JOINED,
          member_count: members.size,
        } satisfies Group);
      if (!match[3])
        return json(response, 200, {
          members: [...members].map(([user_id, role]) => ({
            user_id,
            role,
            joined_at: JOINED,
            display_name: 'x',
          })),
        } satisfies MemberListResponse);
      const role = members.get(match[3]);
      return role
        ? json(response, 200, {
            group_id: general,
            user_id: match[3],
            role,
            org_id: ACME,
            joined_at: JOINED,
          } satisfies Membership)
        : json(response, 404, {});
    });
  });
  afterAll(async () => {
    await agent.close();
    await server.close();
  });
  beforeEach(async () => {
    server.requests.length = 0;
    clock = 10_000_000;
    down = false;
    members = new Map([
      [bob.id, 'owner'],
      [carol.id, 'member'],
    ]);
    lost = [];
    bus?.close();
    bus = new MemoryBus();
    const { logger } = captureLogger();
    const tokens = new ServiceTokenManager({
      tokenUrl: `${server.url}/oauth/token`,
      clientId: 'c',
      clientSecret: 's',
      scope: '',
      dispatcher: agent,
      logger,
      now: () => clock,
    });
    const client = new AuthApiClient({
      baseUrl: server.url,
      dispatcher: agent,
      tokens,
      logger,
      timeoutMs: 1_000,
      now: () => clock,
    });
    groups = new GroupDirectory({
      client,
      bus,
      logger,
      ttlMs: 60_000,
      maxGroups: 100,
      recheckMs: 5_000,
      now: () => clock,
    });
    groups.onAccessLost((event) => lost.push(event));
    await groups.start();
    return () => groups.stop();
  });

  it('loads a group once for concurrent callers, then answers from cache', async () => {
    const results = await Promise.all(Array.from({ length: 50 }, () => groups.authorize(bob, general)));
    expect(results[0]).toEqual({ groupId: general, orgId: ACME, role: 'owner' });
    expect(apiCalls()).toBe(2); // group + members
    for (let i = 0; i < 200; i++) await groups.authorize(i % 2 ? bob : carol, general);
    expect(apiCalls()).toBe(2);
  });

  it('404 for a missing group and for a group of another org; 403 for a non-member', async () => {
    expect(await status(groups.authorize(bob, uuidv7()))).toBe(404);
    expect(await status(groups.authorize(mallory, general))).toBe(404);
    expect(await status(groups.authorize(dave, general))).toBe(403);
  });

  it('re-asks about a missing user at most once per recheck interval', async () => {
    await groups.authorize(bob, general);
    const base = apiCalls();
    for (let i = 0; i < 10; i++) expect(await status(groups.authorize(dave, general))).toBe(403);
    expect(apiCalls()).toBe(base + 1);
    // Added a moment ago, before the event arrived: the recheck finds him.
    members.set(dave.id, 'member');
    clock += 5_000;
    expect(await status(groups.authorize(dave, general))).toBe(200);
    expect(await status(groups.authorize(dave, general))).toBe(200);
    expect(apiCalls()).toBe(base + 2);
  });

  it('applies membership events at once: removal refuses, addition admits, without calls', async () => {
    await groups.authorize(bob, general);
    const base = apiCalls();
    members.delete(carol.id);
    await bus.publish(Channels.membership, {
      type: 'member_removed',
      group_id: general,
      org_id: ACME,
      user_id: carol.id,
      at: JOINED,
    });
    await until(() => lost.length > 0);
    expect(lost).toEqual([{ groupId: general, userId: carol.id, status: 403 }]);
    expect(await status(groups.authorize(carol, general))).toBe(403);
    members.set(dave.id, 'member');
    await bus.publish(Channels.membership, {
      type: 'member_added',
      group_id: general,
      org_id: ACME,
      user_id: dave.id,
      role: 'member',
      at: JOINED,
    });
    await until(() => groups.isMemberCached(general, dave.id) === true);
    expect(await status(groups.authorize(dave, general))).toBe(200);
    // Carol's 403 right after her removal is the cached answer: the tombstone forbids a recheck.
    expect(apiCalls()).toBe(base);
  });

  it('a removal event wins over a stale read that was in flight', async () => {
    const loading = groups.authorize(bob, general); // snapshot still lists carol
    await bus.publish(Channels.membership, {
      type: 'member_removed',
      group_id: general,
      org_id: ACME,
      user_id: carol.id,
      at: JOINED,
    });
    await loading;
    expect(await status(groups.authorize(carol, general))).toBe(403);
  });

  it('group_deleted: every user loses it (404)', async () => {
    await groups.authorize(bob, general);
    await bus.publish(Channels.membership, {
      type: 'group_deleted',
      group_id: general,
      org_id: ACME,
      at: JOINED,
    });
    await until(() => lost.length > 0);
    expect(lost).toEqual([{ groupId: general, userId: null, status: 404 }]);
    expect(await status(groups.authorize(bob, general))).toBe(404);
  });

  it('auth-api down: cached answers keep serving, an uncached group is 503 with Retry-After', async () => {
    await groups.authorize(bob, general);
    down = true;
    clock += 120_000; // past the TTL: a background reload fails, the cache still answers
    for (let i = 0; i < 5; i++) expect(await status(groups.authorize(carol, general))).toBe(200);
    const error = await groups.authorize(bob, uuidv7()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpProblem);
    expect((error as HttpProblem).status).toBe(503);
    expect((error as HttpProblem).headers['retry-after']).toMatch(/^\d+$/);
    down = false;
    clock += 10_000;
    expect(await status(groups.authorize(bob, uuidv7()))).toBe(404);
  });

  it('reloads after the TTL in the background and reports members removed meanwhile', async () => {
    await groups.authorize(bob, general);
    members.delete(carol.id); // the event was lost
    clock += 61_000;
    expect(await status(groups.authorize(carol, general))).toBe(200); // stale answer, reload started
    await until(() => lost.length > 0);
    expect(lost).toEqual([{ groupId: general, userId: carol.id, status: 403 }]);
    expect(await status(groups.authorize(carol, general))).toBe(403);
  });
});
