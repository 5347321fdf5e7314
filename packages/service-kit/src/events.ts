/**
 * Events that cross service boundaries over the EventBus. auth-api publishes identity events;
 * chat-api instances publish stored messages to each other. Channel names and payloads are a
 * contract between our own services: change them in one place, here.
 */
export const Channels = {
  /** auth-api → resource servers: group membership changed. */
  membership: 'auth.membership',
  /** auth-api → resource servers: a token was revoked or a session ended. */
  revocations: 'auth.revocations',
  /** chat-api → chat-api instances: a message was stored. */
  chatMessages: 'chat.messages',
  /** chat-api → chat-api instances: ephemeral live signals (typing, presence, a user's read marker). */
  chatSignals: 'chat.signals',
} as const;

export type MembershipEvent =
  | { type: 'member_added'; group_id: string; org_id: string; user_id: string; role: string; at: string }
  | { type: 'member_removed'; group_id: string; org_id: string; user_id: string; at: string }
  | { type: 'group_deleted'; group_id: string; org_id: string; at: string };

export type RevocationEvent =
  /** An access token revoked through /oauth/revoke; `exp` (seconds) is when it would have expired anyway. */
  | { type: 'token_revoked'; jti: string; exp: number }
  /** A login session ended (logout, expiry, admin action): every token minted for it (`sid` claim) is dead. */
  | { type: 'session_ended'; sid: string; user_id: string; exp: number };
