import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { uuidv7 } from '@groupchat/service-kit';
import type { Logger } from 'pino';
import type { AuditRepository } from '../audit/repository.ts';
import { KeySealer } from './at-rest.ts';
import type { SigningKeyRepository, StoredKey } from './repository.ts';

export const SIGNING_ALG = 'ES256';

export interface PublicJwk {
  kty: string;
  crv: string;
  x: string;
  y: string;
  kid: string;
  alg: string;
  use: 'sig';
}

interface LoadedKey {
  kid: string;
  activatesAt: number;
  expiresAt: number | null;
  publicJwk: PublicJwk;
  privateKey: KeyObject;
}

export interface KeyServiceOptions {
  repository: SigningKeyRepository;
  logger: Logger;
  /** Longest lifetime of any token we sign: how long a superseded key must stay published. */
  maxTokenTtlSeconds: number;
  publishAheadSeconds: number;
  rotateEverySeconds: number;
  /** The secret private keys are sealed with (see at-rest.ts: required in production, generated in the demo). */
  encryptionSecret: string;
  now?: () => number;
  /** Records signing_key.rotated in the rotation's transaction. */
  audit?: AuditRepository;
}

/**
 * Signing keys live in the database so that every instance signs with the same key and publishes the
 * same JWKS. Rotation without downtime: a new key is published at once but only signs from
 * `activatesAt` (publishAheadSeconds later), so resource servers that cache JWKS learn it before they
 * meet a token signed by it; the keys it replaces stay published until their last token has expired.
 */
export class KeyService {
  readonly #options: KeyServiceOptions;
  readonly #now: () => number;
  #keys: LoadedKey[] = [];
  #refreshTimer: NodeJS.Timeout | null = null;
  #loadedAt = 0;
  readonly #sealer: KeySealer;

  constructor(options: KeyServiceOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#sealer = new KeySealer(options.encryptionSecret);
  }

