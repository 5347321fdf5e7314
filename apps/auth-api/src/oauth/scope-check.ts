import { InvalidScope } from './errors.ts';

/** RFC 6749 §3.3 scope-token: printable ASCII except space, `"` and `\`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/**
 * The scopes to grant: the requested ones (space-separated, each allowed for the client, duplicates
 * folded, request order kept), or, when `scope` is absent or empty, every scope the client may have.
 */
export function grantedScopes(requested: string | undefined, allowed: readonly string[]): string[] {
  const tokens = (requested ?? '').split(' ').filter(Boolean);
  if (tokens.length === 0) return [...allowed];
  const malformed = tokens.filter((token) => !SCOPE_TOKEN.test(token));
  if (malformed.length > 0) throw new InvalidScope('the scope parameter is malformed');
  const refused = tokens.filter((token) => !allowed.includes(token));
  if (refused.length > 0)
    throw new InvalidScope(`scope not allowed for this client: ${[...new Set(refused)].join(' ')}`);
  return [...new Set(tokens)];
}
