import { type Static, Type } from 'typebox';

/**
 * Request and response schemas of the identity context, defined once: Fastify validates requests with
 * them, serialises responses through them (undeclared fields, such as a password hash, are dropped) and
 * the OpenAPI document at /docs is generated from them.
 */

// ajv's `uuid` format also accepts a `urn:uuid:` prefix that Postgres would reject with an error; the
// pattern keeps path and body ids to the plain form, so a bad id is a 400, never a 500.
export function uuid(options: { description?: string } = {}) {
  return Type.String({
    format: 'uuid',
    pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$',
    ...options,
  });
}
export const Uuid = uuid();
const Timestamp = Type.String({ format: 'date-time', description: 'RFC 3339, UTC' });
const Email = Type.String({ format: 'email', maxLength: 254 });
// Required to contain a non-space character; the service trims.
const DisplayName = Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' });
const OrgName = Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' });
// The upper bound keeps one request from buying an arbitrarily long Argon2 run.
const NewPassword = Type.String({ minLength: 8, maxLength: 1024, description: 'at least 8 characters' });

export const UserRoleSchema = Type.Union([
  Type.Literal('owner'),
  Type.Literal('admin'),
  Type.Literal('member'),
  Type.Literal('platform_admin'),
]);

export const UserSchema = Type.Object(
  {
    id: Uuid,
    email: Type.String(),
    display_name: Type.String(),
    org_id: Uuid,
    role: UserRoleSchema,
    created_at: Timestamp,
  },
  { description: 'a user; never carries a password or its hash' },
);
export type UserDto = Static<typeof UserSchema>;

export const OrgSchema = Type.Object({ id: Uuid, name: Type.String(), created_at: Timestamp });
export type OrgDto = Static<typeof OrgSchema>;

/**
 * Every error answer: RFC 9457 problem details. Declared with `additionalProperties` so extension members
 * (e.g. `scope` on insufficient_scope) survive serialisation; service-kit's shared `Problem` schema
 * would strip them.
 */
const ProblemResponse = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String({ description: 'stable machine-readable error code' }),
  },
  { additionalProperties: true, description: 'application/problem+json (RFC 9457)' },
);

export function problemResponses<const S extends number>(...statuses: S[]) {
  return Object.fromEntries(statuses.map((status) => [status, ProblemResponse])) as Record<
    S,
    typeof ProblemResponse
  >;
}

export const OrgParams = Type.Object({ org_id: Uuid });

export const RegisterBody = Type.Object(
  { email: Email, password: NewPassword, display_name: DisplayName, org_name: OrgName },
  { additionalProperties: false },
);
export const RegisterResponse = Type.Object({ user: UserSchema, org: OrgSchema });

export const CreateUserBody = Type.Object(
  {
    email: Email,
    password: NewPassword,
    display_name: DisplayName,
    role: Type.Optional(
      Type.Union([Type.Literal('member'), Type.Literal('admin')], {
        default: 'member',
        description: 'the new user’s role in the organization (default member)',
      }),
    ),
  },
  { additionalProperties: false },
);
export const CreateUserResponse = Type.Object({ user: UserSchema });
export const UserListResponse = Type.Object({ users: Type.Array(UserSchema) });

export const LoginBody = Type.Object(
  // No minimum length here: a short password is simply wrong (401), like any other wrong one.
  { email: Email, password: Type.String({ minLength: 1, maxLength: 1024 }) },
  { additionalProperties: false },
);

export const LoginUserSchema = Type.Object({
  id: Uuid,
  email: Type.String(),
  display_name: Type.String(),
  org_id: Uuid,
  role: UserRoleSchema,
});

export const TokenResponse = Type.Object({
  user: LoginUserSchema,
  access_token: Type.String({ description: 'RFC 9068 JWT; audiences auth-api and chat-api' }),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer({ description: 'seconds' }),
});
export type TokenResponseDto = Static<typeof TokenResponse>;

export const MeResponse = Type.Union([
  Type.Object({
    type: Type.Literal('user'),
    id: Uuid,
    email: Type.String(),
    display_name: Type.String(),
    org_id: Uuid,
    role: UserRoleSchema,
  }),
  Type.Object({
    type: Type.Literal('service'),
    client_id: Type.String(),
    scopes: Type.Array(Type.String()),
  }),
]);
export type MeDto = Static<typeof MeResponse>;