  /** Loads the keys, creating the first one when the database has none that can sign. */
  async start(refreshEveryMs = 30_000): Promise<void> {
    await this.#resealOlderFormats();
    await this.refresh();
    if (!this.#signingKeyOrNull()) {
      await this.rotate({ immediate: true });
    }
    this.#refreshTimer = setInterval(() => {
      this.#maintain().catch((error) =>
        this.#options.logger.warn(
          { err: error, event: 'signing_keys_refresh_failed' },
          'signing key refresh failed',
        ),
      );
    }, refreshEveryMs);
    this.#refreshTimer.unref();
  }

  stop(): void {
    if (this.#refreshTimer) clearInterval(this.#refreshTimer);
    this.#refreshTimer = null;
  }

  async refresh(): Promise<void> {
    const stored = await this.#options.repository.listPublished(new Date(this.#now()));
    this.#keys = stored.map((key) => this.#load(key));
    this.#loadedAt = this.#now();
  }

  async #maintain(): Promise<void> {
    await this.refresh();
    const { rotateEverySeconds } = this.#options;
    if (rotateEverySeconds > 0) {
      const newest = this.#keys.at(-1);
      if (newest && this.#now() - newest.activatesAt >= rotateEverySeconds * 1000) {
        await this.rotate({ immediate: false });
      }
    }
    await this.#options.repository.deleteExpired(new Date(this.#now()));
  }

  /**
   * Creates a new key. `immediate` makes it sign at once (first start, or an emergency after a leak);
   * otherwise it signs after the publish-ahead delay.
   */
  async rotate({ immediate }: { immediate: boolean }): Promise<{ kid: string; activatesAt: Date }> {
    const now = this.#now();
    const activatesAt = new Date(immediate ? now : now + this.#options.publishAheadSeconds * 1000);
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const kid = uuidv7();
    const publicJwk = { ...publicKey.export({ format: 'jwk' }), kid, alg: SIGNING_ALG, use: 'sig' };
    const privateJwk = JSON.stringify(privateKey.export({ format: 'jwk' }));
    // Superseded keys keep signing until the new one activates, and stay published for one more
    // token lifetime (plus a minute of clock skew) so every token they signed still verifies.
    const othersExpireAt = new Date(activatesAt.getTime() + (this.#options.maxTokenTtlSeconds + 60) * 1000);
    await this.#options.repository.insertAndSupersede(
      {
        kid,
        alg: SIGNING_ALG,
        publicJwk,
        privateJwk: this.#seal(privateJwk),
        activatesAt,
        retiredAt: null,
        expiresAt: null,
      },
      activatesAt,
      othersExpireAt,
      this.#options.audit
        ? (trx) =>
            this.#options.audit!.record(trx, {
              orgId: null,
              type: 'signing_key.rotated',
              actor: { type: 'system', id: null },
              target: { type: 'signing_key', id: kid },
              ip: null,
            })
        : undefined,
    );
    this.#options.logger.info(
      { event: 'signing_key_rotated', kid, activates_at: activatesAt.toISOString() },
      'signing key created',
    );
    await this.refresh();
    return { kid, activatesAt };
  }

  /**
   * Emergency removal (`npm run cli -- keys revoke KID`): the key leaves JWKS and signs nothing more at
   * once; when it was the signing key a new one signs from now. Deleting the row writes `key_removed` to
   * the change feed, which every instance and chat-api apply within a poll.
   */
  async revoke(kid: string): Promise<{ replacedBy: string | null }> {
    await this.refresh();
    const key = this.#keys.find((k) => k.kid === kid);
    if (!key) throw new Error(`no published signing key ${kid}`);
    let replacedBy: string | null = null;
    const signing = this.#signingKeyOrNull();
    if (signing?.kid === kid || this.#keys.length === 1)
      replacedBy = (await this.rotate({ immediate: true })).kid;
    await this.#options.repository.deleteKey(kid);
    this.forget(kid);
    this.#options.logger.warn({ event: 'signing_key_revoked', kid }, 'signing key revoked');
    return { replacedBy };
  }

  /** Drops a key taken out elsewhere (change feed), before the next refresh would. */
  forget(kid: string): void {
    this.#keys = this.#keys.filter((k) => k.kid !== kid);
  }

  /** The key that signs now: the newest one whose activation time has come. */
  signingKey(): { kid: string; privateKey: KeyObject } {
    const key = this.#signingKeyOrNull();
    if (!key) throw new Error('no active signing key');
    return key;
  }

  #signingKeyOrNull(): LoadedKey | null {
    const now = this.#now();
    let current: LoadedKey | null = null;
    for (const key of this.#keys) if (key.activatesAt <= now) current = key;
    return current;
  }

  /** Published keys (RFC 7517), including the next one before it signs. */
  jwks(): { keys: PublicJwk[] } {
    const now = this.#now();
    return {
      keys: this.#keys
        .filter((key) => key.expiresAt === null || key.expiresAt > now)
        .map((key) => key.publicJwk),
    };
  }

  publicKeyFor(kid: string): PublicJwk | undefined {
    return this.jwks().keys.find((key) => key.kid === kid);
  }

  /** For a verifier that met an unknown kid: another instance may have rotated since our last load. */
  async refreshIfStale(minAgeMs = 1_000): Promise<void> {
    if (this.#now() - this.#loadedAt >= minAgeMs) await this.refresh();
  }

  #load(key: StoredKey): LoadedKey {
    return {
      kid: key.kid,
      activatesAt: key.activatesAt.getTime(),
      expiresAt: key.expiresAt ? key.expiresAt.getTime() : null,
      publicJwk: key.publicJwk as unknown as PublicJwk,
      privateKey: createPrivateKey({ key: JSON.parse(this.#open(key.privateJwk, key.kid)), format: 'jwk' }),
    };
  }

  #seal(plaintext: string): string {
    return this.#sealer.seal(plaintext);
  }

  #open(sealed: string, kid?: string): string {
    try {
      return this.#sealer.open(sealed);
    } catch {
      throw new Error(
        `cannot decrypt signing key ${kid ?? ''}: SIGNING_KEY_ENCRYPTION_SECRET is not the secret it was sealed with`,
      );
    }
  }

  /** Keys stored by an older version (in plain text, or under a single-SHA-256 key) are sealed anew. */
  async #resealOlderFormats(): Promise<void> {
    const stored = await this.#options.repository.listPublished(new Date(0));
    for (const key of stored) {
      if (KeySealer.isCurrent(key.privateJwk)) continue;
      await this.#options.repository.replacePrivate(key.kid, this.#seal(this.#open(key.privateJwk, key.kid)));
      this.#options.logger.info({ event: 'signing_key_resealed', kid: key.kid }, 'signing key re-sealed');
    }
  }
}
