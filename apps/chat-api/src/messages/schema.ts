import type { Message } from '@groupchat/contract';
import type { Selectable } from 'kysely';
import type { MessagesTable } from '../db/schema.ts';

/** The contract's message shape (`@groupchat/contract` chat-messages.ts), and how a stored row becomes one. */
export type MessageDto = Message;

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
