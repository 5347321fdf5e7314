import type { ClientRecord, SecretVersion } from './repository.ts';
import type { ClientView, CreatedClient } from './service.ts';

/**
 * The outside shape of a client, shared by the admin API and the CLI so both show the same fields.
 * A secret appears only in `createdView`, once, at creation or rotation.
 */
export function summaryView(client: ClientRecord) {
  return {
    client_id: client.clientId,
    client_name: client.clientName,
    client_type: client.clientType,
    allowed_scopes: client.allowedScopes,
    grant_types: client.grantTypes,
    redirect_uris: client.redirectUris,
    token_endpoint_auth_method: client.tokenEndpointAuthMethod,
    first_party: client.firstParty,
    created_at: client.createdAt.toISOString(),
    updated_at: client.updatedAt.toISOString(),
  };
}

export function secretVersionView(secret: SecretVersion) {
  return {
    id: secret.id,
    created_at: secret.createdAt.toISOString(),
    expires_at: secret.expiresAt ? secret.expiresAt.toISOString() : null,
  };
}

export function clientView(client: ClientView) {
  return { ...summaryView(client), secret_versions: client.secrets.map(secretVersionView) };
}

export function createdView(client: CreatedClient) {
  return {
    ...clientView(client),
    ...(client.clientSecret !== null
      ? { client_secret: client.clientSecret, client_secret_expires_at: 0 }
      : {}),
  };
}
