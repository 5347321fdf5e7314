import {
  type ChatMessage,
  ChatMessageSchema,
  Cursor,
  DEFAULT_EVENTS_PAGE,
  MAX_CLIENT_MESSAGE_ID_CHARS,
  MAX_CONTENT_CHARS,
  MAX_EVENTS_PAGE,
  SendChatMessageBody,
} from '@groupchat/contract';
import type { Selectable } from 'kysely';
import { Type } from 'typebox';
import type { MessagesTable } from '../db/schema.ts';

export { MAX_CLIENT_MESSAGE_ID_CHARS, MAX_CONTENT_CHARS };

/** The contract's message shape (Part 2), plus `seq`. */
export type MessageDto = ChatMessage;

export type MessageRow = Selectable<MessagesTable>;

const iso = (value: Date | string | null): string | null =>
  value === null ? null : new Date(value).toISOString();

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
    thread_root_id: row.thread_root_id,
    reply_count: Number(row.reply_count),
    last_reply_at: iso(row.last_reply_at),
    edited_at: iso(row.edited_at),
    deleted_at: iso(row.deleted_at),
    reactions: (row.reactions ?? []).map((r) => ({
      emoji: r.emoji,
      count: r.user_ids.length,
      user_ids: r.user_ids,
    })),
    mentions: row.mentions ?? [],
  };
}

const Uuid = (description: string) => Type.String({ format: 'uuid', description });

export const MessageSchema = ChatMessageSchema;
export const SendMessageBody = SendChatMessageBody;

export const GroupParams = Type.Object({ group_id: Uuid('the group (from auth-api)') });
export const MessageParams = Type.Object({
  group_id: Uuid('the group (from auth-api)'),
  message_id: Uuid('a message of the group'),
});
export const ReactionParams = Type.Object({
  group_id: Uuid('the group (from auth-api)'),
  message_id: Uuid('a message of the group'),
  emoji: Type.String({ description: 'the emoji, URL-encoded; 1 to 64 characters' }),
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

export const ListRepliesQuery = Type.Object({
  limit: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 100, default: 50, description: 'page size, 1..100, default 50' }),
  ),
  after: Type.Optional(
    Type.String({ format: 'uuid', description: 'a reply id or a returned next_cursor: replies after it' }),
  ),
});

export const ListEventsQuery = Type.Object({
  cursor: Type.Optional(Cursor('events after this cursor; absent: from the start')),
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
