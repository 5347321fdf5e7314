import type { ExpiringSets } from '@groupchat/service-kit';
import type { Logger } from 'pino';

/** One authenticated WebSocket, as a slot of its user. */
export interface Slot {
  userId: string;
  /** Unique per connection (this instance's id is added to it in the shared set). */
  connectionId: string;
}

export interface ConnectionSlotsOptions {
  /** Shared across instances when Redis is configured (service-kit's ExpiringSets), else in memory. */
  store: ExpiringSets;
  instanceId: string;
  /** Connections per user, on all instances together (WS_MAX_CONNECTIONS_PER_USER, at least 10). */
  maxPerUser: number;
  /** A slot not refreshed for this long is gone (its instance died without saying goodbye). */
  ttlMs: number;
  logger: Logger;
}

const key = (userId: string) => `ws-connections:${userId}`;

/**
 * The contract's "connections per user", counted across every chat-api instance: each authenticated
 * connection is a member of its user's expiring set (ExpiringSets: Redis sorted sets when configured),
 * refreshed by the heartbeat and removed on close, so an instance that dies frees its slots within
 * `ttlMs`. A new connection takes its slot first and counts after: two instances admitting the user's
 * last free slot at the same moment may both refuse (the client retries), never both admit.
 *
 * When the shared store cannot be reached, this instance's own count decides (as service-kit's
 * RedisRateLimiter falls back to memory): still limited, per instance, rather than open or closed to all.
 */
export class ConnectionSlots {
  readonly #options: ConnectionSlotsOptions;
  /** This instance's slots per user: the fallback count, and what the heartbeat refreshes. */
  readonly #local = new Map<string, Set<string>>();

  constructor(options: ConnectionSlotsOptions) {
    this.#options = options;
  }

  #member(slot: Slot): string {
    return `${this.#options.instanceId}:${slot.connectionId}`;
  }

  /** Takes a slot for a new connection; false (and nothing held) when the user has every slot already. */
  async acquire(slot: Slot): Promise<boolean> {
    const { maxPerUser, store, ttlMs } = this.#options;
    const mine = this.#local.get(slot.userId) ?? new Set<string>();
    if (mine.size >= maxPerUser) return false;
    mine.add(slot.connectionId);
    this.#local.set(slot.userId, mine);
    const entry = { key: key(slot.userId), member: this.#member(slot) };
    try {
      await store.touch([{ ...entry, ttlMs }]);
      const [members = []] = await store.members([entry.key]);
      if (members.length <= maxPerUser) return true;
    } catch (error) {
      this.#options.logger.warn(
        { err: error, event: 'connection_slots_unavailable' },
        'shared connection count unavailable; counting on this instance',
      );
      return true;
    }
    this.release(slot);
    return false;
  }

  /** Gives the slot back (connection closed). */
  release(slot: Slot): void {
    const mine = this.#local.get(slot.userId);
    if (!mine?.delete(slot.connectionId)) return;
    if (mine.size === 0) this.#local.delete(slot.userId);
    this.#options.store.remove([{ key: key(slot.userId), member: this.#member(slot) }]).catch((error) =>
      // Not refreshed any more, it expires within ttlMs anyway.
      this.#options.logger.debug(
        { err: error, event: 'connection_slot_release_failed' },
        'slot not released',
      ),
    );
  }

  /** Keeps this instance's slots alive (every heartbeat, one round trip for all of them). */
  async refresh(): Promise<void> {
    const entries: { key: string; member: string; ttlMs: number }[] = [];
    for (const [userId, connections] of this.#local)
      for (const connectionId of connections)
        entries.push({
          key: key(userId),
          member: this.#member({ userId, connectionId }),
          ttlMs: this.#options.ttlMs,
        });
    await this.#options.store.touch(entries);
  }
}
