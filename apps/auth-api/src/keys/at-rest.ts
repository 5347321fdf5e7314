import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { AuthConfig } from '../config.ts';

/**
 * The one way secrets are kept at rest (private signing keys, TOTP secrets, queued mails): AES-256-GCM
 * under a key derived with HKDF-SHA256 from SIGNING_KEY_ENCRYPTION_SECRET (a high-entropy secret, so HKDF
 * is the right KDF; a password would need scrypt). `v2:` marks this format; `aesgcm:` (one SHA-256 of the
 * secret) and `plain:` are read so older databases keep working (signing keys are re-sealed as `v2:` at
 * start). Every caller goes through `sealAtRest`/`openAtRest` (or a KeySealer), so this is one place.
 */
const HKDF_SALT = Buffer.from('groupchat/auth-api/signing-keys');
const HKDF_INFO = Buffer.from('aes-256-gcm private JWK v2');

export class KeySealer {
  readonly #key: Buffer;
  readonly #legacyKey: Buffer;

  constructor(secret: string) {
    this.#key = Buffer.from(hkdfSync('sha256', secret, HKDF_SALT, HKDF_INFO, 32));
    this.#legacyKey = createHash('sha256').update(secret).digest();
  }

  seal(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `v2:${iv.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}.${body.toString('base64url')}`;
  }

  open(sealed: string): string {
    if (sealed.startsWith('plain:')) return sealed.slice('plain:'.length);
    const [scheme, rest = ''] = sealed.split(/:(.*)/s) as [string, string | undefined];
    const key = scheme === 'v2' ? this.#key : scheme === 'aesgcm' ? this.#legacyKey : null;
    if (!key) throw new Error(`unknown sealing scheme "${scheme}"`);
    const [iv, tag, body] = rest.split('.');
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv ?? '', 'base64url'));
    decipher.setAuthTag(Buffer.from(tag ?? '', 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body ?? '', 'base64url')), decipher.final()]).toString(
      'utf8',
    );
  }

  static isCurrent(sealed: string): boolean {
    return sealed.startsWith('v2:');
  }
}

// HKDF once per secret, not per value (a process has one secret; tests build a few cores).
const sealers = new Map<string, KeySealer>();
function sealerFor(secret: string): KeySealer {
  let sealer = sealers.get(secret);
  if (!sealer) {
    sealer = new KeySealer(secret);
    sealers.set(secret, sealer);
  }
  return sealer;
}

/**
 * Seals under the HKDF key of `secret`. Without a secret (only a core built outside `boot`, whose config
 * was not passed through withKeySecret) the value is stored tagged `plain:`; production config refuses to
 * start without SIGNING_KEY_ENCRYPTION_SECRET.
 */
export function sealAtRest(plaintext: string, secret: string | undefined): string {
  if (!secret) return `plain:${plaintext}`;
  return sealerFor(secret).seal(plaintext);
}

export function openAtRest(sealed: string, secret: string | undefined): string {
  if (sealed.startsWith('plain:')) return sealed.slice('plain:'.length);
  if (!secret) throw new Error('secrets at rest are encrypted: set SIGNING_KEY_ENCRYPTION_SECRET');
  return sealerFor(secret).open(sealed);
}

/**
 * The secret keys are sealed with. Production requires SIGNING_KEY_ENCRYPTION_SECRET (config refuses to
 * start without it). The embedded demo generates one on first start and keeps it (0600) beside the data,
 * as it does the service client's secret; an in-memory database gets one for the life of the process.
 */
export function resolveKeySecret(config: AuthConfig): string {
  if (config.keys.encryptionSecret) return config.keys.encryptionSecret;
  if (config.database.kind === 'pglite' && config.database.dataDir) {
    // Beside the PGlite directory, named after it (inside it PGlite would meet a stranger file).
    const path = `${config.database.dataDir.replace(/\/+$/, '')}.signing-key-secret`;
    if (existsSync(path)) return readFileSync(path, 'utf8').trim();
    mkdirSync(dirname(path), { recursive: true });
    const secret = randomBytes(32).toString('base64url');
    writeFileSync(path, `${secret}\n`, { mode: 0o600, flag: 'wx' });
    return secret;
  }
  return randomBytes(32).toString('base64url');
}

/** The config with the key-sealing secret resolved (generated and kept in the embedded demo). */
export function withKeySecret(config: AuthConfig): AuthConfig {
  if (config.keys.encryptionSecret) return config;
  return { ...config, keys: { ...config.keys, encryptionSecret: resolveKeySecret(config) } };
}
