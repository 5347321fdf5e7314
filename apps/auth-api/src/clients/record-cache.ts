import type { ClientWithSecrets } from './repository.ts';

const MAX_ENTRIES = 1_000;

/**
 * Client records (with their secret hashes) kept in memory, for a process that is the only writer of
 * its database (PGlite: one process owns the data directory). Every change to clients goes through
 * this process's ClientService, which calls `invalidate()` after it commits, so a cached record is
 * never stale; secret expiry (rotation grace) is checked against the clock at each use, not at load.
 * On PostgreSQL, where other instances write too, the service does not use this cache: it reads the
 * client on every request, so a deletion or rotation anywhere takes effect at once everywhere.
 */
export class ClientRecordCache {
  readonly #entries = new Map<string, ClientWithSecrets>();
  readonly #inFlight = new Map<string, Promise<ClientWithSecrets | undefined>>();
  #generation = 0;

  async get(
    clientId: string,
    load: () => Promise<ClientWithSecrets | undefined>,
  ): Promise<ClientWithSecrets | undefined> {
    const hit = this.#entries.get(clientId);
    if (hit) return hit;
    let pending = this.#inFlight.get(clientId);
    if (!pending) {
      const generation = this.#generation;
      pending = load()
        .then((record) => {
          // A change committed while we were reading: our copy may predate it, do not keep it.
          if (record && generation === this.#generation) {
            if (this.#entries.size >= MAX_ENTRIES) this.#entries.clear();
            this.#entries.set(clientId, record);
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
