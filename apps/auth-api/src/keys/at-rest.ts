import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * The one way secrets are kept at rest (private signing keys, TOTP secrets, queued mails): AES-256-GCM
 * under a key derived from the configured secret; without a secret the value is stored tagged `plain:`.
 * Every caller goes through these two functions, so a better key derivation changes one place.
 */
function encryptionKey(secret: string | undefined): Buffer | null {
  return secret ? createHash('sha256').update(secret).digest() : null;
}

export function sealAtRest(plaintext: string, secret: string | undefined): string {
  const key = encryptionKey(secret);
  if (!key) return `plain:${plaintext}`;
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return `aesgcm:${iv.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}.${body.toString('base64url')}`;
}

export function openAtRest(sealed: string, secret: string | undefined): string {
  if (sealed.startsWith('plain:')) return sealed.slice('plain:'.length);
  const key = encryptionKey(secret);
  if (!key) throw new Error('secrets at rest are encrypted: set SIGNING_KEY_ENCRYPTION_SECRET');
  const [iv, tag, body] = sealed.slice('aesgcm:'.length).split('.');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv ?? '', 'base64url'));
  decipher.setAuthTag(Buffer.from(tag ?? '', 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(body ?? '', 'base64url')), decipher.final()]).toString(
    'utf8',
  );
}
