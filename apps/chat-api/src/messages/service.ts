import {
  type ChatEvent,
  DEFAULT_EVENTS_PAGE,
  DEFAULT_PAGE_SIZE,
  MAX_CLIENT_MESSAGE_ID_CHARS,
  MAX_CONTENT_CHARS,
  MAX_DISTINCT_REACTIONS,
  MAX_EMOJI_CHARS,
  MAX_MENTIONS,
  type MessagePage,
} from '@groupchat/contract';
import { problems, uuidv7 } from '@groupchat/service-kit';
import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { ChatUser } from '../auth/user-token-verifier.ts';
import type { GroupAccess, GroupDirectory } from '../groups/group-directory.ts';
import { type MessageRepository, type StoredEvent, uuidArray, withReaction } from './repository.ts';
import { type MessageDto, type MessageRow, toDto } from './schema.ts';

export interface SendInput {
  content: string;
  client_message_id?: string | null | undefined;
  thread_root_id?: string | null | undefined;
  mentions?: string[] | undefined;
}

export interface EditInput {
  content: string;
  mentions?: string[] | undefined;
}

export interface ListInput {
  limit?: number | undefined;
  before?: string | undefined;
  after?: string | undefined;
}

/** Group roles that may delete anyone's message (moderators). */
const MODERATOR_ROLES = new Set(['owner', 'admin']);

export function toEvent(event: StoredEvent): ChatEvent {
  return { type: event.type, message: toDto(event.row), cursor: String(event.cursor) };
}

/**
 * Messages of a group: posting, threads, edits, deletions, reactions, and the change log. Access is
 * checked first, on every call: the group must exist, belong to the caller's organization (else
 * 404, as if it did not exist) and count the caller as a member (else 403). The group's org is
 * stored on each message and every query is scoped by it. Every committed change is handed to
 * `onEvents` (live fan-out) after its commit.
 */
export class MessageService {
  readonly #repo: MessageRepository;
  readonly #groups: GroupDirectory;
  readonly #logger: Logger;
  readonly #onEvents: (events: ChatEvent[]) => void;
  /** Committed events not yet handed to `onEvents`, by group (see `#announce`). */
  readonly #toAnnounce = new Map<string, StoredEvent[]>();
  #announceScheduled = false;

  constructor(options: {
    repo: MessageRepository;
    groups: GroupDirectory;
    logger: Logger;
    /**
     * Called after commit with the events of one group (those committed in the same turn of the event
     * loop together), and again on idempotent resends.
     */
    onEvents: (events: ChatEvent[]) => void;
  }) {
    this.#repo = options.repo;
    this.#groups = options.groups;
    this.#logger = options.logger;
    this.#onEvents = options.onEvents;
  }

