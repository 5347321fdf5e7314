import { type Static, Type } from 'typebox';
import { Timestamp, Uuid } from './common.ts';
import type { ProblemCode } from './problems.ts';

/**
 * auth-api, "accounts that run themselves" (contract Part 2): invitations, email verification,
 * passwords, TOTP two-factor sign-in and the audit log. auth-api validates and serialises with these;
 * the web client reads their static types.
 */

const Email = Type.String({ format: 'email', maxLength: 254 });
/** 256 random bits, base64url: 43 characters. Bounded loosely so a wrong token is a 400, not a schema lesson. */
const OpaqueToken = Type.String({ minLength: 1, maxLength: 512 });
const NewPassword = Type.String({ minLength: 8, maxLength: 1024, description: 'at least 8 characters' });
const DisplayName = Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' });
/** A 6-digit TOTP code or a recovery code (`xxxx-xxxx-xxxx-xxxx`). */
const MfaCode = Type.String({ minLength: 1, maxLength: 64 });

export const InvitationStatus = Type.Union([
  Type.Literal('pending'),
  Type.Literal('accepted'),
  Type.Literal('revoked'),
  Type.Literal('expired'),
]);
export type InvitationStatusDto = Static<typeof InvitationStatus>;

export const InvitationSchema = Type.Object({
  id: Uuid,
  email: Type.String(),
  role: Type.Union([Type.Literal('member'), Type.Literal('admin')]),
  org_id: Uuid,
  status: InvitationStatus,
  expires_at: Timestamp,
  created_at: Timestamp,
});
export type InvitationDto = Static<typeof InvitationSchema>;

export const CreateInvitationBody = Type.Object(
  {
    email: Email,
    role: Type.Optional(Type.Union([Type.Literal('member'), Type.Literal('admin')], { default: 'member' })),
  },
  { additionalProperties: false },
);
export const InvitationResponse = Type.Object({ invitation: InvitationSchema });
export const InvitationListResponse = Type.Object({ invitations: Type.Array(InvitationSchema) });
export const InvitationParams = Type.Object({ org_id: Uuid, invitation_id: Uuid });

export const AcceptInvitationBody = Type.Object(
  { token: OpaqueToken, password: NewPassword, display_name: DisplayName },
  { additionalProperties: false },
);
export const VerifyEmailBody = Type.Object({ token: OpaqueToken }, { additionalProperties: false });
export const ForgotPasswordBody = Type.Object({ email: Email }, { additionalProperties: false });
export const ForgotPasswordResponse = Type.Object({
  status: Type.Literal('accepted'),
  detail: Type.String(),
});
export type ForgotPasswordDto = Static<typeof ForgotPasswordResponse>;
export const ResetPasswordBody = Type.Object(
  { token: OpaqueToken, password: NewPassword },
  { additionalProperties: false },
);
export const ChangePasswordBody = Type.Object(
  { current_password: Type.String({ minLength: 1, maxLength: 1024 }), new_password: NewPassword },
  { additionalProperties: false },
);

export const TotpSetupResponse = Type.Object({
  secret: Type.String({ description: 'base32 (RFC 4648), 160 bits' }),
  otpauth_uri: Type.String({ description: 'otpauth://totp/… for authenticator apps (QR code)' }),
});
export type TotpSetupDto = Static<typeof TotpSetupResponse>;
export const MfaCodeBody = Type.Object({ code: MfaCode }, { additionalProperties: false });
export const RecoveryCodesResponse = Type.Object({
  recovery_codes: Type.Array(Type.String(), { minItems: 10, maxItems: 10 }),
});
export type RecoveryCodesDto = Static<typeof RecoveryCodesResponse>;

export const MfaChallengeResponse = Type.Object({
  mfa_required: Type.Literal(true),
  mfa_token: Type.String(),
  expires_in: Type.Integer({ description: 'seconds' }),
});
export type MfaChallengeDto = Static<typeof MfaChallengeResponse>;
export const LoginMfaBody = Type.Object(
  { mfa_token: OpaqueToken, code: MfaCode },
  { additionalProperties: false },
);

/** Audit event types (the contract's, and a few more). */
export const AUDIT_EVENT_TYPES = [
  'user.login_succeeded',
  'user.login_failed',
  'user.created',
  'user.email_verified',
  'user.password_reset_requested',
  'user.password_reset',
  'user.password_changed',
  'user.mfa_enabled',
  'user.mfa_disabled',
  'user.mfa_failed',
  'invitation.created',
  'invitation.accepted',
  'invitation.revoked',
  'group.created',
  'group.deleted',
  'member.added',
  'member.removed',
  'session.ended',
  'client.created',
  'client.secret_rotated',
  'client.deleted',
  'signing_key.rotated',
] as const;
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

const Party = Type.Object({ type: Type.String(), id: Type.Union([Type.String(), Type.Null()]) });
export const AuditEventSchema = Type.Object({
  id: Uuid,
  type: Type.String(),
  actor: Party,
  target: Party,
  ip: Type.Union([Type.String(), Type.Null()]),
  at: Timestamp,
  cursor: Type.String({ description: 'pass as `after` to read on from here' }),
});
export type AuditEventDto = Static<typeof AuditEventSchema>;
export const AuditEventsQuery = Type.Object(
  {
    after: Type.Optional(Type.String({ pattern: '^[0-9]{1,18}$', description: 'a cursor (next_cursor)' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
    type: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z_]+\\.[a-z_]+$' })),
  },
  { additionalProperties: false },
);
export const AuditEventsResponse = Type.Object({
  events: Type.Array(AuditEventSchema),
  next_cursor: Type.Union([Type.String(), Type.Null()]),
});
export type AuditEventsDto = Static<typeof AuditEventsResponse>;

/** Problem codes of this area (entries of the one catalogue, problems.ts). */
export const ACCOUNT_PROBLEM_CODES = {
  invalidToken: 'invalid_account_token',
  invitationNotFound: 'invitation_not_found',
  wrongPassword: 'wrong_current_password',
  invalidMfaCode: 'invalid_mfa_code',
  invalidMfaToken: 'invalid_mfa_token',
  mfaAlreadyEnabled: 'mfa_already_enabled',
  mfaNotSetUp: 'mfa_not_set_up',
  mfaNotEnabled: 'mfa_not_enabled',
} as const satisfies Record<string, ProblemCode>;
