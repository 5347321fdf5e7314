import { createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { derToJoseSignature } from '../../src/tokens/issuer.ts';

describe('ECDSA DER → JWS signature conversion (the issuer’s hot path)', () => {
  it('gives what node’s ieee-p1363 verification accepts, over many signatures', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const publicKey = createPublicKey(privateKey);
    let shortIntegers = 0;
    for (let i = 0; i < 2_000; i++) {
      const data = Buffer.from(`payload-${i}`);
      const der = sign('sha256', data, privateKey);
      const jose = derToJoseSignature(der);
      expect(jose).toHaveLength(64);
      // r or s shorter than 32 bytes (leading zero bytes) happens about once in 128 signatures.
      if (der[3]! < 32 || der[3 + der[3]! + 2]! < 32) shortIntegers += 1;
      expect(verify('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, jose)).toBe(true);
      // Reading it back as DER gives the original signature.
      expect(verify('sha256', data, publicKey, der)).toBe(true);
    }
    expect(shortIntegers).toBeGreaterThan(0);
  });

  it('refuses what is not a DER ECDSA signature', () => {
    expect(() => derToJoseSignature(Buffer.from([0x31, 0x00]))).toThrow();
    expect(() => derToJoseSignature(Buffer.from([0x30, 0x04, 0x03, 0x00, 0x02, 0x00]))).toThrow();
  });
});