  #authorize(user: ChatUser, rawGroupId: string): Promise<GroupAccess> {
    return this.#groups.authorize({ id: user.userId, orgId: user.orgId }, rawGroupId.toLowerCase());
  }

  async send(
    user: ChatUser,
    rawGroupId: string,
    input: SendInput,
  ): Promise<{ message: MessageDto; created: boolean }> {
    const access = await this.#authorize(user, rawGroupId);
    const content = validContent(input.content);
    const clientMessageId = validClientMessageId(input.client_message_id);
    const result = await this.#repo.insert({
      id: uuidv7(),
      groupId: access.groupId,
      orgId: access.orgId,
      senderId: user.userId,
      content,
      clientMessageId,
      threadRootId: input.thread_root_id?.toLowerCase() ?? null,
      mentions: this.#mentions(access, input.mentions),
    });
    if (!result.ok)
      throw problems.badRequest(
        'thread_root_id must name a root message of this group that is not deleted',
        'invalid_thread_root',
      );
    // Committed: the 201 is durable. A resend (200) is announced again too: the instance that stored
    // the original may have died before announcing it, and receivers drop what they already have.
    this.#announce(result.events);
    return { message: toDto(result.row), created: result.created };
  }

  async list(user: ChatUser, rawGroupId: string, input: ListInput): Promise<MessagePage> {
    const access = await this.#authorize(user, rawGroupId);
    if (input.before !== undefined && input.after !== undefined) {
      throw problems.badRequest('give either `before` or `after`, not both', 'conflicting_cursors');
    }
    const limit = input.limit ?? DEFAULT_PAGE_SIZE;
    const cursor = input.after ?? input.before;
    const cursorSeq = cursor === undefined ? null : await this.#seqOf(access, cursor);
    // One row more than asked tells whether another page exists, without a count.
    const rows =
      input.after !== undefined
        ? await this.#repo.listAfter(access.groupId, access.orgId, cursorSeq ?? 0, limit + 1)
        : await this.#repo.listNewest(access.groupId, access.orgId, cursorSeq, limit + 1);
    return page(rows, limit);
  }

  async get(user: ChatUser, rawGroupId: string, id: string): Promise<MessageDto> {
    const access = await this.#authorize(user, rawGroupId);
    return toDto(await this.#find(access, id));
  }

  async replies(
    user: ChatUser,
    rawGroupId: string,
    id: string,
    input: { after?: string | undefined; limit?: number | undefined },
  ): Promise<MessagePage> {
    const access = await this.#authorize(user, rawGroupId);
    const root = await this.#find(access, id);
    const limit = input.limit ?? DEFAULT_PAGE_SIZE;
    let afterSeq = 0;
    if (input.after !== undefined) {
      const reply = await this.#repo.find(access.groupId, access.orgId, input.after.toLowerCase());
      if (!reply || reply.thread_root_id !== root.id)
        throw problems.badRequest('the cursor does not name a reply of this thread', 'invalid_cursor');
      afterSeq = Number(reply.seq);
    }
    const rows = await this.#repo.listReplies(access.groupId, access.orgId, root.id, afterSeq, limit + 1);
    return page(rows, limit);
  }

  async edit(user: ChatUser, rawGroupId: string, id: string, input: EditInput): Promise<MessageDto> {
    const access = await this.#authorize(user, rawGroupId);
    const content = validContent(input.content);
    const mentions = input.mentions === undefined ? undefined : this.#mentions(access, input.mentions);
    return this.#change(access, id, (row) => {
      if (row.sender_id !== user.userId)
        throw problems.forbidden('only its sender may edit a message', 'not_message_sender');
      if (row.deleted_at !== null) throw problems.conflict('the message is deleted', 'message_deleted');
      const sameMentions = mentions === undefined || sameList(mentions, row.mentions);
      if (content === row.content && sameMentions) return null;
      return {
        saveVersion: content !== row.content,
        set: {
          content,
          edited_at: sql<Date>`now()` as never,
          ...(mentions === undefined ? {} : { mentions: sql`${uuidArray(mentions)}::uuid[]` as never }),
        },
      };
    });
  }

  async remove(user: ChatUser, rawGroupId: string, id: string): Promise<void> {
    const access = await this.#authorize(user, rawGroupId);
    await this.#change(access, id, (row) => {
      if (row.sender_id !== user.userId && !MODERATOR_ROLES.has(access.role))
        throw problems.forbidden(
          'only its sender or an owner or admin of the group may delete a message',
          'not_allowed_to_delete',
        );
      if (row.deleted_at !== null) return null;
      // The content and every earlier version go; the log rows name the message only, so nothing of
      // the text is left anywhere.
      return {
        eraseVersions: true,
        rootReplyDelta: row.thread_root_id ? -1 : 0,
        set: {
          content: '',
          mentions: sql`'{}'::uuid[]` as never,
          reactions: sql`'[]'::jsonb` as never,
          edited_at: null,
          deleted_at: sql<Date>`now()` as never,
        },
      };
    });
  }

  async react(
    user: ChatUser,
    rawGroupId: string,
    id: string,
    rawEmoji: string,
    add: boolean,
  ): Promise<MessageDto> {
    const access = await this.#authorize(user, rawGroupId);
    const emoji = validEmoji(rawEmoji);
    return this.#change(access, id, (row) => {
      if (row.deleted_at !== null) {
        if (!add) return null;
        throw problems.conflict('the message is deleted', 'message_deleted');
      }
      const next = withReaction(row.reactions, emoji, user.userId, add);
      if (next === null) return null;
      if (next.length > MAX_DISTINCT_REACTIONS)
        throw problems.conflict(
          `a message takes at most ${MAX_DISTINCT_REACTIONS} distinct emoji`,
          'too_many_reactions',
        );
      return { set: { reactions: sql`${JSON.stringify(next)}::jsonb` as never } };
    });
  }

  async versions(
    user: ChatUser,
    rawGroupId: string,
    id: string,
  ): Promise<{ versions: { content: string; written_at: string }[] }> {
    const access = await this.#authorize(user, rawGroupId);
    const row = await this.#find(access, id);
    if (row.sender_id !== user.userId && !MODERATOR_ROLES.has(access.role))
      throw problems.forbidden(
        'earlier versions are shown to the sender and to owners and admins of the group',
        'not_message_sender',
      );
    const versions = await this.#repo.versions(row.id);
    return {
      versions: versions.map((v) => ({ content: v.content, written_at: v.written_at.toISOString() })),
    };
  }

  async events(
    user: ChatUser,
    rawGroupId: string,
    input: { cursor?: string | undefined; limit?: number | undefined },
  ): Promise<{ events: ChatEvent[]; next_cursor: string | null }> {
    const access = await this.#authorize(user, rawGroupId);
    const limit = input.limit ?? DEFAULT_EVENTS_PAGE;
    const after = input.cursor === undefined ? 0 : Number(input.cursor);
    const rows = await this.#repo.listEvents(access.groupId, access.orgId, after, limit);
    const events = rows.map(toEvent);
    return { events, next_cursor: events.length === limit ? (events.at(-1)?.cursor ?? null) : null };
  }

  async #change(
    access: GroupAccess,
    rawId: string,
    decide: Parameters<MessageRepository['change']>[3],
  ): Promise<MessageDto> {
    const { row, events } = await this.#repo.change(
      access.groupId,
      access.orgId,
      rawId.toLowerCase(),
      decide,
    );
    if (!row) throw notFound();
    this.#announce(events);
    return toDto(row);
  }

  async #find(access: GroupAccess, rawId: string): Promise<MessageRow> {
    const row = await this.#repo.find(access.groupId, access.orgId, rawId.toLowerCase());
    if (!row) throw notFound();
    return row;
  }

  async #seqOf(access: GroupAccess, cursor: string): Promise<number> {
    const seq = await this.#repo.seqOf(access.groupId, access.orgId, cursor.toLowerCase());
    if (seq === undefined)
      throw problems.badRequest('the cursor does not name a message of this group', 'invalid_cursor');
    return seq;
  }

  /** Mentioned ids, deduplicated, members of the group only (from the cached member list). */
  #mentions(access: GroupAccess, raw: readonly string[] | undefined): string[] {
    if (!raw || raw.length === 0) return [];
    if (raw.length > MAX_MENTIONS)
      throw problems.badRequest(`at most ${MAX_MENTIONS} mentions`, 'validation_failed');
    const ids = [...new Set(raw.map((id) => id.toLowerCase()))];
    return ids.filter((id) => this.#groups.isMemberCached(access.groupId, id) === true);
  }

  /**
   * Hands committed events to the fan-out, gathered per group over one turn of the event loop: the
   * sends answered by one group-commit batch go out as one announcement (one bus message) per group
   * instead of one per message, each event once, in cursor order.
   */
  #announce(events: StoredEvent[]): void {
    if (events.length === 0) return;
    for (const event of events) {
      const groupId = event.row.group_id;
      const waiting = this.#toAnnounce.get(groupId);
      if (waiting) waiting.push(event);
      else this.#toAnnounce.set(groupId, [event]);
    }
    if (this.#announceScheduled) return;
    this.#announceScheduled = true;
    setImmediate(() => this.#flushAnnouncements());
  }

  #flushAnnouncements(): void {
    this.#announceScheduled = false;
    const groups = [...this.#toAnnounce.values()];
    this.#toAnnounce.clear();
    for (const events of groups) {
      // Fan-out is best effort and must never fail a request (they are answered already).
      try {
        this.#onEvents(events.sort((a, b) => a.cursor - b.cursor).map(toEvent));
      } catch (error) {
        this.#logger.error({ err: error, event: 'fanout_failed' }, 'fan-out failed');
      }
    }
  }
}

