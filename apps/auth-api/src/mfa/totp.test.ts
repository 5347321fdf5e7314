import { describe, expect, it } from 'vitest';
import { base32Encode } from './recovery-codes.ts';
import { matchTotpStep, newTotpSecret, TOTP_SECRET_BYTES, totpCode } from './totp.ts';

// RFC 6238 Appendix B, SHA-1 column: the seed is the ASCII string "12345678901234567890".
const RFC_SECRET = base32Encode(Buffer.from('12345678901234567890', 'ascii'));
const VECTORS: [number, string][] = [
  [59, '94287082'],
  [1111111109, '07081804'],
  [1111111111, '14050471'],
  [1234567890, '89005924'],
  [2000000000, '69279037'],
  [20000000000, '65353130'],
];

describe('TOTP (RFC 6238, SHA-1, 30 s)', () => {
  it.each(VECTORS)('matches the RFC test vector at T=%i', (seconds, expected) => {
    expect(totpCode(RFC_SECRET, seconds * 1000, 8)).toBe(expected);
    // Our 6-digit codes are the same truncation taken mod 10^6.
    expect(totpCode(RFC_SECRET, seconds * 1000)).toBe(expected.slice(-6));
    expect(matchTotpStep(RFC_SECRET, expected, seconds * 1000, 8)).toBe(Math.floor(seconds / 30));
  });

  it('accepts the previous and next step, nothing further', () => {
    const now = 1_700_000_000_000;
    const step = Math.floor(now / 30_000);
    for (const offset of [-1, 0, 1]) {
      expect(matchTotpStep(RFC_SECRET, totpCode(RFC_SECRET, now + offset * 30_000), now)).toBe(step + offset);
    }
    for (const offset of [-3, -2, 2, 3]) {
      const code = totpCode(RFC_SECRET, now + offset * 30_000);
      // A far code could collide with a near one by chance (1 in 10^6); the vectors here do not.
      expect(matchTotpStep(RFC_SECRET, code, now)).toBeNull();
    }
    expect(matchTotpStep(RFC_SECRET, '12345', now)).toBeNull();
    expect(matchTotpStep(RFC_SECRET, 'abcdef', now)).toBeNull();
  });

  it('makes 160-bit secrets in base32', () => {
    const secret = newTotpSecret();
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(TOTP_SECRET_BYTES * 8).toBe(160);
    expect(newTotpSecret()).not.toBe(secret);
  });
});
