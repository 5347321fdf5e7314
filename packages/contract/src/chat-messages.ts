/**
 * chat-api, contract Part 2 "messages that live": the extended message shape, the group change log
 * (events and cursors), the WebSocket frames that carry them, and the request bodies of threads,
 * edits, deletions, reactions and mentions. chat-api uses these as route and frame schemas; the web
 * client uses the static types.
 */
import { type Static, Type } from 'typebox';

const Uuid = (description: string) => Type.String({ format: 'uuid', description });
const Time = (description: string) => Type.String({ format: 'date-time', description });
const NullableTime = (description: string) => Type.Union([Time(description), Type.Null()], { description });

export const MAX_CONTENT_CHARS = 4000;
export const MAX_CLIENT_MESSAGE_ID_CHARS = 128;
export const MAX_MENTIONS = 50;
export const MAX_DISTINCT_REACTIONS = 20;
export const MAX_EMOJI_CHARS = 64;
export const MAX_EVENTS_PAGE = 500;
export const DEFAULT_EVENTS_PAGE = 100;

/** A change-log position: decimal digits of a non-negative integer, strictly increasing per group. */
export const CURSOR_PATTERN = '^(0|[1-9][0-9]{0,17})$';
export const Cursor = (description: string) => Type.String({ pattern: CURSOR_PATTERN, description });

export const ReactionSchema = Type.Object(
  {
    emoji: Type.String({ description: '1 to 64 characters' }),
    count: Type.Integer({ minimum: 1, description: 'how many users reacted with it' }),
    user_ids: Type.Array(Uuid('a user who reacted'), { description: 'who reacted, in the order they did' }),
  },
  { description: 'One emoji on a message' },
);
export type Reaction = Static<typeof ReactionSchema>;

export const ChatMessageSchema = Type.Object(
  {
    id: Uuid('message id (UUID v7)'),
    group_id: Uuid('the group'),
    org_id: Uuid("the group's organization"),
    seq: Type.Integer({
      minimum: 1,
      description:
        'the cursor of the event that created the message: strictly increasing per group, in commit order',
    }),
    sender_id: Uuid('the user who sent it'),
    content: Type.String({ description: '1 to 4000 characters, trimmed; "" once deleted' }),
    client_message_id: Type.Union([Type.String(), Type.Null()], {
      description: "the sender's idempotency key, if any",
    }),
    created_at: Time('RFC 3339, UTC'),
    thread_root_id: Type.Union([Uuid('the root this message replies to'), Type.Null()], {
      description: 'null for a root message, else the id of its thread root',
    }),
    reply_count: Type.Integer({
      minimum: 0,
      description: 'replies of a root that are not deleted (0 on a reply)',
    }),
    last_reply_at: NullableTime('time of the newest reply; null without replies'),
    edited_at: NullableTime('time of the last edit; null when never edited'),
    deleted_at: NullableTime('deletion time; null unless deleted (then content is "")'),
    reactions: Type.Array(ReactionSchema, { description: 'in the order each emoji was first added' }),
    mentions: Type.Array(Uuid('a mentioned member'), { description: 'user ids mentioned by the message' }),
  },
  { description: 'A chat message (REST and WebSocket)' },
);
export type ChatMessage = Static<typeof ChatMessageSchema>;

export const ChatEventType = Type.Union([Type.Literal('message'), Type.Literal('message_updated')]);
export type ChatEventType = Static<typeof ChatEventType>;

export const ChatEventSchema = Type.Object(
  {
    type: ChatEventType,
    message: ChatMessageSchema,
    cursor: Cursor("the event's position in the group's change log"),
  },
  {
    description:
      'One change of the group: `message` (new root or reply) or `message_updated` (edit, deletion, reaction, reply count). Read back, `message` is the current shape of the message.',
  },
);
export type ChatEvent = Static<typeof ChatEventSchema>;

export const ChatEventPageSchema = Type.Object({
  events: Type.Array(ChatEventSchema),
  next_cursor: Type.Union([Cursor('pass as `cursor` for the next page'), Type.Null()], {
    description:
      'the cursor of the last event when more may follow; null at the end (then resume from the last event’s cursor)',
  }),
});
export type ChatEventPage = Static<typeof ChatEventPageSchema>;

export const SendChatMessageBody = Type.Object({
  // Bounds here are only a coarse guard; the 1..4000-after-trim rule is checked by the service.
  content: Type.String({
    maxLength: 4 * MAX_CONTENT_CHARS,
    description: '1 to 4000 characters after trimming',
  }),
  client_message_id: Type.Optional(
    Type.Union([Type.String({ minLength: 1, maxLength: MAX_CLIENT_MESSAGE_ID_CHARS }), Type.Null()], {
      description:
        'idempotency key chosen by the client (e.g. a UUID): the same key from the same sender in the same group returns the first message (200) instead of storing a duplicate',
    }),
  ),
  thread_root_id: Type.Optional(
    Type.Union([Uuid('reply to this root message of the same group'), Type.Null()], {
      description: 'makes a reply; the root must be in the same group, not deleted and not itself a reply',
    }),
  ),
  mentions: Type.Optional(
    Type.Array(Uuid('a user id'), {
      maxItems: MAX_MENTIONS,
      description: 'user ids mentioned (at most 50); ids that are not members of the group are dropped',
    }),
  ),
});
export type SendChatMessageBody = Static<typeof SendChatMessageBody>;

export const EditChatMessageBody = Type.Object({
  content: Type.String({
    maxLength: 4 * MAX_CONTENT_CHARS,
    description: '1 to 4000 characters after trimming',
  }),
  mentions: Type.Optional(
    Type.Array(Uuid('a user id'), {
      maxItems: MAX_MENTIONS,
      description: 'replaces the mentions when given (non-members dropped); kept when absent',
    }),
  ),
});
export type EditChatMessageBody = Static<typeof EditChatMessageBody>;

export const MessageVersionSchema = Type.Object({
  content: Type.String(),
  written_at: Time('when this version was written (created or edited)'),
});
export const MessageVersionsSchema = Type.Object({
  versions: Type.Array(MessageVersionSchema, { description: 'earlier versions, oldest first' }),
});

/** WebSocket server frames of Part 2 (Part 1's `message` frame gains `cursor`). */
export type ChatEventFrame =
  | { type: 'message'; message: ChatMessage; cursor: string }
  | { type: 'message_updated'; message: ChatMessage; cursor: string };

export const ChatMessageProblemCodes = {
  invalidThreadRoot: 'invalid_thread_root',
  messageNotFound: 'message_not_found',
  notMessageSender: 'not_message_sender',
  notAllowedToDelete: 'not_allowed_to_delete',
  messageDeleted: 'message_deleted',
  invalidEmoji: 'invalid_emoji',
  tooManyReactions: 'too_many_reactions',
  invalidCursor: 'invalid_cursor',
} as const;
