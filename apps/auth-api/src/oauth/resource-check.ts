import { RESOURCE_SERVERS, type ResourceServer } from '../tokens/claims.ts';
import { InvalidTarget } from './errors.ts';

export const DEFAULT_AUDIENCE: ResourceServer = 'auth-api';

/**
 * The audience of a service token from its RFC 8707 `resource` parameter(s). Accepted: the resource
 * server names (`auth-api`, `chat-api`) and auth-api's own public URL (the issuer, with or without a
 * trailing slash). Absent: `auth-api`. A token names one audience, so several different resources in one
 * request are refused like an unknown one (invalid_target).
 */
export function audienceFor(resources: readonly string[] | undefined, issuer: string): ResourceServer {
  const wanted = [...new Set(resources ?? [])];
  if (wanted.length === 0) return DEFAULT_AUDIENCE;
  if (wanted.length > 1) throw new InvalidTarget('one resource per token request');
  const resource = wanted[0]!;
  if ((RESOURCE_SERVERS as readonly string[]).includes(resource)) return resource as ResourceServer;
  if (resource === issuer || resource === `${issuer}/`) return 'auth-api';
  throw new InvalidTarget(
    `unknown resource "${resource.slice(0, 100)}"; known: ${RESOURCE_SERVERS.join(', ')}`,
  );
}
