import { Channels } from '@groupchat/contract';
import { type EventBus, problems } from '@groupchat/service-kit';
import type { Logger } from 'pino';
import type { ChatUser } from '../auth/user-token-verifier.ts';
import type { AuthApiClient } from '../service-auth/auth-api-client.ts';
import { AuthApiUnavailableError } from '../service-auth/token-manager.ts';

/**
 * The groups a user belongs to, as auth-api lists them for that user (asked with the user's own token,
 * whose `aud` names auth-api too), kept for a short while and dropped at once by any membership event
 * about the user: what "every group the caller belongs to" means for unread counts and search.
 */
export class UserGroups {
  readonly #authApi: AuthApiClient;
  readonly #bus: EventBus;
  readonly #logger: Logger;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #lists = new Map<string, { groupIds: string[]; at: number }>();
  #unsubscribe: (() => void) | null = null;

  constructor(options: {
    authApi: AuthApiClient;
    bus: EventBus;
    logger: Logger;
    ttlMs?: number;
    now?: () => number;
  }) {
    this.#authApi = options.authApi;
    this.#bus = options.bus;
    this.#logger = options.logger;
    this.#ttlMs = options.ttlMs ?? 30_000;
    this.#now = options.now ?? Date.now;
  }

  async start(): Promise<void> {
    this.#unsubscribe = await this.#bus.subscribe(Channels.membership, (payload) => {
      const event = payload as { type?: unknown; user_id?: unknown } | null;
      if (typeof event?.user_id === 'string') this.#lists.delete(event.user_id);
      else if (event?.type === 'group_deleted') this.#lists.clear();
    });
  }

  stop(): void {
    this.#unsubscribe?.();
  }

  /**
   * The ids of the user's groups (of their own organization only), asked with chat-api's own service
   * token: the user's token may be an app's, made for chat-api alone, and is never passed on.
   */
  async ids(user: ChatUser): Promise<string[]> {
    const cached = this.#lists.get(user.userId);
    if (cached && this.#now() - cached.at < this.#ttlMs) return cached.groupIds;
    let response: { status: number; body: unknown };
    try {
      const query = new URLSearchParams({ org_id: user.orgId, member_id: user.userId });
      response = await this.#authApi.get(`/api/auth/groups?${query}`, 'user_groups');
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
      this.#logger.warn(
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
    this.#lists.set(user.userId, { groupIds, at: this.#now() });
    if (this.#lists.size > 50_000) this.#lists.clear();
    return groupIds;
  }
}
