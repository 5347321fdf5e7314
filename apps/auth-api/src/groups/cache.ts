import { Channels, MembershipEventSchema } from '@groupchat/contract';
import type { EventBus } from '@groupchat/service-kit';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { Compile } from 'typebox/compile';
import { CacheInvalidations, RecordCache, SHARED_RECORD_TTL_MS } from '../cache/record-cache.ts';
import type { AuthCore } from '../core.ts';
import type { AuthDB } from '../db/schema.ts';
import type { GroupRecord, MemberRecord } from './repository.ts';

/** What access checks need of a membership (not the display name, which changes elsewhere). */
export type Membership = Pick<MemberRecord, 'userId' | 'role' | 'joinedAt'>;

const MAX_GROUPS = 10_000;
const MAX_MEMBERSHIPS = 50_000;
const validEvent = Compile(MembershipEventSchema);

function membershipKey(groupId: string, userId: string): string {
  return `${groupId.toLowerCase()} ${userId.toLowerCase()}`;
}

/**
 * Groups (with their member count) and users' memberships kept in memory for the read paths (GET a
 * group, the caller's membership behind every user request; a service's membership question is read
 * from the database, see GroupService.getMember).
 * Everything that changes them goes through GroupService, which calls `changed` after the commit and
 * then publishes on `Channels.membership` (member_added, member_removed, group_deleted); on a shared
 * database every instance hears those and forgets the same entries. Without a cache (PostgreSQL with an
 * in-process bus that cannot reach other instances) every read goes to the database.
 */
export class GroupCache {
  readonly #groups: RecordCache<GroupRecord> | null;
  readonly #memberships: RecordCache<Membership> | null;
  readonly #invalidations: CacheInvalidations | null;

  constructor(options: {
    mode: 'exclusive' | 'shared' | 'none';
    bus: EventBus;
    logger: Logger;
    now?: () => number;
  }) {
    if (options.mode === 'none') {
      this.#groups = this.#memberships = this.#invalidations = null;
      return;
    }
    const ttl = options.mode === 'shared' ? { ttlMs: SHARED_RECORD_TTL_MS } : {};
    const now = options.now ? { now: options.now } : {};
    const groups = new RecordCache<GroupRecord>({ ...ttl, ...now, maxEntries: MAX_GROUPS });
    const memberships = new RecordCache<Membership>({ ...ttl, ...now, maxEntries: MAX_MEMBERSHIPS });
    this.#groups = groups;
    this.#memberships = memberships;
    this.#invalidations = new CacheInvalidations({
      bus: options.mode === 'shared' ? options.bus : null,
      channel: Channels.membership,
      logger: options.logger,
      onMessage: (payload) => this.#heard(payload),
      reset: () => {
        groups.invalidate();
        memberships.invalidate();
      },
    });
  }

  group(groupId: string, load: () => Promise<GroupRecord | undefined>): Promise<GroupRecord | undefined> {
    if (!this.#invalidations?.usable()) return load();
    return this.#groups!.get(groupId.toLowerCase(), load);
  }

  membership(
    groupId: string,
    userId: string,
    load: () => Promise<Membership | undefined>,
  ): Promise<Membership | undefined> {
    if (!this.#invalidations?.usable()) return load();
    return this.#memberships!.get(membershipKey(groupId, userId), load);
  }

  /**
   * After a committed change to a group: its record (member count) and, given `userIds`, those
   * memberships; `allMembers` when the group is gone (every membership of it).
   */
  changed(groupId: string, change: { userIds?: readonly string[]; allMembers?: boolean } = {}): void {
    this.#groups?.invalidate(groupId.toLowerCase());
    if (change.allMembers) this.#memberships?.invalidate();
    else
      for (const userId of change.userIds ?? [])
        this.#memberships?.invalidate(membershipKey(groupId, userId));
  }

  #heard(payload: unknown): void {
    if (!validEvent.Check(payload)) {
      // Not a message we understand: forgetting everything is always safe.
      this.#groups?.invalidate();
      this.#memberships?.invalidate();
      return;
    }
    if (payload.type === 'group_deleted') this.changed(payload.group_id, { allMembers: true });
    else this.changed(payload.group_id, { userIds: [payload.user_id] });
  }
}

const caches = new WeakMap<Kysely<AuthDB>, GroupCache>();

/**
 * The one GroupCache per database handle (two cores over one PGlite database share it, as they share
 * the ClientService). Cached on PGlite (the process owns the database: invalidated by our own writes)
 * and on PostgreSQL with a Redis bus (every instance announces its changes there, entries trusted for
 * SHARED_RECORD_TTL_MS at most); on PostgreSQL with an in-process bus, not at all.
 */
export function groupCacheFor(core: AuthCore): GroupCache {
  let cache = caches.get(core.db);
  if (!cache) {
    const mode =
      core.config.database.kind === 'pglite' ? 'exclusive' : core.bus.kind === 'redis' ? 'shared' : 'none';
    cache = new GroupCache({ mode, bus: core.bus, logger: core.logger, now: core.now });
    caches.set(core.db, cache);
  }
  return cache;
}
