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
 * PostgreSQL refused the statement and rolled it back whole: a data exception (22…), an integrity
 * constraint (23…: a unique key, a check), a transaction rollback (40…: deadlock, serialization
 * failure) or an error raised by a trigger (P0…). Nothing of it was stored, so it may be retried piece
 * by piece. Anything else (the connection lost, the server shutting down, a cancel: 08…, 57…, or no
 * SQLSTATE at all) may have happened during the commit, and is never retried behind the caller's back.
 */
export function isStatementRefused(error: unknown): boolean {
  const code = sqlState(error);
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return false;
  return REFUSED_CLASSES.has(code.slice(0, 2));
}

const REFUSED_CLASSES = new Set(['22', '23', '40', 'P0']);
