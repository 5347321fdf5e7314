/**
 * WebSocket liveness pings, spread over the ping interval. Pinging every socket in one loop blocked the
 * event loop for as long as the sockets' writes took: with 10,000 sockets, 275–370 ms once every 30 s,
 * which every message in flight at that moment waited out (the 10,000-subscriber delivery p99). The
 * interval is cut into `slices`; each tick pings the next share of the sockets, in the set's order, so
 * each socket is still pinged once per interval, and a tick costs a slice's worth of writes.
 */
export class PingSweep<T> {
  readonly #items: Set<T>;
  readonly #ping: (item: T) => void;
  readonly #slices: number;
  #cursor: Iterator<T> | null = null;
  #tick = 0;

  constructor(items: Set<T>, ping: (item: T) => void, slices: number) {
    this.#items = items;
    this.#ping = ping;
    this.#slices = Math.max(1, Math.floor(slices));
  }

  /** How often `tick` is to be called for every item to be pinged once per `intervalMs`. */
  tickMs(intervalMs: number): number {
    return Math.max(1, Math.floor(intervalMs / this.#slices));
  }

  /**
   * Pings the next slice; true when this tick began a new round (once per interval: the moment for
   * work done once per interval). A Set's iterator skips items deleted and reaches items added since
   * it started, so a socket that opens mid-round is pinged in that round or the next.
   */
  tick(): boolean {
    const newRound = this.#tick % this.#slices === 0;
    this.#tick += 1;
    if (newRound || !this.#cursor) this.#cursor = this.#items.values();
    // A fixed share per tick; the round's last tick takes whatever is left (the set may have grown).
    const lastOfRound = this.#tick % this.#slices === 0;
    let budget = lastOfRound ? Number.POSITIVE_INFINITY : Math.ceil(this.#items.size / this.#slices);
    while (budget-- > 0) {
      const next = this.#cursor.next();
      if (next.done) break;
      this.#ping(next.value);
    }
    return newRound;
  }
}
