/** chat-api REST: message history by cursor and posting. */

import type { Message, MessagePage } from '@groupchat/contract';
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
