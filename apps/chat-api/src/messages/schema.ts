import { Type } from 'typebox';
import type { MessagesTable } from '../db/schema.ts';

/** The contract's message shape, plus `seq`: the message's position in its group (1, 2, 3…). */
export interface MessageDto {
  id: string;
  group_id: string;
  org_id: string;
  seq: number;
  sender_id: string;
  content: string;
  client_message_id: string | null;
  created_at: string;
}

export type MessageRow = Omit<MessagesTable, 'created_at'> & { created_at: Date };

export function toDto(row: MessageRow): MessageDto {
  return {
    id: row.id,
    group_id: row.group_id,
    org_id: row.org_id,
    seq: Number(row.seq),
    sender_id: row.sender_id,
    content: row.content,
    client_message_id: row.client_message_id,
    created_at: new Date(row.created_at).toISOString(),
  };
}

export const MAX_CONTENT_CHARS = 4000;
export const MAX_CLIENT_MESSAGE_ID_CHARS = 128;

const Uuid = (description: string) => Type.String({ format: 'uuid', description });

export const MessageSchema = Type.Object(
  {
    id: Uuid('message id (UUID v7)'),
    group_id: Uuid('the group'),
    org_id: Uuid("the group's organization"),
    seq: Type.Integer({ minimum: 1, description: 'position in the group: consecutive, in commit order' }),
    sender_id: Uuid('the user who sent it'),
    content: Type.String({ description: '1 to 4000 characters, trimmed' }),
    client_message_id: Type.Union([Type.String(), Type.Null()], {
      description: "the sender's idempotency key, if any",
    }),
    created_at: Type.String({ format: 'date-time', description: 'RFC 3339, UTC' }),
  },
  { description: 'A stored chat message' },
);

export const GroupParams = Type.Object({ group_id: Uuid('the group (from auth-api)') });

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

export const ListMessagesQuery = Type.Object({
  limit: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 100, default: 50, description: 'page size, 1..100, default 50' }),
  ),
  before: Type.Optional(
    Type.String({
      format: 'uuid',
      description: 'a message id or a returned next_cursor: messages older than it, newest first',
    }),
  ),
  after: Type.Optional(
    Type.String({
      format: 'uuid',
      description: 'a message id or a returned next_cursor: messages newer than it, oldest first',
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
