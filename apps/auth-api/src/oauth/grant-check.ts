import { GRANT_TYPES, type GrantType } from '@groupchat/contract';
import { InvalidRequest, UnauthorizedClient, UnsupportedGrantType } from './errors.ts';

/** `grant_type` must be present and be one this server implements. */
export function checkGrantType(grantType: string | undefined): GrantType {
  if (grantType === undefined || grantType === '')
    throw new InvalidRequest('missing required parameter "grant_type"');
  if (!(GRANT_TYPES as readonly string[]).includes(grantType))
    throw new UnsupportedGrantType(`grant_type "${grantType.slice(0, 50)}" is not supported`);
  return grantType as GrantType;
}

/** The authenticated client must be registered for the grant (RFC 6749 §5.2 unauthorized_client). */
export function assertClientMayUseGrant(
  client: { grantTypes: readonly string[] },
  grantType: GrantType,
): void {
  if (!client.grantTypes.includes(grantType))
    throw new UnauthorizedClient(`this client may not use the ${grantType} grant`);
}
