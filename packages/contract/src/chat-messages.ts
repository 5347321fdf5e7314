import { type Static, Type } from 'typebox';
import { timestamp, uuid } from './common.ts';

/**
 * chat-api messages (REST and the `message` / `message_updated` WebSocket frames): the contract's Part 2
 * shape (threads, edits, deletions, reactions, mentions) plus `seq`, and the group's change log (events
 * and cursors) with the request bodies that change messages.
 */

export const MAX_CONTENT_CHARS = 4000;
export const MAX_CLIENT_MESSAGE_ID_CHARS = 128;
export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_MENTIONS = 50;
export const MAX_DISTINCT_REACTIONS = 20;
export const MAX_EMOJI_CHARS = 64;
export const MAX_EVENTS_PAGE = 500;
export const DEFAULT_EVENTS_PAGE = 100;

/** A change-log position: decimal digits of a non-negative integer, strictly increasing per group. */
export const CURSOR_PATTERN = '^(0|[1-9][0-9]{0,17})$';
export const cursor = (description: string) => Type.String({ pattern: CURSOR_PATTERN, description });
const nullableTime = (description: string) =>
  Type.Union([timestamp(description), Type.Null()], { description });

export const ReactionSchema = Type.Object(
  {
    emoji: Type.String({ description: '1 to 64 characters' }),
    count: Type.Integer({ minimum: 1, description: 'how many users reacted with it' }),
    user_ids: Type.Array(uuid({ description: 'a user who reacted' }), {
      description: 'who reacted, in the order they did',
    }),
  },
  { description: 'One emoji on a message' },
);
export type Reaction = Static<typeof ReactionSchema>;

export const MessageSchema = Type.Object(
  {
    id: uuid({ description: 'message id (UUID v7)' }),
    group_id: uuid({ description: 'the group' }),
    org_id: uuid({ description: "the group's organization" }),
    seq: Type.Integer({
      minimum: 1,
      description:
        'the cursor of the event that created the message: strictly increasing per group, in commit order',
    }),
    sender_id: uuid({ description: 'the user who sent it' }),
    content: Type.String({ description: '1 to 4000 characters, trimmed; "" once deleted' }),
    client_message_id: Type.Union([Type.String(), Type.Null()], {
      description: "the sender's idempotency key, if any",
    }),
    created_at: timestamp(),
    thread_root_id: Type.Union([uuid({ description: 'the root this message replies to' }), Type.Null()], {
      description: 'null for a root message, else the id of its thread root',
    }),
    reply_count: Type.Integer({
      minimum: 0,
      description: 'replies of a root that are not deleted (0 on a reply)',
    }),
    last_reply_at: nullableTime('time of the newest reply; null without replies'),
    edited_at: nullableTime('time of the last edit; null when never edited'),
    deleted_at: nullableTime('deletion time; null unless deleted (then content is "")'),
    reactions: Type.Array(ReactionSchema, { description: 'in the order each emoji was first added' }),
    mentions: Type.Array(uuid({ description: 'a mentioned member' }), {
      description: 'user ids mentioned by the message',
    }),
  },
  { description: 'A chat message (REST and WebSocket)' },
);
export type Message = Static<typeof MessageSchema>;
/** The same shape under the name Part 2 code uses. */
export const ChatMessageSchema = MessageSchema;
export type ChatMessage = Message;

export const ChatGroupParams = Type.Object({ group_id: uuid({ description: 'the group (from auth-api)' }) });
export const ChatMessageParams = Type.Object({
  group_id: uuid({ description: 'the group (from auth-api)' }),
  message_id: uuid({ description: 'a message of the group' }),
});
export const ChatReactionParams = Type.Object({
  group_id: uuid({ description: 'the group (from auth-api)' }),
  message_id: uuid({ description: 'a message of the group' }),
  emoji: Type.String({ description: 'the emoji, URL-encoded; 1 to 64 characters' }),
});

const mentionsField = (description: string) =>
  Type.Optional(Type.Array(uuid({ description: 'a user id' }), { maxItems: MAX_MENTIONS, description }));

export const SendMessageBody = Type.Object({
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
    Type.Union([uuid({ description: 'reply to this root message of the same group' }), Type.Null()], {
      description: 'makes a reply; the root must be in the same group, not deleted and not itself a reply',
    }),
  ),
  mentions: mentionsField(
    'user ids mentioned (at most 50); ids that are not members of the group are dropped',
  ),
});
export type SendMessageBody = Static<typeof SendMessageBody>;

export const EditMessageBody = Type.Object({
  content: Type.String({
    maxLength: 4 * MAX_CONTENT_CHARS,
    description: '1 to 4000 characters after trimming',
  }),
  mentions: mentionsField('replaces the mentions when given (non-members dropped); kept when absent'),
});
export type EditMessageBody = Static<typeof EditMessageBody>;

export const ListMessagesQuery = Type.Object({
  limit: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: MAX_PAGE_SIZE,
      default: DEFAULT_PAGE_SIZE,
      description: 'page size, 1..100, default 50',
    }),
  ),
  before: Type.Optional(
    uuid({ description: 'a message id or a returned next_cursor: messages older than it, newest first' }),
  ),
  after: Type.Optional(
    uuid({ description: 'a message id or a returned next_cursor: messages newer than it, oldest first' }),
  ),
});
export type ListMessagesQuery = Static<typeof ListMessagesQuery>;

export const ListRepliesQuery = Type.Object({
  limit: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: MAX_PAGE_SIZE,
      default: DEFAULT_PAGE_SIZE,
      description: 'page size, 1..100, default 50',
    }),
  ),
  after: Type.Optional(uuid({ description: 'a reply id or a returned next_cursor: replies after it' })),
});

export const ListEventsQuery = Type.Object({
  cursor: Type.Optional(cursor('events after this cursor; absent: from the start')),
  limit: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: MAX_EVENTS_PAGE,
      default: DEFAULT_EVENTS_PAGE,
      description: `page size, 1..${MAX_EVENTS_PAGE}, default ${DEFAULT_EVENTS_PAGE}`,
    }),
  ),
});

export const MessagePageSchema = Type.Object({
  messages: Type.Array(MessageSchema),
  next_cursor: Type.Union([Type.String(), Type.Null()], {
    description:
      'pass as `before` (newest-first pages) or `after` (oldest-first pages) for the next page; null at the end',
  }),
});
export type MessagePage = Static<typeof MessagePageSchema>;

export const ChatEventType = Type.Union([Type.Literal('message'), Type.Literal('message_updated')]);
export type ChatEventType = Static<typeof ChatEventType>;

export const ChatEventSchema = Type.Object(
  {
    type: ChatEventType,
    message: MessageSchema,
    cursor: cursor("the event's position in the group's change log"),
  },
  {
    description:
      'One change of the group: `message` (new root or reply) or `message_updated` (edit, deletion, reaction, reply count). Read back, `message` is the current shape of the message.',
  },
);
export type ChatEvent = Static<typeof ChatEventSchema>;

export const ChatEventPageSchema = Type.Object({
  events: Type.Array(ChatEventSchema),
  next_cursor: Type.Union([cursor('pass as `cursor` for the next page'), Type.Null()], {
    description:
      'the cursor of the last event when more may follow; null at the end (then resume from the last event’s cursor)',
  }),
});
export type ChatEventPage = Static<typeof ChatEventPageSchema>;

export const MessageVersionsSchema = Type.Object({
  versions: Type.Array(
    Type.Object({
      content: Type.String(),
      written_at: timestamp('when this version was written (created or edited)'),
    }),
    { description: 'earlier versions, oldest first' },
  ),
});
