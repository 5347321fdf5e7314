import { type Static, Type } from 'typebox';
import { CURSOR_PATTERN, cursor, MessageSchema } from './chat-messages.ts';
import { uuid } from './common.ts';

/**
 * The WebSocket protocol of `/api/chat/ws`: JSON text frames, both directions. chat-api parses client
 * frames with these schemas and builds server frames of these types; the web client does the reverse.
 * New frames are added to the unions (ClientFrameSchema / ServerFrameSchema).
 */

// ---- client → server
export const AuthFrame = Type.Object({
  type: Type.Literal('auth'),
  token: Type.String({ minLength: 1, description: 'user access token; sent again before exp to extend' }),
});
export const SubscribeFrame = Type.Object({
  type: Type.Literal('subscribe'),
  group_id: uuid(),
  after: Type.Optional(
    Type.Union([uuid({ description: 'a message id: replay every later event first' }), Type.Null()]),
  ),
  cursor: Type.Optional(
    Type.Union([
      Type.String({
        pattern: CURSOR_PATTERN,
        description: 'a change-log cursor: replay every later event first',
      }),
      Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
      Type.Null(),
    ]),
  ),
});
export const UnsubscribeFrame = Type.Object({ type: Type.Literal('unsubscribe'), group_id: uuid() });

/** "I am typing" in a group this socket is subscribed to (forwarded at most once per 2 s). */
export const TypingFrame = Type.Object({ type: Type.Literal('typing'), group_id: uuid() });

export const ClientFrameSchema = Type.Union([AuthFrame, SubscribeFrame, UnsubscribeFrame, TypingFrame]);
export type ClientFrame = Static<typeof ClientFrameSchema>;
export type ClientFrameType = ClientFrame['type'];

// ---- server → client
export const ReadyFrame = Type.Object({ type: Type.Literal('ready'), user_id: uuid() });
export const SubscribedFrame = Type.Object({
  type: Type.Literal('subscribed'),
  group_id: uuid(),
  cursor: Type.Optional(cursor('when subscribed without a resume point: live delivery starts after it')),
});
export const UnsubscribedFrame = Type.Object({ type: Type.Literal('unsubscribed'), group_id: uuid() });
export const MessageFrame = Type.Object({
  type: Type.Literal('message'),
  message: MessageSchema,
  cursor: cursor('the creation event’s position in the group’s change log'),
});
export const MessageUpdatedFrame = Type.Object({
  type: Type.Literal('message_updated'),
  message: MessageSchema,
  cursor: cursor('the change’s position in the group’s change log'),
});
export const ResetFrame = Type.Object({
  type: Type.Literal('reset'),
  group_id: uuid({ description: 'the gap is too large to replay: reload by REST' }),
  cursor: Type.Optional(cursor('live delivery continues after it')),
});
export const ErrorFrame = Type.Object({
  type: Type.Literal('error'),
  status: Type.Integer({ description: '400 bad frame, 403 not a member (or removed), 404 no such group' }),
  detail: Type.String(),
  group_id: Type.Optional(Type.String()),
});

/** Another subscriber of the group is typing. */
export const TypingNoticeFrame = Type.Object({
  type: Type.Literal('typing'),
  group_id: uuid(),
  user_id: uuid(),
});
/** A user's presence in the group changed (offline only after 10 s without a subscribed socket). */
export const PresenceFrame = Type.Object({
  type: Type.Literal('presence'),
  group_id: uuid(),
  user_id: uuid(),
  status: Type.Union([Type.Literal('online'), Type.Literal('offline')]),
});
/** The caller's read marker moved (sent to every socket of that user, on every instance). */
export const ReadFrame = Type.Object({
  type: Type.Literal('read'),
  group_id: uuid(),
  last_read_message_id: Type.Union([uuid(), Type.Null()]),
  unread_count: Type.Integer({ minimum: 0 }),
  mention_count: Type.Integer({ minimum: 0 }),
});

export const ServerFrameSchema = Type.Union([
  ReadyFrame,
  SubscribedFrame,
  UnsubscribedFrame,
  MessageFrame,
  MessageUpdatedFrame,
  ResetFrame,
  ErrorFrame,
  TypingNoticeFrame,
  PresenceFrame,
  ReadFrame,
]);
export type ServerFrame = Static<typeof ServerFrameSchema>;

/** Close codes. 4401 is the contract's; the others are standard RFC 6455 codes. */
export const CloseCodes = {
  unauthorized: 4401,
  normal: 1000,
  goingAway: 1001,
  /** Too many frames, or more queued than the server holds. */
  policyViolation: 1008,
  /** Slow consumer, or auth-api's keys unavailable: come back later. */
  tryAgainLater: 1013,
} as const;
