import { type Static, Type } from 'typebox';
import { MAX_REDIRECT_URI_LENGTH, MAX_REDIRECT_URIS, TOKEN_ENDPOINT_AUTH_METHODS } from './auth-authorize.ts';
import { GRANT_TYPES, KNOWN_SCOPES } from './auth-oauth.ts';
import { timestamp } from './common.ts';

/** auth-api client administration (/admin/oauth/clients): request and response bodies. */

export const CLIENT_ID_PATTERN = '^[A-Za-z0-9._~-]{3,128}$';
/** A supplied secret shorter than this is refused (the contract: 400). */
export const MIN_SUPPLIED_SECRET_LENGTH = 32;
/** The longest grace a rotated secret may keep working. */
export const MAX_GRACE_SECONDS = 30 * 24 * 3600;
export const CLIENT_TYPES = ['confidential', 'public'] as const;

const ScopeSchema = Type.Enum([...KNOWN_SCOPES], { description: 'a known scope' });
const GrantTypeSchema = Type.Enum([...GRANT_TYPES], {
  description: 'a grant type the token endpoint serves',
});
const Timestamp = timestamp();

export const ClientIdParams = Type.Object({
  client_id: Type.String({ pattern: CLIENT_ID_PATTERN, description: 'the client_id' }),
});
export type ClientIdParams = Static<typeof ClientIdParams>;

export const CreateClientBody = Type.Object(
  {
    client_id: Type.Optional(
      Type.String({
        pattern: CLIENT_ID_PATTERN,
        description: 'chosen client_id (unreserved URI characters); a UUIDv7 when absent',
      }),
    ),
    client_name: Type.String({ minLength: 1, maxLength: 200 }),
    client_secret: Type.Optional(
      Type.String({
        minLength: MIN_SUPPLIED_SECRET_LENGTH,
        maxLength: 512,
        description: `supplied secret (at least ${MIN_SUPPLIED_SECRET_LENGTH} characters); when absent one is generated (256 random bits, base64url)`,
      }),
    ),
    client_type: Type.Enum([...CLIENT_TYPES], {
      description:
        'confidential clients have a secret; public ones have none and cannot use client_credentials',
    }),
    allowed_scopes: Type.Array(ScopeSchema, {
      maxItems: KNOWN_SCOPES.length * 2,
      description: 'the scopes the client may ask for',
    }),
    grant_types: Type.Array(GrantTypeSchema, {
      maxItems: 8,
      description: 'an empty list makes a client that may only introspect and revoke',
    }),
    redirect_uris: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: MAX_REDIRECT_URI_LENGTH }), {
        maxItems: MAX_REDIRECT_URIS,
        description:
          'for authorization_code (at least one): absolute, no fragment, https (http only on 127.0.0.1, ' +
          '[::1] or localhost); matched exactly, byte for byte',
      }),
    ),
    token_endpoint_auth_method: Type.Optional(
      Type.Enum([...TOKEN_ENDPOINT_AUTH_METHODS], {
        description:
          'none for public clients (the default for them; PKCE is their proof); client_secret_basic ' +
          '(default for confidential ones) or client_secret_post. A confidential client may use either secret method',
      }),
    ),
    first_party: Type.Optional(
      Type.Boolean({
        description: 'the platform’s own app: users are not asked for consent (default false)',
      }),
    ),
  },
  { additionalProperties: false },
);
export type CreateClientBody = Static<typeof CreateClientBody>;

const SecretVersionSchema = Type.Object({
  id: Type.String({ description: 'identifies the secret version (never the secret)' }),
  created_at: Timestamp,
  expires_at: Type.Union([Timestamp, Type.Null()], {
    description: 'null: valid until rotated; set when a rotation with grace retires it',
  }),
});

const clientProperties = {
  client_id: Type.String(),
  client_name: Type.String(),
  client_type: Type.Enum([...CLIENT_TYPES]),
  allowed_scopes: Type.Array(Type.String()),
  grant_types: Type.Array(Type.String()),
  redirect_uris: Type.Array(Type.String()),
  token_endpoint_auth_method: Type.Enum([...TOKEN_ENDPOINT_AUTH_METHODS]),
  first_party: Type.Boolean(),
  created_at: Timestamp,
  updated_at: Timestamp,
};

export const ClientSummarySchema = Type.Object(clientProperties);
export type ClientSummary = Static<typeof ClientSummarySchema>;

export const ClientSchema = Type.Object({
  ...clientProperties,
  secret_versions: Type.Array(SecretVersionSchema, {
    description: 'the secrets that currently work (metadata only)',
  }),
});
export type Client = Static<typeof ClientSchema>;

export const CreatedClientSchema = Type.Object({
  ...clientProperties,
  secret_versions: Type.Array(SecretVersionSchema),
  client_secret: Type.Optional(
    Type.String({ description: 'shown once, now; only a hash is stored. Absent for public clients' }),
  ),
  client_secret_expires_at: Type.Optional(
    Type.Integer({ description: 'RFC 7591: 0, the secret does not expire by itself' }),
  ),
});
export type CreatedClient = Static<typeof CreatedClientSchema>;

export const ClientListSchema = Type.Object({ clients: Type.Array(ClientSummarySchema) });
export type ClientList = Static<typeof ClientListSchema>;

export const RotateSecretBody = Type.Object(
  {
    grace_seconds: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: MAX_GRACE_SECONDS,
        description: 'how long the previous secret keeps working; 0 or absent: it stops at once',
      }),
    ),
  },
  { additionalProperties: false },
);
export type RotateSecretBody = Static<typeof RotateSecretBody>;

export const RotatedSecretSchema = Type.Object({
  client_id: Type.String(),
  client_secret: Type.String({ description: 'shown once, now; only a hash is stored' }),
  client_secret_expires_at: Type.Integer({ description: 'RFC 7591: 0, does not expire by itself' }),
  previous_secrets_expire_at: timestamp(
    'when the secrets it replaces stop working (now, or now + grace_seconds)',
  ),
});
export type RotatedSecret = Static<typeof RotatedSecretSchema>;
