import { HttpProblem } from '@groupchat/service-kit';
import { hash, verify } from '@node-rs/argon2';

/** OWASP's Argon2id baseline: 19 MiB, 2 passes, 1 lane. */
const ARGON2ID_OPTIONS = {
  algorithm: 2 /* Algorithm.Argon2id */,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
} as const;

export const MIN_PASSWORD_LENGTH = 8;

/**
 * Argon2id password hashing. `verifyOrBurn` spends the same work when the account does not exist, so
 * the login answer takes as long for an unknown email as for a wrong password (no user enumeration).
 */
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

export class PasswordHasher {
  #dummyHash: Promise<string> | null = null;
  readonly #hashes: Semaphore;
  readonly #verifies: Semaphore;

  constructor(
    bounds: Argon2Bounds = { maxConcurrentHashes: 2, maxQueuedHashes: 32, maxConcurrentVerifies: 4 },
  ) {
    // libuv runs Argon2 on its 4 worker threads: new-password hashes never hold more than their own slots,
    // so logins (verifies) always find threads, however many registrations arrive.
    this.#hashes = new Semaphore(bounds.maxConcurrentHashes, bounds.maxQueuedHashes);
    this.#verifies = new Semaphore(bounds.maxConcurrentVerifies);
  }

  get hashesRunning(): number {
    return this.#hashes.running;
  }

  async hash(password: string): Promise<string> {
    const done = await this.#hashes.run(() => hash(password, ARGON2ID_OPTIONS));
    if (!done)
      throw new HttpProblem(
        503,
        'password_hashing_busy',
        'too many passwords are being set right now; retry shortly',
        {
          headers: { 'retry-after': '1' },
        },
      );
    return done.value;
  }

  async verify(passwordHash: string, password: string): Promise<boolean> {
    const done = await this.#verifies.run(async () => {
      try {
        return await verify(passwordHash, password);
      } catch {
        return false;
      }
    });
    return done?.value ?? false;
  }

  async verifyOrBurn(passwordHash: string | undefined, password: string): Promise<boolean> {
    if (passwordHash !== undefined) return this.verify(passwordHash, password);
    this.#dummyHash ??= hash('not-a-real-password-only-burns-time', ARGON2ID_OPTIONS);
    await this.verify(await this.#dummyHash, password);
    return false;
  }
}
