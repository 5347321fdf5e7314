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
  postMessage(groupId: string, content: string, clientMessageId: string): Promise<Message> {
    return authedFetch<Message>(this.#tokens, `/api/chat/groups/${encodeURIComponent(groupId)}/messages`, {
      method: 'POST',
      body: { content, client_message_id: clientMessageId },
    });
  }
}
