import { describe, expect, it } from 'vitest';
import { verifierMatches } from './service.ts';

describe('PKCE S256 verification (RFC 7636 §4.6)', () => {
  // RFC 7636 Appendix B.
  const verifier = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
  const challenge = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

  it('accepts the verifier of the RFC example', () => {
    expect(verifierMatches(verifier, challenge)).toBe(true);
  });

  it('refuses a missing, malformed, short or different verifier, and the plain method', () => {
    expect(verifierMatches(undefined, challenge)).toBe(false);
    expect(verifierMatches(`${verifier.slice(0, -1)}A`, challenge)).toBe(false);
    expect(verifierMatches('too-short', challenge)).toBe(false);
    expect(verifierMatches(`${verifier} `, challenge)).toBe(false);
    // plain: the verifier itself as the challenge never matches an S256 check.
    expect(verifierMatches(verifier, verifier)).toBe(false);
  });
});
