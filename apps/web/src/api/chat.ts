/** chat-api REST: message history by cursor and posting. */

import type {
  GroupReadState,
  Message,
  MessagePage,
  PresenceResponse,
  Receipt,
  ReceiptsResponse,
  UnreadResponse,
} from '@groupchat/contract';
import { authedFetch, type TokenSource } from './http.ts';

export const PAGE_SIZE = 50;
export const MAX_CONTENT_LENGTH = 4000;

export class ChatApi {
  readonly #tokens: TokenSource;

  constructor(tokens: TokenSource) {
    this.#tokens = tokens;
  }

  /** No cursor or `before`: newest first. `after`: oldest first. */
  async listMessages(
    groupId: string,
    cursor: { before?: string | null; after?: string | null; limit?: number } = {},
  ): Promise<MessagePage> {
    const page = await authedFetch<Partial<MessagePage>>(
      this.#tokens,
      `/api/chat/groups/${encodeURIComponent(groupId)}/messages`,
      { query: { limit: cursor.limit ?? PAGE_SIZE, before: cursor.before, after: cursor.after } },
    );
    return {
      messages: Array.isArray(page.messages) ? page.messages : [],
      next_cursor: page.next_cursor ?? null,
    };
  }

  /** Unread and mention counts of every group I belong to (the same on every device). */
  async unread(): Promise<GroupReadState[]> {
    const data = await authedFetch<Partial<UnreadResponse>>(this.#tokens, '/api/chat/unread');
    return Array.isArray(data.groups) ? data.groups : [];
  }

  /** Moves my read marker (forward only); answers my state in the group. */
  markRead(groupId: string, messageId: string): Promise<GroupReadState> {
    return authedFetch<GroupReadState>(this.#tokens, `/api/chat/groups/${encodeURIComponent(groupId)}/read`, {
      method: 'PUT',
      body: { message_id: messageId },
    });
  }

  async receipts(groupId: string): Promise<Receipt[]> {
    const data = await authedFetch<Partial<ReceiptsResponse>>(
      this.#tokens,
      `/api/chat/groups/${encodeURIComponent(groupId)}/receipts`,
    );
    return Array.isArray(data.receipts) ? data.receipts : [];
  }

  async presence(groupId: string): Promise<string[]> {
    const data = await authedFetch<Partial<PresenceResponse>>(
      this.#tokens,
      `/api/chat/groups/${encodeURIComponent(groupId)}/presence`,
    );
    return Array.isArray(data.online) ? data.online : [];
  }

  async search(q: string): Promise<Message[]> {
    const page = await authedFetch<Partial<MessagePage>>(this.#tokens, '/api/chat/search', {
      query: { q, limit: 20 },
    });
    return Array.isArray(page.messages) ? page.messages : [];
  }

  /** Idempotent per client_message_id: a retry returns the first message (200) instead of a duplicate. */
  postMessage(
    groupId: string,
    content: string,
    clientMessageId: string,
    extra: { thread_root_id?: string | null; mentions?: string[] } = {},
  ): Promise<Message> {
    return authedFetch<Message>(this.#tokens, `/api/chat/groups/${encodeURIComponent(groupId)}/messages`, {
      method: 'POST',
      body: {
        content,
        client_message_id: clientMessageId,
        ...(extra.thread_root_id ? { thread_root_id: extra.thread_root_id } : {}),
        ...(extra.mentions?.length ? { mentions: extra.mentions } : {}),
      },
    });
  }

  #message(groupId: string, id: string): string {
    return `/api/chat/groups/${encodeURIComponent(groupId)}/messages/${encodeURIComponent(id)}`;
  }

  /** A thread's replies, oldest first. */
  async listReplies(groupId: string, rootId: string, after?: string | null): Promise<MessagePage> {
    const page = await authedFetch<Partial<MessagePage>>(
      this.#tokens,
      `${this.#message(groupId, rootId)}/replies`,
      {
        query: { limit: 100, after },
      },
    );
    return {
      messages: Array.isArray(page.messages) ? page.messages : [],
      next_cursor: page.next_cursor ?? null,
    };
  }

  editMessage(groupId: string, id: string, content: string, mentions: string[]): Promise<Message> {
    return authedFetch<Message>(this.#tokens, this.#message(groupId, id), {
      method: 'PATCH',
      body: { content, mentions },
    });
  }

  async deleteMessage(groupId: string, id: string): Promise<void> {
    await authedFetch<unknown>(this.#tokens, this.#message(groupId, id), { method: 'DELETE' });
  }

  /** Adds (PUT) or removes (DELETE) my reaction; both are idempotent. */
  react(groupId: string, id: string, emoji: string, add: boolean): Promise<Message> {
    return authedFetch<Message>(
      this.#tokens,
      `${this.#message(groupId, id)}/reactions/${encodeURIComponent(emoji)}`,
      { method: add ? 'PUT' : 'DELETE' },
    );
  }
}
