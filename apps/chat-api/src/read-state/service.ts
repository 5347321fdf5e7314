import type { GroupReadState, Receipt } from '@groupchat/contract';
import { Channels, type EventBus, problems } from '@groupchat/service-kit';
import type { Logger } from 'pino';
import type { UserPrincipal } from '../auth/user-token-verifier.ts';
import type { GroupService } from '../groups/group-service.ts';
import type { ServerFrame } from '../live/protocol.ts';
import type { AuthApiClient } from '../service-auth/auth-api-client.ts';
import { AuthApiUnavailableError } from '../service-auth/token-manager.ts';
import type { ReadState, ReadStateRepository } from './repository.ts';

export interface ReadStateServiceOptions {
  repo: ReadStateRepository;
  groups: GroupService;
  authApi: AuthApiClient;
  bus: EventBus;
  /** Delivers a frame to every socket of the user, on every instance. */
  toUser: (userId: string, frame: ServerFrame) => void;
  logger: Logger;
  /** How long a user's list of groups is reused (membership events drop it sooner). */
  groupListTtlMs?: number;
  now?: () => number;
}

/**
 * Read markers, unread and mention counts, receipts. State is per user, not per device: every marker
 * move is told to all of the user's sockets. Access is checked first: the group must be the caller's
 * org's (else 404) and count them as a member (else 403).
 */
export class ReadStateService {
  readonly #options: ReadStateServiceOptions;
  readonly #now: () => number;
  /** user id → the ids of the groups they belong to, as auth-api last said. */
  readonly #groupLists = new Map<string, { groupIds: string[]; at: number }>();
  #unsubscribe: (() => void) | null = null;

  constructor(options: ReadStateServiceOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  async start(): Promise<void> {
    this.#unsubscribe = await this.#options.bus.subscribe(Channels.membership, (payload) => {
      const event = payload as { type?: unknown; user_id?: unknown } | null;
      if (typeof event?.user_id === 'string') this.#groupLists.delete(event.user_id);
      else if (event?.type === 'group_deleted') this.#groupLists.clear();
    });
  }

  stop(): void {
    this.#unsubscribe?.();
  }

  async markRead(user: UserPrincipal, rawGroupId: string, rawMessageId: string): Promise<GroupReadState> {
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
  async unread(user: UserPrincipal, token: string): Promise<{ groups: GroupReadState[] }> {
    const groupIds = await this.#groupIdsOf(user, token);
    return { groups: (await this.#options.repo.states(user.userId, groupIds)).map(toDto) };
  }

  async receipts(user: UserPrincipal, rawGroupId: string): Promise<{ receipts: Receipt[] }> {
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

  async #groupIdsOf(user: UserPrincipal, token: string): Promise<string[]> {
    const cached = this.#groupLists.get(user.userId);
    if (cached && this.#now() - cached.at < (this.#options.groupListTtlMs ?? 30_000)) return cached.groupIds;
    let response: { status: number; body: unknown };
    try {
      response = await this.#options.authApi.getAsUser('/api/auth/groups', 'user_groups', token);
    } catch (error) {
      if (error instanceof AuthApiUnavailableError)
        throw problems.unavailable(
          'the groups cannot be listed right now (auth-api unavailable); retry shortly',
          'auth_api_unavailable',
          Math.max(1, Math.ceil(error.retryAfterMs / 1000)),
        );
      throw error;
    }
    const groups = (response.body as { groups?: unknown } | undefined)?.groups;
    if (response.status !== 200 || !Array.isArray(groups)) {
      this.#options.logger.warn(
        { event: 'user_groups_unexpected', status: response.status },
        'auth-api did not list the user’s groups',
      );
      throw problems.unavailable(
        'the groups cannot be listed right now; retry shortly',
        'auth_api_unavailable',
      );
    }
    const groupIds = groups
      .filter(
        (g): g is { id: string; org_id: string } => typeof g?.id === 'string' && g.org_id === user.orgId,
      )
      .map((g) => g.id);
    this.#groupLists.set(user.userId, { groupIds, at: this.#now() });
    if (this.#groupLists.size > 50_000) this.#groupLists.clear();
    return groupIds;
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
