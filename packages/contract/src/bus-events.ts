import { type Static, Type } from 'typebox';
import { GroupRoleSchema } from './auth-groups.ts';
import { ChatEventSchema } from './chat-messages.ts';
import { uuid } from './common.ts';

/**
 * Events on the EventBus (Redis pub/sub, or in-process). Publishers build them with these types;
 * every consumer validates what it receives with these schemas before acting on it (a bus carries
 * whatever anyone publishes).
 */
export const Channels = {
  /** auth-api → resource servers: group membership changed. */
  membership: 'auth.membership',
  /** auth-api → resource servers: a token was revoked or a session ended. */
  revocations: 'auth.revocations',
  /** chat-api → chat-api instances: change-log events of a group were committed. */
  chatMessages: 'chat.messages',
  /** chat-api → chat-api instances: ephemeral live signals (typing, presence, a user's read marker). */
  chatSignals: 'chat.signals',
} as const;
export type Channel = (typeof Channels)[keyof typeof Channels];

const at = Type.String({ format: 'date-time', description: 'when auth-api committed the change' });

export const MemberAddedEvent = Type.Object({
  type: Type.Literal('member_added'),
  group_id: Type.String(),
  org_id: Type.String(),
  user_id: Type.String(),
  role: GroupRoleSchema,
  at,
});
export const MemberRemovedEvent = Type.Object({
  type: Type.Literal('member_removed'),
  group_id: Type.String(),
  org_id: Type.String(),
  user_id: Type.String(),
  at,
});
export const GroupDeletedEvent = Type.Object({
  type: Type.Literal('group_deleted'),
  group_id: Type.String(),
  org_id: Type.String(),
  at,
});
export const MembershipEventSchema = Type.Union([MemberAddedEvent, MemberRemovedEvent, GroupDeletedEvent]);
export type MembershipEvent = Static<typeof MembershipEventSchema>;

export const TokenRevokedEvent = Type.Object(
  {
    type: Type.Literal('token_revoked'),
    jti: Type.String(),
    exp: Type.Number({ description: 'seconds: when the token would have expired anyway' }),
  },
  { description: 'an access token revoked through /oauth/revoke' },
);
export const SessionEndedEvent = Type.Object(
  {
    type: Type.Literal('session_ended'),
    sid: Type.String(),
    user_id: Type.String(),
    exp: Type.Number({ description: 'seconds: no token of the session outlives it' }),
  },
  { description: 'a login session ended (logout, expiry, admin action): every token with its `sid` is dead' },
);
export const RevocationEventSchema = Type.Union([TokenRevokedEvent, SessionEndedEvent]);
export type RevocationEvent = Static<typeof RevocationEventSchema>;

/** One committed change of a group (a reply is two events: the reply, then its root's reply_count). */
export const ChatEventsBusEvent = Type.Object({
  type: Type.Literal('chat_events'),
  instance_id: Type.String({
    description: 'the chat-api instance that committed them (delivered there already)',
  }),
  group_id: uuid(),
  events: Type.Array(ChatEventSchema),
});
export const ChatMessageEventSchema = Type.Union([ChatEventsBusEvent]);
export type ChatMessageEvent = Static<typeof ChatMessageEventSchema>;
