import { createHmac, createSecretKey, randomBytes, timingSafeEqual } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';

/** 256 random bits, base64url: 43 characters. */
export function generateClientSecret(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Argon2id, OWASP baseline (19 MiB, 2 passes, 1 lane): a stolen database yields hashes that are slow
 * to attack even for a supplied (lower-entropy) secret. About 20 ms of CPU per verification, which is
 * why the hot path never pays it twice for the same secret (see VerifiedSecretCache).
 */
const ARGON2ID_OPTIONS = {
  algorithm: 2 /* Algorithm.Argon2id */,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
} as const;

export function hashClientSecret(secret: string): Promise<string> {
  return hash(secret, ARGON2ID_OPTIONS);
}

export async function verifyClientSecret(secretHash: string, secret: string): Promise<boolean> {
  try {
    return await verify(secretHash, secret);
  } catch {
    return false;
  }
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
  async verify(secretId: string, secretHash: string, secret: string, digest: Buffer): Promise<boolean> {
    const key = `${secretId}:${digest.toString('base64url')}`;
    let pending = this.#inFlight.get(key);
    if (!pending) {
      pending = verifyClientSecret(secretHash, secret).finally(() => this.#inFlight.delete(key));
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
