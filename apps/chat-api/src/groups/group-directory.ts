import {
  Channels,
  GroupSchema,
  MemberListResponse,
  type MembershipEvent,
  MembershipEventSchema,
  MembershipSchema,
} from '@groupchat/contract';
import { type EventBus, problems } from '@groupchat/service-kit';
import type { Logger } from 'pino';
import { Compile } from 'typebox/compile';
import type { AuthApiClient } from '../service-auth/auth-api-client.ts';
import { AuthApiUnavailableError } from '../service-auth/token-manager.ts';

export interface GroupAccess {
  groupId: string;
  /** The group's own organization: what messages are stored and checked under. */
  orgId: string;
  role: string;
}

/** Someone lost access to a group: a member removed (403), or the group deleted (404, every user). */
export interface AccessLost {
  groupId: string;
  userId: string | null;
  status: 403 | 404;
}

export interface GroupServiceOptions {
  client: AuthApiClient;
  bus: EventBus;
  logger: Logger;
  /** Age after which a cached group is reloaded in the background (served meanwhile). */
  ttlMs: number;
  maxGroups: number;
  /** How often a user absent from a cached member list may trigger a single-member lookup. */
  recheckMs: number;
  /** How long "this group does not exist" is believed. */
  negativeTtlMs?: number;
  /** TTL used while the bus is down (membership events may be lost meanwhile). */
  degradedTtlMs?: number;
  now?: () => number;
}

interface Entry {
  exists: boolean;
  orgId: string;
  /** user id → role. */
  members: Map<string, string>;
  loadedAt: number;
}

type Listener = (event: AccessLost) => void;

// What auth-api answers and publishes is checked against the contract before it is believed.
const validGroup = Compile(GroupSchema);
const validMembers = Compile(MemberListResponse);
const validMembership = Compile(MembershipSchema);
const validEvent = Compile(MembershipEventSchema);

/** A removal seen on the bus outweighs an older read of auth-api for this long. */
const TOMBSTONE_MS = 10_000;

/**
 * Who belongs to which group, and which organization owns it, as told by auth-api.
 *
 * Per group, the org and the full member map are loaded once (two calls, shared by all concurrent
 * callers) and kept: a burst of messages by members costs no call to auth-api. Membership events
 * from the bus update the map at once, so a removed member is refused within milliseconds; the TTL
 * is only the staleness bound for events that were lost. A reload runs in the background and the
 * cached answer keeps serving meanwhile, also while auth-api is down; only a group never seen
 * needs auth-api, and without it that answer is 503.
 */
export class GroupDirectory {
  readonly #options: GroupServiceOptions;
  readonly #now: () => number;
  readonly #logger: Logger;
  /** Insertion order = least recently used first (entries are re-inserted on use). */
  readonly #cache = new Map<string, Entry>();
  /**
   * "No such group" answers, kept apart and bounded on their own: subscribing to random ids fills this
   * map, never the one real groups live in, so it cannot evict them.
   */
  readonly #missing = new Map<string, Entry>();
  readonly #loads = new Map<string, Promise<Entry>>();
  /** Events that arrived while a group was loading; replayed onto the loaded snapshot. */
  readonly #pendingEvents = new Map<string, MembershipEvent[]>();
  readonly #tombstones = new Map<string, number>();
  readonly #rechecks = new Map<string, number>();
  readonly #listeners = new Set<Listener>();
  #unsubscribe: (() => void) | null = null;
  #healthTimer: NodeJS.Timeout | null = null;
  #busWasDown = false;
  readonly stats = { hits: 0, loads: 0, rechecks: 0, events: 0 };

  constructor(options: GroupServiceOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#logger = options.logger;
  }

