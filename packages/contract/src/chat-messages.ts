import { type Static, Type } from 'typebox';
import { timestamp, uuid } from './common.ts';

/**
 * chat-api messages (REST and the `message` WebSocket frame): the Part 1 shape plus `seq`, the
 * message's position in its group. Extended by later parts (threads, edits, reactions…): add fields
 * here, and both chat-api and the web client see them.
 */

export const MAX_CONTENT_CHARS = 4000;
export const MAX_CLIENT_MESSAGE_ID_CHARS = 128;
export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 50;

export const MessageSchema = Type.Object(
  {
    id: uuid({ description: 'message id (UUID v7)' }),
    group_id: uuid({ description: 'the group' }),
    org_id: uuid({ description: "the group's organization" }),
    seq: Type.Integer({ minimum: 1, description: 'position in the group: consecutive, in commit order' }),
    sender_id: uuid({ description: 'the user who sent it' }),
    content: Type.String({ description: '1 to 4000 characters, trimmed' }),
    client_message_id: Type.Union([Type.String(), Type.Null()], {
      description: "the sender's idempotency key, if any",
    }),
    created_at: timestamp(),
  },
  { description: 'A stored chat message' },
);
export type Message = Static<typeof MessageSchema>;

export const ChatGroupParams = Type.Object({ group_id: uuid({ description: 'the group (from auth-api)' }) });

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
});
export type SendMessageBody = Static<typeof SendMessageBody>;

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

export const MessagePageSchema = Type.Object({
  messages: Type.Array(MessageSchema),
  next_cursor: Type.Union([Type.String(), Type.Null()], {
    description:
      'pass as `before` (newest-first pages) or `after` (oldest-first pages) for the next page; null at the end',
  }),
});
export type MessagePage = Static<typeof MessagePageSchema>;
