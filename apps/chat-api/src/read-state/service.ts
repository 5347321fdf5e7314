import type { GroupReadState, Receipt, ServerFrame } from '@groupchat/contract';
import { problems } from '@groupchat/service-kit';
import type { Logger } from 'pino';
import type { ChatUser } from '../auth/user-token-verifier.ts';
import type { GroupDirectory } from '../groups/group-directory.ts';
import type { UserGroups } from '../groups/user-groups.ts';
import type { ReadState, ReadStateRepository } from './repository.ts';

export interface ReadStateServiceOptions {
  repo: ReadStateRepository;
  groups: GroupDirectory;
  userGroups: UserGroups;
  /** Delivers a frame to every socket of the user, on every instance. */
  toUser: (userId: string, frame: ServerFrame) => void;
  logger: Logger;
}

/**
 * Read markers, unread and mention counts, receipts. State is per user, not per device: every marker
 * move is told to all of the user's sockets. Access is checked first: the group must be the caller's
 * org's (else 404) and count them as a member (else 403).
 */
export class ReadStateService {
  readonly #options: ReadStateServiceOptions;

  constructor(options: ReadStateServiceOptions) {
    this.#options = options;
  }

  async markRead(user: ChatUser, rawGroupId: string, rawMessageId: string): Promise<GroupReadState> {
    const groupId = rawGroupId.toLowerCase();
    const access = await this.#options.groups.authorize({ id: user.userId, orgId: user.orgId }, groupId);
    const target = await this.#options.repo.findTarget(groupId, access.orgId, rawMessageId.toLowerCase());
    if (!target) throw problems.notFound('no such message in this group', 'message_not_found');
    const moved = await this.#options.repo.advance(user.userId, groupId, access.orgId, target);
    const [state] = await this.#options.repo.states(user.userId, [groupId]);
    const dto = toDto(state!);
    if (moved) {
      try {
        this.#options.toUser(user.userId, { type: 'read', ...dto });
      } catch (error) {
        this.#options.logger.warn({ err: error, event: 'read_frame_failed' }, 'read frame not sent');
      }
    }
    return dto;
  }

  /** Every group the caller belongs to (as auth-api says, asked with the caller's own token). */
  async unread(user: ChatUser): Promise<{ groups: GroupReadState[] }> {
    const groupIds = await this.#options.userGroups.ids(user);
    return { groups: (await this.#options.repo.states(user.userId, groupIds)).map(toDto) };
  }

  async receipts(user: ChatUser, rawGroupId: string): Promise<{ receipts: Receipt[] }> {
    const groupId = rawGroupId.toLowerCase();
    const access = await this.#options.groups.authorize({ id: user.userId, orgId: user.orgId }, groupId);
    const members = new Set(this.#options.groups.cachedMemberIds(groupId) ?? []);
    const rows = await this.#options.repo.receipts(groupId, access.orgId);
    return {
      receipts: rows
        // Someone who left the group keeps no receipt in it.
        .filter((row) => members.has(row.userId))
        .map((row) => ({
          user_id: row.userId,
          last_read_message_id: row.messageId,
          read_at: row.readAt.toISOString(),
        })),
    };
  }
}

function toDto(state: ReadState): GroupReadState {
  return {
    group_id: state.groupId,
    last_read_message_id: state.lastReadMessageId,
    unread_count: state.unreadCount,
    mention_count: state.mentionCount,
  };
}
