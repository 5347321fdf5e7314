import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

export type UserRole = 'owner' | 'admin' | 'member' | 'platform_admin';
export type GroupRole = 'owner' | 'admin' | 'member';

export interface OrgsTable {
  id: string;
  name: string;
  created_at: Timestamp;
}

export interface UsersTable {
  id: string;
  org_id: string;
  /** Stored lower-cased; unique across the platform (a login names one user). */
  email: string;
  password_hash: string;
  display_name: string;
  role: UserRole;
  created_at: Timestamp;
  email_verified: ColumnType<boolean, boolean | undefined, boolean>;
  mfa_enabled: ColumnType<boolean, boolean | undefined, boolean>;
}

export interface SessionsTable {
  id: string;
  /** SHA-256 of the opaque cookie value; the value itself is never stored. */
  token_hash: string;
  user_id: string;
  created_at: Timestamp;
  expires_at: Timestamp;
  revoked_at: NullableTimestamp;
}

export type GroupKind = 'group' | 'direct';

export interface GroupsTable {
  id: string;
  org_id: string;
  /** Null exactly for direct conversations. */
  name: string | null;
  kind: ColumnType<GroupKind, GroupKind | undefined, never>;
  created_by: string | null;
  created_at: Timestamp;
  /** Direct conversations: their two users, lower id first (unique pair). Null for ordinary groups. */
  direct_low: ColumnType<string | null, string | null | undefined, never>;
  direct_high: ColumnType<string | null, string | null | undefined, never>;
}

export interface GroupMembersTable {
  group_id: string;
  user_id: string;
  role: GroupRole;
  joined_at: Timestamp;
}

export interface SigningKeysTable {
  kid: string;
  alg: string;
  public_jwk: ColumnType<Record<string, unknown>, string, string>;
  /** The private JWK, AES-256-GCM encrypted when SIGNING_KEY_ENCRYPTION_SECRET is set. */
  private_jwk: string;
  created_at: Timestamp;
  /** Published in JWKS from creation; signs from here on. */
  activates_at: Timestamp;
  /** Stops signing (a newer key took over). */
  retired_at: NullableTimestamp;
  /** Leaves JWKS: the last token it signed has expired. */
  expires_at: NullableTimestamp;
}

