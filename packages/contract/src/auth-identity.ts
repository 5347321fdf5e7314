import { type Static, Type } from 'typebox';
import { Timestamp, Uuid } from './common.ts';

/** auth-api identity: register, org users, login, token refresh, me (request and response bodies). */

const Email = Type.String({ format: 'email', maxLength: 254 });
// Required to contain a non-space character; the service trims.
const DisplayName = Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' });
const OrgName = Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' });
// The upper bound keeps one request from buying an arbitrarily long Argon2 run.
const NewPassword = Type.String({ minLength: 8, maxLength: 1024, description: 'at least 8 characters' });

export const UserRoles = ['owner', 'admin', 'member', 'platform_admin'] as const;
export const UserRoleSchema = Type.Union([
  Type.Literal('owner'),
  Type.Literal('admin'),
  Type.Literal('member'),
  Type.Literal('platform_admin'),
]);
export type UserRole = (typeof UserRoles)[number];

export const UserSchema = Type.Object(
  {
    id: Uuid,
    email: Type.String(),
    display_name: Type.String(),
    org_id: Uuid,
    role: UserRoleSchema,
    created_at: Timestamp,
    email_verified: Type.Boolean(),
    mfa_enabled: Type.Boolean(),
  },
  { description: 'a user; never carries a password or its hash' },
);
export type User = Static<typeof UserSchema>;

export const OrgSchema = Type.Object({ id: Uuid, name: Type.String(), created_at: Timestamp });
export type Org = Static<typeof OrgSchema>;

export const OrgParams = Type.Object({ org_id: Uuid });

export const RegisterBody = Type.Object(
  { email: Email, password: NewPassword, display_name: DisplayName, org_name: OrgName },
  { additionalProperties: false },
);
export type RegisterBody = Static<typeof RegisterBody>;
export const RegisterResponse = Type.Object({ user: UserSchema, org: OrgSchema });
export type RegisterResponse = Static<typeof RegisterResponse>;

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
export type CreateUserBody = Static<typeof CreateUserBody>;
export const CreateUserResponse = Type.Object({ user: UserSchema });
export const UserListResponse = Type.Object({ users: Type.Array(UserSchema) });
export type UserListResponse = Static<typeof UserListResponse>;

export const LoginBody = Type.Object(
  // No minimum length here: a short password is simply wrong (401), like any other wrong one.
  { email: Email, password: Type.String({ minLength: 1, maxLength: 1024 }) },
  { additionalProperties: false },
);
export type LoginBody = Static<typeof LoginBody>;

export const LoginUserSchema = Type.Object({
  id: Uuid,
  email: Type.String(),
  display_name: Type.String(),
  org_id: Uuid,
  role: UserRoleSchema,
  email_verified: Type.Boolean(),
  mfa_enabled: Type.Boolean(),
});
export type LoginUser = Static<typeof LoginUserSchema>;

/** The answer of login and token refresh. */
export const LoginResponse = Type.Object({
  user: LoginUserSchema,
  access_token: Type.String({ description: 'RFC 9068 JWT; audiences auth-api and chat-api' }),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer({ description: 'seconds' }),
});
export type LoginResponse = Static<typeof LoginResponse>;

export const MeResponse = Type.Union([
  Type.Object({
    type: Type.Literal('user'),
    id: Uuid,
    email: Type.String(),
    display_name: Type.String(),
    org_id: Uuid,
    role: UserRoleSchema,
    email_verified: Type.Boolean(),
    mfa_enabled: Type.Boolean(),
  }),
  Type.Object({
    type: Type.Literal('service'),
    client_id: Type.String(),
    scopes: Type.Array(Type.String()),
  }),
]);
export type MeResponse = Static<typeof MeResponse>;
