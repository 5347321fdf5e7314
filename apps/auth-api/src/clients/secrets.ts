import { createHmac, createSecretKey, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Argon2idHasher } from '../crypto/argon2id.ts';

/** 256 random bits, base64url: 43 characters. */
export function generateClientSecret(): string {
  return randomBytes(32).toString('base64url');
}

const MAX_ENTRIES = 10_000;

/**
 * Which secret rows this process has already verified, and for what presented value: secret row id →
 * HMAC-SHA-256 (under a key that never leaves this process) of the secret that matched its Argon2id
 * hash. A request whose presented secret digests to the cached value for one of the client's *current*
 * secret rows (re-read from the database on every request) is authenticated at the cost of one HMAC
 * and a constant-time comparison. Rows that were deleted or expired are simply never consulted again,
 * so deletion and rotation take effect at once on every instance; entries are only a shortcut for
 * "this exact value already passed Argon2id against this exact row".
 */
export class VerifiedSecretCache {
  /** A KeyObject, not a Buffer: createHmac with a Buffer key costs 5× more (it re-imports the key). */
  readonly #key = createSecretKey(randomBytes(32));
  readonly #entries = new Map<string, Buffer>();
  /** Concurrent first verifications of the same row and value share one Argon2id run. */
  readonly #inFlight = new Map<string, Promise<boolean>>();

  digest(secret: string): Buffer {
    return createHmac('sha256', this.#key).update(secret, 'utf8').digest();
  }

  matches(secretId: string, digest: Buffer): boolean {
    const known = this.#entries.get(secretId);
    return known !== undefined && timingSafeEqual(known, digest);
  }

  remember(secretId: string, digest: Buffer): void {
    if (this.#entries.size >= MAX_ENTRIES) this.#entries.clear();
    this.#entries.set(secretId, digest);
  }

  /** Argon2id verification, deduplicated per (row, presented value) while it runs; caches a success. */
  async verify(
    hasher: Argon2idHasher,
    secretId: string,
    secretHash: string,
    secret: string,
    digest: Buffer,
  ): Promise<boolean> {
    const key = `${secretId}:${digest.toString('base64url')}`;
    let pending = this.#inFlight.get(key);
    if (!pending) {
      pending = hasher.verify(secretHash, secret).finally(() => this.#inFlight.delete(key));
      this.#inFlight.set(key, pending);
    }
    const ok = await pending;
    if (ok) this.remember(secretId, digest);
    return ok;
  }

  get size(): number {
    return this.#entries.size;
  }
}