export interface OAuthClientsTable {
  client_id: string;
  client_name: string;
  client_type: 'confidential' | 'public';
  allowed_scopes: string[];
  grant_types: string[];
  /** Registered redirect URIs, compared byte for byte (RFC 9700 §4.1.3). */
  redirect_uris: ColumnType<string[], string[] | undefined, string[]>;
  token_endpoint_auth_method: ColumnType<
    TokenEndpointAuthMethod,
    TokenEndpointAuthMethod | undefined,
    TokenEndpointAuthMethod
  >;
  /** The platform's own apps: no consent screen. */
  first_party: ColumnType<boolean, boolean | undefined, boolean>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export type TokenEndpointAuthMethod = 'none' | 'client_secret_basic' | 'client_secret_post';

export interface OAuthConsentsTable {
  user_id: string;
  client_id: string;
  scopes: string[];
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface OAuthGrantsTable {
  /** Also the `sid` of every access token of the grant: revoking the grant kills them like a session. */
  id: string;
  user_id: string;
  client_id: string;
  /** The browser sign-in session it was authorized in; its end (logout) ends the grant. */
  session_id: string | null;
  scopes: string[];
  auth_time: Timestamp;
  created_at: Timestamp;
  revoked_at: NullableTimestamp;
}

export interface OAuthAuthorizationCodesTable {
  /** SHA-256 of the code; the code itself is never stored. */
  code_hash: string;
  grant_id: string;
  client_id: string;
  redirect_uri: string;
  /** PKCE S256 challenge (RFC 7636 §4.2). */
  code_challenge: string;
  nonce: string | null;
  expires_at: Timestamp;
  consumed_at: NullableTimestamp;
}

export interface OAuthRefreshTokensTable {
  /** SHA-256 of the token; the token itself is never stored. */
  token_hash: string;
  grant_id: string;
  created_at: Timestamp;
  expires_at: Timestamp;
  /** Set when rotated; a second use of a used token is reuse (RFC 9700 §4.14.2). */
  used_at: NullableTimestamp;
}

export interface OAuthClientSecretsTable {
  id: string;
  client_id: string;
  /** Hash of the secret (see clients/secrets.ts); never the secret. */
  secret_hash: string;
  created_at: Timestamp;
  /** Null: valid until rotated. Set on rotation to now (immediate) or now + grace. */
  expires_at: NullableTimestamp;
}

export interface RevocationsTable {
  /** The token's `jti`, or a session's id for `session` entries. */
  id: string;
  kind: 'token' | 'session';
  user_id: string | null;
  revoked_at: Timestamp;
  /** After this the token (or every token of the session) has expired anyway; the row can go. */
  expires_at: Timestamp;
  /** Ascending, so every instance can poll "what is new since N". */
  seq: Generated<number>;
}

export interface MailOutboxTable {
  id: string;
  kind: string;
  to_address: string;
  /** The rendered message (it carries a token), sealed like signing keys; erased once sent. */
  sealed_message: string;
  created_at: Timestamp;
  attempts: Generated<number>;
  next_attempt_at: Timestamp;
  claimed_by: string | null;
  claimed_until: NullableTimestamp;
  sent_at: NullableTimestamp;
  failed_at: NullableTimestamp;
  last_error: string | null;
}

export type AccountTokenKind = 'email_verify' | 'password_reset';

export interface AccountTokensTable {
  id: string;
  kind: AccountTokenKind;
  user_id: string;
  /** SHA-256 of the token; the token itself is only in the mail. */
  token_hash: string;
  created_at: Timestamp;
  expires_at: Timestamp;
  used_at: NullableTimestamp;
}

export interface InvitationsTable {
  id: string;
  org_id: string;
  email: string;
  role: 'admin' | 'member';
  token_hash: string;
  invited_by: string | null;
  created_at: Timestamp;
  expires_at: Timestamp;
  accepted_at: NullableTimestamp;
  revoked_at: NullableTimestamp;
}

export interface TotpCredentialsTable {
  user_id: string;
  sealed_secret: string;
  created_at: Timestamp;
  enabled_at: NullableTimestamp;
  last_used_step: number | null;
}

export interface RecoveryCodesTable {
  id: string;
  user_id: string;
  code_hash: string;
  used_at: NullableTimestamp;
}

export interface MfaChallengesTable {
  id: string;
  token_hash: string;
  user_id: string;
  created_at: Timestamp;
  expires_at: Timestamp;
  failed_attempts: Generated<number>;
  used_at: NullableTimestamp;
}

export interface AuditEventsTable {
  id: string;
  seq: Generated<number>;
  /** Null for platform events (clients, signing keys, logins of unknown emails). */
  org_id: string | null;
  type: string;
  actor_type: string;
  actor_id: string | null;
  target_type: string;
  target_id: string | null;
  ip: string | null;
  at: Timestamp;
}

export interface AuthDB {
  orgs: OrgsTable;
  users: UsersTable;
  sessions: SessionsTable;
  groups: GroupsTable;
  group_members: GroupMembersTable;
  signing_keys: SigningKeysTable;
  oauth_clients: OAuthClientsTable;
  oauth_client_secrets: OAuthClientSecretsTable;
  revocations: RevocationsTable;
  oauth_consents: OAuthConsentsTable;
  oauth_grants: OAuthGrantsTable;
  oauth_authorization_codes: OAuthAuthorizationCodesTable;
  oauth_refresh_tokens: OAuthRefreshTokensTable;
  mail_outbox: MailOutboxTable;
  account_tokens: AccountTokensTable;
  invitations: InvitationsTable;
  totp_credentials: TotpCredentialsTable;
  recovery_codes: RecoveryCodesTable;
  mfa_challenges: MfaChallengesTable;
  audit_events: AuditEventsTable;
  change_feed: ChangeFeedTable;
}

export interface ChangeFeedTable {
  id: Generated<number>;
  /** xid8, read as text (see changes/repository.ts). */
  xid: Generated<string>;
  event: unknown;
  expires_at: Date;
  created_at: Generated<Date>;
}
