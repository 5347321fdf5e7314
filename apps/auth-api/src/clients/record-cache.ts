import type { ClientWithSecrets } from './repository.ts';

const MAX_ENTRIES = 1_000;

/**
 * Client records (with their secret hashes) kept in memory. Whoever changes a client calls
 * `invalidate()` after the commit: on PGlite (one process owns the data directory) that is this
 * process's ClientService itself; on PostgreSQL every instance (and the CLI) also announces the change
 * on the bus and every instance invalidates on hearing it (see ClientService). Secret expiry (rotation
 * grace) is checked against the clock at each use, not at load. `ttlMs` bounds how long an entry is
 * trusted without news, for a bus message that was lost.
 */
export class ClientRecordCache {
  readonly #entries = new Map<string, { record: ClientWithSecrets; loadedAt: number }>();
  readonly #inFlight = new Map<string, Promise<ClientWithSecrets | undefined>>();
  readonly #ttlMs: number;
  readonly #now: () => number;
  #generation = 0;

  constructor(options: { ttlMs?: number; now?: () => number } = {}) {
    this.#ttlMs = options.ttlMs ?? Number.POSITIVE_INFINITY;
    this.#now = options.now ?? Date.now;
  }

  /** The cached record, without loading: undefined when absent or older than the TTL. */
  peek(clientId: string): ClientWithSecrets | undefined {
    const entry = this.#entries.get(clientId);
    if (!entry) return undefined;
    if (this.#now() - entry.loadedAt >= this.#ttlMs) {
      this.#entries.delete(clientId);
      return undefined;
    }
    return entry.record;
  }

  async get(
    clientId: string,
    load: () => Promise<ClientWithSecrets | undefined>,
  ): Promise<ClientWithSecrets | undefined> {
    const hit = this.peek(clientId);
    if (hit) return hit;
    let pending = this.#inFlight.get(clientId);
    if (!pending) {
      const generation = this.#generation;
      const loadedAt = this.#now();
      pending = load()
        .then((record) => {
          // A change committed while we were reading: our copy may predate it, do not keep it.
          if (record && generation === this.#generation) {
            if (this.#entries.size >= MAX_ENTRIES) this.#entries.clear();
            this.#entries.set(clientId, { record, loadedAt });
          }
          return record;
        })
        .finally(() => {
          if (this.#inFlight.get(clientId) === pending) this.#inFlight.delete(clientId);
        });
      this.#inFlight.set(clientId, pending);
    }
    return pending;
  }

  /** After any committed change to any client: forget everything (changes are rare). */
  invalidate(): void {
    this.#generation += 1;
    this.#entries.clear();
    this.#inFlight.clear();
  }
}
