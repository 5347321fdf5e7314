import { type Static, Type } from 'typebox';
import { KNOWN_SCOPES } from '../config.ts';
import { MAX_REDIRECT_URI_LENGTH, MAX_REDIRECT_URIS, TOKEN_ENDPOINT_AUTH_METHODS } from './registration.ts';
import { MIN_SUPPLIED_SECRET_LENGTH } from './secrets.ts';
import { CLIENT_ID_PATTERN, KNOWN_GRANT_TYPES, MAX_GRACE_SECONDS } from './service.ts';

/** Schemas of the client administration API: validation, TypeScript types and OpenAPI from one place. */

const ScopeSchema = Type.Enum([...KNOWN_SCOPES], { description: 'a known scope' });
const GrantTypeSchema = Type.Enum([...KNOWN_GRANT_TYPES], {
  description: 'a grant type the token endpoint serves',
});
const Timestamp = Type.String({ format: 'date-time', description: 'RFC 3339, UTC' });

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
    client_type: Type.Enum(['confidential', 'public'], {
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
  client_type: Type.Enum(['confidential', 'public']),
  allowed_scopes: Type.Array(Type.String()),
  grant_types: Type.Array(Type.String()),
  redirect_uris: Type.Array(Type.String()),
  token_endpoint_auth_method: Type.Enum([...TOKEN_ENDPOINT_AUTH_METHODS]),
  first_party: Type.Boolean(),
  created_at: Timestamp,
  updated_at: Timestamp,
};

export const ClientSummarySchema = Type.Object(clientProperties);

export const ClientSchema = Type.Object({
  ...clientProperties,
  secret_versions: Type.Array(SecretVersionSchema, {
    description: 'the secrets that currently work (metadata only)',
  }),
});

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

export const ClientListSchema = Type.Object({ clients: Type.Array(ClientSummarySchema) });

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
  previous_secrets_expire_at: Type.String({
    format: 'date-time',
    description: 'when the secrets it replaces stop working (now, or now + grace_seconds)',
  }),
});
