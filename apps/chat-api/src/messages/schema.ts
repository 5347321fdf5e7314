import type { Message } from '@groupchat/contract';
import type { MessagesTable } from '../db/schema.ts';

/** The contract's message shape (`@groupchat/contract` chat-messages.ts), and how a stored row becomes one. */
export type MessageDto = Message;

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
