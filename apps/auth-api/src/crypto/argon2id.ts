import { HttpProblem } from '@groupchat/service-kit';
import { hash, verify } from '@node-rs/argon2';

/**
 * OWASP's Argon2id baseline: 19 MiB, 2 passes, 1 lane. About 20 ms of CPU per run: a stolen database
 * yields hashes that are slow to attack, whether of a password or of a (supplied, lower-entropy)
 * client secret.
 */
const ARGON2ID_OPTIONS = {
  algorithm: 2 /* Algorithm.Argon2id */,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
} as const;

/** A value nobody knows, hashed once, so that checking against "no such account" costs a real verify. */
const BURN_VALUE = 'not-a-real-secret-only-burns-the-same-time';

export interface Argon2Bounds {
  maxConcurrentHashes: number;
  maxQueuedHashes: number;
  maxConcurrentVerifies: number;
}

/** At most `size` tasks at once; `maxQueued` more wait (beyond that: refused at once). */
export class Semaphore {
  readonly #size: number;
  readonly #maxQueued: number;
  #running = 0;
  readonly #queue: (() => void)[] = [];

  constructor(size: number, maxQueued = Number.POSITIVE_INFINITY) {
    this.#size = size;
    this.#maxQueued = maxQueued;
  }

  get running(): number {
    return this.#running;
  }

  /** Runs `task` in a slot; null when the queue is full (nothing ran). */
  async run<T>(task: () => Promise<T>): Promise<{ value: T } | null> {
    if (this.#running >= this.#size) {
      if (this.#queue.length >= this.#maxQueued) return null;
      await new Promise<void>((resolve) => this.#queue.push(resolve));
    } else {
      this.#running += 1;
    }
    try {
      return { value: await task() };
    } finally {
      const next = this.#queue.shift();
      if (next) next();
      else this.#running -= 1;
    }
  }
}

/**
 * The one Argon2id hasher of auth-api, for passwords and client secrets alike, so that one bound
 * covers all Argon2id work in the process. `verifyOrBurn` spends the same work when the account or
 * client does not exist, so the answer takes as long for an unknown email or client_id as for a wrong
 * password or secret (no enumeration).
 */
export class Argon2idHasher {
  #burnHash: Promise<string> | null = null;
  readonly #hashes: Semaphore;
  readonly #verifies: Semaphore;

  constructor(
    bounds: Argon2Bounds = { maxConcurrentHashes: 2, maxQueuedHashes: 32, maxConcurrentVerifies: 4 },
  ) {
    // libuv runs Argon2 on its 4 worker threads: new hashes (registrations, password changes, new client
    // secrets) never hold more than their own slots, so verifications (logins, client authentication)
    // always find threads, however many registrations arrive.
    this.#hashes = new Semaphore(bounds.maxConcurrentHashes, bounds.maxQueuedHashes);
    this.#verifies = new Semaphore(bounds.maxConcurrentVerifies);
  }

  get hashesRunning(): number {
    return this.#hashes.running;
  }

  async hash(secret: string): Promise<string> {
    const done = await this.#hashes.run(() => hash(secret, ARGON2ID_OPTIONS));
    if (!done)
      throw new HttpProblem(
        503,
        'password_hashing_busy',
        'too many passwords are being set right now; retry shortly',
        { headers: { 'retry-after': '1' } },
      );
    return done.value;
  }

  /** False for a mismatch and for a malformed stored hash (never throws). */
  async verify(secretHash: string, secret: string): Promise<boolean> {
    const done = await this.#verifies.run(async () => {
      try {
        return await verify(secretHash, secret);
      } catch {
        return false;
      }
    });
    return done?.value ?? false;
  }

  /** `verify`, or, when there is no stored hash, the same work against a hash nobody matches. */
  async verifyOrBurn(secretHash: string | undefined, secret: string): Promise<boolean> {
    if (secretHash !== undefined) return this.verify(secretHash, secret);
    this.#burnHash ??= hash(BURN_VALUE, ARGON2ID_OPTIONS);
    await this.verify(await this.#burnHash, secret);
    return false;
  }
}
