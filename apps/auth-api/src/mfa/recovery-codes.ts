import { randomBytes } from 'node:crypto';
import { Secret } from 'otpauth';

/** RFC 4648 base32 (otpauth's encoder). */
export function base32Encode(bytes: Uint8Array): string {
  return new Secret({ buffer: Uint8Array.from(bytes).buffer }).base32;
}

/** 80 random bits as `xxxx-xxxx-xxxx-xxxx` (lower-case base32): easy to copy, impossible to guess. */
export function newRecoveryCode(): string {
  const raw = base32Encode(randomBytes(10)).toLowerCase();
  return (raw.match(/.{4}/g) ?? []).join('-');
}

/** What a person may type: any case, with or without dashes and spaces. */
export function normalizeRecoveryCode(code: string): string | null {
  const compact = code.replace(/[\s-]/g, '').toLowerCase();
  if (!/^[a-z2-7]{16}$/.test(compact)) return null;
  return (compact.match(/.{4}/g) ?? []).join('-');
}