function page(rows: MessageRow[], limit: number): MessagePage {
  const messages = rows.slice(0, limit).map(toDto);
  return { messages, next_cursor: rows.length > limit ? (messages.at(-1)?.id ?? null) : null };
}

function notFound() {
  return problems.notFound('no such message in this group', 'message_not_found');
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function validContent(raw: string): string {
  const content = raw.trim();
  if (content.length === 0) throw problems.badRequest('content must not be empty', 'invalid_content');
  // PostgreSQL text cannot hold NUL; refuse it here rather than fail in the database.
  if (content.includes('\u0000'))
    throw problems.badRequest('content must not contain NUL characters', 'invalid_content');
  // Characters are counted as Unicode code points, not UTF-16 units: an emoji is one character.
  if (codePoints(content, MAX_CONTENT_CHARS + 1) > MAX_CONTENT_CHARS)
    throw problems.badRequest(`content must be at most ${MAX_CONTENT_CHARS} characters`, 'invalid_content');
  return content;
}

function validEmoji(raw: string): string {
  const emoji = raw.normalize('NFC');
  const count = codePoints(emoji, MAX_EMOJI_CHARS + 1);
  if (count === 0 || count > MAX_EMOJI_CHARS || /[\s\p{Cc}\p{Cs}]/u.test(emoji))
    throw problems.badRequest(
      `emoji must be 1 to ${MAX_EMOJI_CHARS} characters without spaces or control characters`,
      'invalid_emoji',
    );
  return emoji;
}

function codePoints(value: string, stopAt: number): number {
  let count = 0;
  for (const _ of value) {
    count += 1;
    if (count >= stopAt) break;
  }
  return count;
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
