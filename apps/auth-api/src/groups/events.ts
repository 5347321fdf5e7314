import { Channels, type GroupRole, type MembershipEvent } from '@groupchat/contract';
import type { EventBus } from '@groupchat/service-kit';
import type { Logger } from 'pino';

const PUBLISH_TIMEOUT_MS = 1_000;

/**
 * Tells resource servers (chat-api) about membership changes, on `Channels.membership`. Called only
 * after the database commit, so a subscriber that re-reads membership on the event sees the new state.
 * The database stays the record: a failed or slow publish is logged, never turned into a failed request
 * (subscribers also re-check membership on their own schedule).
 */
export class MembershipEvents {
  readonly #bus: EventBus;
  readonly #logger: Logger;
  readonly #now: () => number;

  constructor(options: { bus: EventBus; logger: Logger; now: () => number }) {
    this.#bus = options.bus;
    this.#logger = options.logger;
    this.#now = options.now;
  }

  memberAdded(group: { id: string; orgId: string }, userId: string, role: GroupRole): Promise<void> {
    return this.#publish({
      type: 'member_added',
      group_id: group.id,
      org_id: group.orgId,
      user_id: userId,
      role,
      at: this.#at(),
    });
  }

  memberRemoved(group: { id: string; orgId: string }, userId: string): Promise<void> {
    return this.#publish({
      type: 'member_removed',
      group_id: group.id,
      org_id: group.orgId,
      user_id: userId,
      at: this.#at(),
    });
  }

  groupDeleted(group: { id: string; orgId: string }): Promise<void> {
    return this.#publish({ type: 'group_deleted', group_id: group.id, org_id: group.orgId, at: this.#at() });
  }

  #at(): string {
    return new Date(this.#now()).toISOString();
  }

  async #publish(event: MembershipEvent): Promise<void> {
    const published = this.#bus.publish(Channels.membership, event).catch((error: unknown) => {
      this.#logger.warn(
        { err: error, event: 'membership_publish_failed', type: event.type, group_id: event.group_id },
        'membership event not published',
      );
    });
    // A bus that is down (Redis reconnecting) must not hold the HTTP answer: after a second the
    // request goes on and the publish finishes (or fails, logged) in the background.
    let timer: NodeJS.Timeout | undefined;
    const slow = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.#logger.warn({ event: 'membership_publish_slow', type: event.type }, 'membership publish slow');
        resolve();
      }, PUBLISH_TIMEOUT_MS);
    });
    await Promise.race([published, slow]);
    clearTimeout(timer);
  }
}
