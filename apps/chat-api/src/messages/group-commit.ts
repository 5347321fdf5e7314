/**
 * Group commit: concurrent writes batched into one database statement (one transaction, so one WAL
 * flush), each caller answered only after the commit that holds its write.
 *
 * Batches form by themselves: a write that finds the writer idle goes out on the next turn of the
 * event loop (with whatever else arrived in that turn); writes that arrive while a batch is being
 * committed wait and go out together as the next one. Light load pays no wait, heavy load pays one
 * flush per batch instead of one per write. A batch whose statement was refused and rolled back as a
 * whole (a unique-key race with another instance, a deadlock: `retryAlone` says which errors are
 * that) is retried write by write, so one bad write never fails the others. Any other failure (the
 * connection lost mid-commit: the batch may or may not be stored) fails every write of the batch,
 * as it would fail a lone write: never written twice behind the caller's back.
 */
export interface GroupCommitOptions<In, Out> {
  /** Writes every item in one statement; results in the items' order. */
  writeBatch: (items: In[]) => Promise<Out[]>;
  /** Writes one item alone (the fallback when a batch was refused). */
  writeOne: (item: In) => Promise<Out>;
  /** True for an error after which the batch is certainly not stored (its statement rolled back). */
  retryAlone: (error: unknown) => boolean;
  /** Items per statement at most. */
  maxBatch: number;
  /** Batches being committed at once (each holds a connection). */
  maxInFlight?: number;
  /** Called with the size of each batch sent (metrics). */
  onBatch?: (size: number) => void;
}

interface Pending<In, Out> {
  item: In;
  resolve: (out: Out) => void;
  reject: (error: unknown) => void;
}

export class GroupCommitter<In, Out> {
  readonly #options: Required<Omit<GroupCommitOptions<In, Out>, 'onBatch'>> &
    Pick<GroupCommitOptions<In, Out>, 'onBatch'>;
  #queue: Pending<In, Out>[] = [];
  #inFlight = 0;
  #scheduled = false;

  constructor(options: GroupCommitOptions<In, Out>) {
    this.#options = { maxInFlight: 1, ...options };
  }

  /** Resolves once the item is committed (with its result), rejects if its write failed. */
  submit(item: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#queue.length === 0 || this.#inFlight >= this.#options.maxInFlight) return;
    this.#scheduled = true;
    // Everything that arrives in this turn of the event loop joins the batch.
    setImmediate(() => {
      this.#scheduled = false;
      while (this.#queue.length > 0 && this.#inFlight < this.#options.maxInFlight) {
        void this.#flush(this.#queue.splice(0, this.#options.maxBatch));
      }
    });
  }

  async #flush(batch: Pending<In, Out>[]): Promise<void> {
    this.#inFlight += 1;
    this.#options.onBatch?.(batch.length);
    try {
      const results = await this.#options.writeBatch(batch.map((p) => p.item));
      for (const [i, pending] of batch.entries()) pending.resolve(results[i]!);
    } catch (error) {
      if (batch.length === 1 || !this.#options.retryAlone(error))
        for (const pending of batch) pending.reject(error);
      else
        for (const pending of batch) {
          try {
            pending.resolve(await this.#options.writeOne(pending.item));
          } catch (oneError) {
            pending.reject(oneError);
          }
        }
    } finally {
      this.#inFlight -= 1;
      this.#schedule();
    }
  }
}