  async start(): Promise<void> {
    this.#unsubscribe = await this.#options.bus.subscribe(Channels.membership, (payload) =>
      this.#onEvent(payload),
    );
    // Events published while the bus was disconnected are lost: shorten the TTL while it is down and
    // treat every cached group as stale once it is back.
    this.#healthTimer = setInterval(() => {
      const healthy = this.#options.bus.healthy();
      if (!healthy) this.#busWasDown = true;
      else if (this.#busWasDown) {
        this.#busWasDown = false;
        for (const entry of this.#cache.values()) entry.loadedAt = 0;
        this.#logger.warn(
          { event: 'membership_cache_marked_stale' },
          'bus reconnected; cached memberships will be reloaded',
        );
      }
    }, 1_000);
    this.#healthTimer.unref();
  }

  stop(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    if (this.#healthTimer) clearInterval(this.#healthTimer);
  }

  onAccessLost(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Whether `user` may read and post in `groupId`. Throws problem 404 when the group does not exist
   * or belongs to another organization (indistinguishable on purpose), 403 when the user is not a
   * member, 503 when auth-api is needed and unavailable.
   */
  async authorize(user: { id: string; orgId: string }, groupId: string): Promise<GroupAccess> {
    let entry: Entry;
    try {
      entry = await this.#entry(groupId);
    } catch (error) {
      throw toProblem(error);
    }
    if (!entry.exists || entry.orgId !== user.orgId)
      throw problems.notFound('no such group', 'group_not_found');
    const role = entry.members.get(user.id) ?? (await this.#recheck(groupId, entry, user.id));
    if (role === undefined)
      throw problems.forbidden('you are not a member of this group', 'not_group_member');
    return { groupId, orgId: entry.orgId, role };
  }

  /** How many real groups and how many "no such group" answers are cached (separately bounded). */
  get cacheSizes(): { groups: number; missing: number } {
    return { groups: this.#cache.size, missing: this.#missing.size };
  }

  /** The cached answer only, without calling anyone (hot paths that must not wait). */
  isMemberCached(groupId: string, userId: string): boolean | undefined {
    const entry = this.#cache.get(groupId);
    if (!entry) return undefined;
    return entry.exists && entry.members.has(userId);
  }

  /** The group's members as last loaded or updated by events (undefined when not cached). */
  cachedMemberIds(groupId: string): string[] | undefined {
    const entry = this.#cache.get(groupId);
    return entry?.exists ? [...entry.members.keys()] : undefined;
  }

  async #entry(groupId: string): Promise<Entry> {
    const entry = this.#cache.get(groupId) ?? this.#missing.get(groupId);
    if (!entry) return this.#load(groupId);
    if (!entry.exists) {
      const age = this.#now() - entry.loadedAt;
      if (age < (this.#options.negativeTtlMs ?? 5_000)) return entry;
      // A group created a moment ago must not stay "missing": reload now, keep the old answer only
      // when auth-api cannot be asked.
      try {
        return await this.#load(groupId);
      } catch (error) {
        if (error instanceof AuthApiUnavailableError) return entry;
        throw error;
      }
    }
    this.#cache.delete(groupId);
    this.#cache.set(groupId, entry);
    const age = this.#now() - entry.loadedAt;
    this.stats.hits += 1;
    const ttl = this.#options.bus.healthy()
      ? this.#options.ttlMs
      : Math.min(this.#options.ttlMs, this.#options.degradedTtlMs ?? 5_000);
    if (age >= ttl && !this.#loads.has(groupId)) {
      this.#load(groupId).catch((error) => {
        this.#logger.debug(
          { event: 'membership_refresh_failed', group_id: groupId, error: (error as Error).message },
          'membership refresh failed',
        );
      });
    }
    return entry;
  }

  #load(groupId: string): Promise<Entry> {
    const running = this.#loads.get(groupId);
    if (running) return running;
    this.#pendingEvents.set(groupId, []);
    const promise = this.#fetch(groupId)
      .then((loaded) => {
        for (const event of this.#pendingEvents.get(groupId) ?? []) applyEvent(loaded, event);
        this.#forgetTombstoned(groupId, loaded);
        this.#store(groupId, loaded);
        return loaded;
      })
      .finally(() => {
        this.#loads.delete(groupId);
        this.#pendingEvents.delete(groupId);
      });
    this.#loads.set(groupId, promise);
    return promise;
  }

  async #fetch(groupId: string): Promise<Entry> {
    this.stats.loads += 1;
    const path = `/api/auth/groups/${encodeURIComponent(groupId)}`;
    const client = this.#options.client;
    const [group, members] = await Promise.all([
      client.get(path, 'group'),
      client.get(`${path}/members`, 'members'),
    ]);
    const now = this.#now();
    const missing: Entry = { exists: false, orgId: '', members: new Map(), loadedAt: now };
    if (group.status === 404 || members.status === 404) return missing;
    if (group.status !== 200 || members.status !== 200) {
      throw new AuthApiUnavailableError(
        `unexpected answer from auth-api (${group.status}/${members.status})`,
      );
    }
    if (!validGroup.Check(group.body) || !validMembers.Check(members.body)) {
      throw new AuthApiUnavailableError('auth-api answered with an unexpected group shape');
    }
    const orgId = group.body.org_id;
    const map = new Map<string, string>();
    for (const member of members.body.members) map.set(member.user_id, member.role);
    return { exists: true, orgId, members: map, loadedAt: now };
  }

  #store(groupId: string, loaded: Entry): void {
    const previous = this.#cache.get(groupId);
    this.#cache.delete(groupId);
    this.#missing.delete(groupId);
    if (!loaded.exists) {
      this.#missing.set(groupId, loaded);
      while (this.#missing.size > this.#options.maxGroups) {
        this.#missing.delete(this.#missing.keys().next().value as string);
      }
      if (previous?.exists) this.#emit({ groupId, userId: null, status: 404 });
      return;
    }
    this.#cache.set(groupId, loaded);
    while (this.#cache.size > this.#options.maxGroups) {
      const oldest = this.#cache.keys().next().value as string;
      this.#cache.delete(oldest);
    }
    // A reload is also how lost removal events are caught up with: tell live connections.
    if (previous?.exists) {
      if (!loaded.exists) this.#emit({ groupId, userId: null, status: 404 });
      else
        for (const userId of previous.members.keys())
          if (!loaded.members.has(userId)) this.#emit({ groupId, userId, status: 403 });
    }
  }

  /** A user missing from the cached map may have been added a moment ago: ask auth-api, rarely. */
  async #recheck(groupId: string, entry: Entry, userId: string): Promise<string | undefined> {
    const { recheckMs } = this.#options;
    if (recheckMs <= 0) return undefined;
    const key = `${groupId}:${userId}`;
    const now = this.#now();
    const last = this.#rechecks.get(key);
    if (last !== undefined && now - last < recheckMs) return undefined;
    if (this.#isTombstoned(key, now)) return undefined;
    this.#rechecks.set(key, now);
    if (this.#rechecks.size > 10_000) this.#prune(this.#rechecks, now - recheckMs);
    this.stats.rechecks += 1;
    let response: { status: number; body: unknown };
    try {
      response = await this.#options.client.get(
        `/api/auth/groups/${encodeURIComponent(groupId)}/members/${encodeURIComponent(userId)}`,
        'member',
      );
    } catch {
      // The cached member list is an answer: not a member (while auth-api cannot say otherwise).
      return undefined;
    }
    if (response.status !== 200) return undefined;
    const body = response.body;
    if (!validMembership.Check(body)) return undefined;
    if (body.user_id !== userId || body.group_id !== groupId || body.org_id !== entry.orgId) return undefined;
    if (this.#isTombstoned(key, this.#now())) return undefined;
    const role = body.role;
    if (this.#cache.get(groupId) === entry) entry.members.set(userId, role);
    return role;
  }

  /** A membership event replayed from auth-api's change feed: applied exactly like one from the bus. */
  applyChange(payload: unknown): void {
    this.#onEvent(payload);
  }

  #onEvent(payload: unknown): void {
    if (!validEvent.Check(payload)) return;
    const event = payload;
    this.stats.events += 1;
    const { group_id: groupId } = event;
    this.#pendingEvents.get(groupId)?.push(event);
    if (event.type === 'member_added') this.#missing.delete(groupId);
    const entry = this.#cache.get(groupId);
    if (entry) applyEvent(entry, event);
    const now = this.#now();
    if (event.type === 'member_removed') {
      const key = `${groupId}:${event.user_id}`;
      this.#tombstones.set(key, now);
      this.#rechecks.delete(key);
      if (this.#tombstones.size > 10_000) this.#prune(this.#tombstones, now - TOMBSTONE_MS);
      this.#emit({ groupId, userId: event.user_id, status: 403 });
    } else if (event.type === 'member_added') {
      this.#tombstones.delete(`${groupId}:${event.user_id}`);
    } else {
      this.#emit({ groupId, userId: null, status: 404 });
    }
  }

  #forgetTombstoned(groupId: string, entry: Entry): void {
    const now = this.#now();
    for (const userId of entry.members.keys()) {
      if (this.#isTombstoned(`${groupId}:${userId}`, now)) entry.members.delete(userId);
    }
  }

  #isTombstoned(key: string, now: number): boolean {
    const at = this.#tombstones.get(key);
    return at !== undefined && now - at < TOMBSTONE_MS;
  }

  #prune(map: Map<string, number>, olderThan: number): void {
    for (const [key, at] of map) if (at < olderThan) map.delete(key);
  }

  #emit(event: AccessLost): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        this.#logger.error(
          { err: error, event: 'access_lost_listener_failed' },
          'access-lost listener failed',
        );
      }
    }
  }
}

function applyEvent(entry: Entry, event: MembershipEvent): void {
  if (!entry.exists) return;
  switch (event.type) {
    case 'member_added':
      // An event naming another org is not about this group (ids are global, but be strict).
      if (event.org_id === entry.orgId) entry.members.set(event.user_id, event.role);
      break;
    case 'member_removed':
      entry.members.delete(event.user_id);
      break;
    case 'group_deleted':
      entry.exists = false;
      entry.members.clear();
      break;
  }
}

function toProblem(error: unknown): unknown {
  if (!(error instanceof AuthApiUnavailableError)) return error;
  return problems.unavailable(
    'group membership cannot be checked right now (auth-api unavailable); retry shortly',
    'auth_api_unavailable',
    Math.max(1, Math.ceil(error.retryAfterMs / 1000)),
  );
}
