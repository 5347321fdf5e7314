import type { EventBus } from '@groupchat/service-kit';
import type { Logger } from 'pino';

/**
 * On a shared database, how long a cached record is trusted without news from the bus: the bound on a
 * change missed because its bus message was lost (the bus is bypassed while it is down).
 */
export const SHARED_RECORD_TTL_MS = 5_000;

const DEFAULT_MAX_ENTRIES = 1_000;

/**
 * Database records kept in memory, by key (client records, groups, memberships). Whoever changes a
 * record calls `invalidate(key)` (or `invalidate()` for all) after the commit: on PGlite (one process
 * owns the data directory) that is this process's own service; on PostgreSQL every instance also
 * announces the change on the bus and every instance invalidates on hearing it (see CacheInvalidations).
 * `ttlMs` bounds how long an entry is trusted without news, for a bus message that was lost. Absent
 * records (undefined) are not kept: a miss is read again next time.
 */
export class RecordCache<V> {
  readonly #entries = new Map<string, { record: V; loadedAt: number }>();
  readonly #inFlight = new Map<string, Promise<V | undefined>>();
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  /** Bumped by every invalidation: a load that started before one is not kept (it may predate the change). */
  #generation = 0;

  constructor(options: { ttlMs?: number; now?: () => number; maxEntries?: number } = {}) {
    this.#ttlMs = options.ttlMs ?? Number.POSITIVE_INFINITY;
    this.#maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The cached record, without loading: undefined when absent or older than the TTL. */
  peek(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (this.#now() - entry.loadedAt >= this.#ttlMs) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.record;
  }

  async get(key: string, load: () => Promise<V | undefined>): Promise<V | undefined> {
    const hit = this.peek(key);
    if (hit !== undefined) return hit;
    let pending = this.#inFlight.get(key);
    if (!pending) {
      const generation = this.#generation;
      const loadedAt = this.#now();
      pending = load()
        .then((record) => {
          // A change committed while we were reading: our copy may predate it, do not keep it.
          if (record !== undefined && generation === this.#generation) {
            // Bounded: when full, start over (cheaper than LRU bookkeeping on every hit; reloads are one query).
            if (this.#entries.size >= this.#maxEntries) this.#entries.clear();
            this.#entries.set(key, { record, loadedAt });
          }
          return record;
        })
        .finally(() => {
          if (this.#inFlight.get(key) === pending) this.#inFlight.delete(key);
        });
      this.#inFlight.set(key, pending);
    }
    return pending;
  }

  /**
   * After a committed change: forget `key`, or everything without one. Loads in flight for any key
   * are not kept (the generation is global: simpler, and only costs a reload), and a load in flight for
   * `key` is not joined by later readers.
   */
  invalidate(key?: string): void {
    this.#generation += 1;
    if (key === undefined) {
      this.#entries.clear();
      this.#inFlight.clear();
    } else {
      this.#entries.delete(key);
      this.#inFlight.delete(key);
    }
  }
}

/**
 * Whether caches of a database's records may answer, and the bus subscription that keeps them honest.
 * Exclusive database (PGlite: this process is the only writer, `bus` null): always, the process's own
 * writes invalidate. Shared database (PostgreSQL with a bus that reaches every instance): only once
 * subscribed to `channel` (a change announced before that would be missed) and while the bus is
 * healthy; after the bus was down, everything is forgotten (changes announced meanwhile never came).
 */
export class CacheInvalidations {
  readonly #bus: EventBus | null;
  readonly #reset: () => void;
  #listening: boolean;
  #busWasDown = false;

  constructor(options: {
    bus: EventBus | null;
    channel: string;
    logger: Logger;
    /** A message on `channel`: invalidate what it names. */
    onMessage: (payload: unknown) => void;
    /** Forget every cached record. */
    reset: () => void;
  }) {
    this.#bus = options.bus;
    this.#reset = options.reset;
    this.#listening = options.bus === null;
    if (options.bus) void this.#listen(options.bus, options.channel, options.onMessage, options.logger);
  }

  async #listen(
    bus: EventBus,
    channel: string,
    onMessage: (payload: unknown) => void,
    logger: Logger,
  ): Promise<void> {
    try {
      await bus.subscribe(channel, onMessage);
      // Only now may records be kept: a change announced before the subscription would be missed.
      this.#reset();
      this.#listening = true;
    } catch (error) {
      logger.warn(
        { err: error, event: 'cache_subscribe_failed', channel },
        'cannot hear changes: reading from the database on every request',
      );
    }
  }

  /** Whether cached records may answer now. */
  usable(): boolean {
    if (!this.#listening) return false;
    if (!this.#bus) return true;
    if (!this.#bus.healthy()) {
      this.#busWasDown = true;
      return false;
    }
    if (this.#busWasDown) {
      this.#busWasDown = false;
      this.#reset();
    }
    return true;
  }
}
