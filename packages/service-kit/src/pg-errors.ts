/**
 * PostgreSQL error classification, by SQLSTATE (the same codes from `pg` and from PGlite), so that
 * every repository reads a driver error the same way.
 */

function sqlState(error: unknown): unknown {
  return (error as { code?: unknown } | null)?.code;
}

/** unique_violation (23505); with `constraint`, only that constraint's (when the driver names it). */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  if (sqlState(error) !== '23505') return false;
  if (constraint === undefined) return true;
  const named = (error as { constraint?: unknown }).constraint;
  return named === undefined || named === constraint;
}

/**
 * PostgreSQL refused the statement and rolled it back whole: unique violation, deadlock (40P01) or
 * serialization failure (40001). Nothing of it was stored, so it may be retried piece by piece.
 */
export function isStatementRefused(error: unknown): boolean {
  const code = sqlState(error);
  return code === '23505' || code === '40P01' || code === '40001';
}
