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

export interface GroupsTable {
  id: string;
  org_id: string;
  name: string;
  created_by: string | null;
  created_at: Timestamp;
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
  created_at: Timestamp;
  updated_at: Timestamp;
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
