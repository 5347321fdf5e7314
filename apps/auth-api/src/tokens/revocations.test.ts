import { describe, expect, it } from 'vitest';
import { RevocationList } from './revocations.ts';

const claims = { jti: 'j1', sid: 's1', sub: 'u1', client_id: 'c1', iat: 1_000 };

describe('RevocationList', () => {
  it('kills a token by jti and every token of an ended session', () => {
    const list = new RevocationList();
    expect(list.isRevokedClaims(claims)).toBe(false);
    list.apply({ type: 'token_revoked', jti: 'j1', exp: 2_000 });
    expect(list.isRevoked('j1', undefined)).toBe(true);
    expect(list.isRevoked('j2', 's1')).toBe(false);
    list.apply({ type: 'session_ended', sid: 's1', user_id: 'u1', exp: 2_000 });
    expect(list.isRevoked('j2', 's1')).toBe(true);
  });

  it('ignores what is not a revocation event', () => {
    const list = new RevocationList();
    list.apply({ type: 'token_revoked', jti: 'j1' }); // no exp
    list.apply({ type: 'something_else', jti: 'j1', exp: 2_000 });
    list.apply('token_revoked');
    expect(list.isRevokedClaims(claims)).toBe(false);
  });

  it('kills tokens of a client or user issued up to the change, not after', () => {
    const list = new RevocationList();
    list.revokeClientUntil('c1', 1_000);
    expect(list.isRevokedClaims(claims)).toBe(true);
    expect(list.isRevokedClaims({ ...claims, iat: 1_001 })).toBe(false);
    expect(list.isRevokedClaims({ ...claims, client_id: 'c2' })).toBe(false);
    list.revokeUserUntil('u2', 1_500);
    expect(list.isRevokedClaims({ ...claims, client_id: 'c2', sub: 'u2', iat: 1_500 })).toBe(true);
    expect(list.isRevokedClaims({ ...claims, client_id: 'c2', sub: 'u2', iat: 1_501 })).toBe(false);
  });

  it('forgets entries once every token they kill has expired', () => {
    const list = new RevocationList();
    list.apply({ type: 'token_revoked', jti: 'j1', exp: 2 });
    list.apply({ type: 'token_revoked', jti: 'j2', exp: 5 });
    list.purge(2_000);
    expect(list.isRevoked('j1', undefined)).toBe(false);
    expect(list.isRevoked('j2', undefined)).toBe(true);
  });
});
