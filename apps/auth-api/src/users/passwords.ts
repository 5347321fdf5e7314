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
export class PasswordHasher {
  #dummyHash: Promise<string> | null = null;

  hash(password: string): Promise<string> {
    return hash(password, ARGON2ID_OPTIONS);
  }

  async verify(passwordHash: string, password: string): Promise<boolean> {
    try {
      return await verify(passwordHash, password);
    } catch {
      return false;
    }
  }

  async verifyOrBurn(passwordHash: string | undefined, password: string): Promise<boolean> {
    if (passwordHash !== undefined) return this.verify(passwordHash, password);
    this.#dummyHash ??= this.hash('not-a-real-password-only-burns-time');
    await this.verify(await this.#dummyHash, password);
    return false;
  }
}
