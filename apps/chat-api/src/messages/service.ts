import {
  DEFAULT_PAGE_SIZE,
  MAX_CLIENT_MESSAGE_ID_CHARS,
  MAX_CONTENT_CHARS,
  type MessagePage,
} from '@groupchat/contract';
import { problems, uuidv7 } from '@groupchat/service-kit';
import type { Logger } from 'pino';
import type { UserPrincipal } from '../auth/user-token-verifier.ts';
import type { GroupService } from '../groups/group-service.ts';
import type { MessageRepository } from './repository.ts';
import { type MessageDto, toDto } from './schema.ts';

export interface SendInput {
  content: string;
  client_message_id?: string | null | undefined;
}

export interface ListInput {
  limit?: number | undefined;
  before?: string | undefined;
  after?: string | undefined;
}

/**
 * Posting and reading messages. Access is checked first, on every call: the group must exist, belong
 * to the caller's organization (else 404, as if it did not exist) and count the caller as a member
 * (else 403). The group's org is stored on each message and every query is scoped by it.
 */
export class MessageService {
  readonly #repo: MessageRepository;
  readonly #groups: GroupService;
  readonly #logger: Logger;
  readonly #onStored: (message: MessageDto) => void;

  constructor(options: {
    repo: MessageRepository;
    groups: GroupService;
    logger: Logger;
    /** Called after commit with each stored message, and again on idempotent resends (live fan-out). */
    onStored: (message: MessageDto) => void;
  }) {
    this.#repo = options.repo;
    this.#groups = options.groups;
    this.#logger = options.logger;
    this.#onStored = options.onStored;
  }

  async send(
    user: UserPrincipal,
    rawGroupId: string,
    input: SendInput,
  ): Promise<{ message: MessageDto; created: boolean }> {
    const groupId = rawGroupId.toLowerCase();
    const access = await this.#groups.authorize({ id: user.userId, orgId: user.orgId }, groupId);
    const content = validContent(input.content);
    const clientMessageId = validClientMessageId(input.client_message_id);
    const { row, created } = await this.#repo.insert({
      id: uuidv7(),
      groupId,
      orgId: access.orgId,
      senderId: user.userId,
      content,
      clientMessageId,
    });
    const message = toDto(row);
    // Committed: the 201 is durable. Fan-out is best effort and must never fail the request. A
    // resend (200) is announced again too: the instance that stored the original may have died
    // before announcing it, and receivers drop what they already have (by seq).
    try {
      this.#onStored(message);
    } catch (error) {
      this.#logger.error({ err: error, event: 'fanout_failed', message_id: message.id }, 'fan-out failed');
    }
    return { message, created };
  }

  async list(user: UserPrincipal, rawGroupId: string, input: ListInput): Promise<MessagePage> {
    const groupId = rawGroupId.toLowerCase();
    const access = await this.#groups.authorize({ id: user.userId, orgId: user.orgId }, groupId);
    if (input.before !== undefined && input.after !== undefined) {
      throw problems.badRequest('give either `before` or `after`, not both', 'conflicting_cursors');
    }
    const limit = input.limit ?? DEFAULT_PAGE_SIZE;
    const cursor = input.after ?? input.before;
    let cursorSeq: number | null = null;
    if (cursor !== undefined) {
      const seq = await this.#repo.seqOf(groupId, access.orgId, cursor.toLowerCase());
      if (seq === undefined)
        throw problems.badRequest('the cursor does not name a message of this group', 'invalid_cursor');
      cursorSeq = seq;
    }
    // One row more than asked tells whether another page exists, without a count.
    const rows =
      input.after !== undefined
        ? await this.#repo.listAfter(groupId, access.orgId, cursorSeq ?? 0, limit + 1)
        : await this.#repo.listNewest(groupId, access.orgId, cursorSeq, limit + 1);
    const page = rows.slice(0, limit).map(toDto);
    return { messages: page, next_cursor: rows.length > limit ? (page.at(-1)?.id ?? null) : null };
  }
}

function validContent(raw: string): string {
  const content = raw.trim();
  if (content.length === 0) throw problems.badRequest('content must not be empty', 'invalid_content');
  // PostgreSQL text cannot hold NUL; refuse it here rather than fail in the database.
  if (content.includes('\u0000'))
    throw problems.badRequest('content must not contain NUL characters', 'invalid_content');
  // Characters are counted as Unicode code points, not UTF-16 units: an emoji is one character.
  let count = 0;
  for (const _ of content) {
    count += 1;
    if (count > MAX_CONTENT_CHARS) {
      throw problems.badRequest(`content must be at most ${MAX_CONTENT_CHARS} characters`, 'invalid_content');
    }
  }
  return content;
}

function validClientMessageId(raw: string | null | undefined): string | null {
  if (raw === undefined || raw === null) return null;
  if (raw.length === 0 || raw.length > MAX_CLIENT_MESSAGE_ID_CHARS || hasControlCharacter(raw)) {
    throw problems.badRequest(
      `client_message_id must be 1 to ${MAX_CLIENT_MESSAGE_ID_CHARS} printable characters`,
      'invalid_client_message_id',
    );
  }
  return raw;
}

function hasControlCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) < 0x20) return true;
  return false;
}
