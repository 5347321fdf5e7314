import { describe, expect, it } from 'vitest';
import { isStatementRefused, isUniqueViolation } from './pg-errors.ts';

describe('PostgreSQL error classification', () => {
  it('tells a unique violation, optionally of one constraint', () => {
    const error = Object.assign(new Error('duplicate key'), { code: '23505', constraint: 'users_email_key' });
    expect(isUniqueViolation(error)).toBe(true);
    expect(isUniqueViolation(error, 'users_email_key')).toBe(true);
    expect(isUniqueViolation(error, 'other_key')).toBe(false);
    // PGlite does not always name the constraint: the code alone decides then.
    expect(isUniqueViolation({ code: '23505' }, 'users_email_key')).toBe(true);
    expect(isUniqueViolation({ code: '23503' })).toBe(false);
    expect(isUniqueViolation(null)).toBe(false);
    expect(isUniqueViolation('23505')).toBe(false);
  });

  it('tells statements PostgreSQL rolled back whole from what may have been committed', () => {
    for (const code of ['23505', '23514', '40P01', '40001', 'P0001', '22P02'])
      expect(isStatementRefused({ code }), code).toBe(true);
    for (const code of ['08006', '57P01', '57014', 'XX000', 'ECONNRESET', 'EPIPE', undefined])
      expect(isStatementRefused({ code }), String(code)).toBe(false);
    expect(isStatementRefused(new Error('Connection terminated unexpectedly'))).toBe(false);
    expect(isStatementRefused(undefined)).toBe(false);
  });
});
