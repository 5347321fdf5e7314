import type { ServerFrame } from '@groupchat/contract';
import { Channels } from '@groupchat/contract';
import type { EventBus, ExpiringSets } from '@groupchat/service-kit';
import type { Logger } from 'pino';
import type { LiveConnection, LiveHub } from './hub.ts';
import { Presence, type PresenceEvent } from './presence.ts';

/** At most one typing notice per user and group per this long is forwarded; the rest are dropped. */
export const TYPING_INTERVAL_MS = 2_000;

type SignalEvent =
  | PresenceEvent
  | { type: 'typing'; group_id: string; org_id: string; user_id: string; instance_id: string }
  | { type: 'user_frame'; user_id: string; frame: ServerFrame; instance_id: string };

export interface LiveSignalsOptions {
  hub: LiveHub;
  bus: EventBus;
  store: ExpiringSets;
  instanceId: string;
  logger: Logger;
  presenceGraceMs?: number;
  presenceTtlMs?: number;
  presenceHeartbeatMs?: number;
  now?: () => number;
}

/**
 * The live signals that are never stored as messages: typing notices, presence, and frames addressed
 * to one user on every instance (their read marker moved). Each goes to this instance's sockets at
 * once and to the other instances over the bus (`chat.signals`).
 */
export class LiveSignals {
  readonly #options: LiveSignalsOptions;
  readonly #hub: LiveHub;
  readonly #now: () => number;
  readonly presence: Presence;
  /** `group|user` → when a typing notice was last forwarded (by any instance, as far as we saw). */
  readonly #typing = new Map<string, number>();
  #unsubscribe: (() => void) | null = null;
  #detachHub: (() => void) | null = null;

  constructor(options: LiveSignalsOptions) {
    this.#options = options;
    this.#hub = options.hub;
    this.#now = options.now ?? Date.now;
    this.presence = new Presence({
      store: options.store,
      instanceId: options.instanceId,
      logger: options.logger,
      publish: (event) => this.#publish(event),
      onChange: (groupId, userId, status) =>
        this.#hub.broadcast(groupId, { type: 'presence', group_id: groupId, user_id: userId, status }),
      ...(options.presenceGraceMs !== undefined ? { graceMs: options.presenceGraceMs } : {}),
      ...(options.presenceTtlMs !== undefined ? { ttlMs: options.presenceTtlMs } : {}),
      ...(options.presenceHeartbeatMs !== undefined ? { heartbeatMs: options.presenceHeartbeatMs } : {}),
      ...(options.now ? { now: options.now } : {}),
    });
  }

  async start(): Promise<void> {
    this.#unsubscribe = await this.#options.bus.subscribe(Channels.chatSignals, (payload) =>
      this.#fromBus(payload),
    );
    this.#detachHub = this.#hub.onSubscriptionChange({
      joined: (groupId, userId) => this.presence.joined(groupId, userId),
      left: (groupId, userId) => this.presence.left(groupId, userId),
    });
    this.presence.start();
  }

  stop(): void {
    this.#unsubscribe?.();
    this.#detachHub?.();
    this.presence.stop();
  }

  /**
   * A typing notice from `conn`. Only for a group the socket is subscribed to (false otherwise);
   * throttled per user and group, silently.
   */
  typing(conn: LiveConnection, groupId: string): boolean {
    if (!this.#hub.isSubscribed(conn, groupId)) return false;
    const { userId, orgId } = conn.user;
    if (!this.#admitTyping(groupId, userId)) return true;
    this.#hub.broadcast(groupId, { type: 'typing', group_id: groupId, user_id: userId }, userId);
    this.#publish({
      type: 'typing',
      group_id: groupId,
      org_id: orgId,
      user_id: userId,
      instance_id: this.#options.instanceId,
    });
    return true;
  }

  /** A frame for every socket of the user, on every instance. */
  toUser(userId: string, frame: ServerFrame): void {
    this.#hub.sendToUser(userId, frame);
    this.#publish({ type: 'user_frame', user_id: userId, frame, instance_id: this.#options.instanceId });
  }

  /**
   * The throttle runs where notices are sent and again where they are received, so the rule holds
   * for each receiver even when one user types on two instances at once.
   */
  #admitTyping(groupId: string, userId: string): boolean {
    const now = this.#now();
    const key = `${groupId}|${userId}`;
    const last = this.#typing.get(key);
    if (last !== undefined && now - last < TYPING_INTERVAL_MS) return false;
    this.#typing.set(key, now);
    if (this.#typing.size > 10_000)
      for (const [k, at] of this.#typing) if (now - at >= TYPING_INTERVAL_MS) this.#typing.delete(k);
    return true;
  }

  #fromBus(payload: unknown): void {
    const event = payload as Partial<SignalEvent> | null;
    if (!event || typeof event !== 'object' || event.instance_id === this.#options.instanceId) return;
    switch (event.type) {
      case 'typing':
        if (typeof event.group_id !== 'string' || typeof event.user_id !== 'string') return;
        if (!this.#admitTyping(event.group_id, event.user_id)) return;
        this.#hub.broadcast(
          event.group_id,
          { type: 'typing', group_id: event.group_id, user_id: event.user_id },
          event.user_id,
        );
        return;
      case 'presence':
        if (typeof event.group_id !== 'string' || typeof event.user_id !== 'string') return;
        this.presence.apply(event as PresenceEvent);
        return;
      case 'user_frame':
        if (typeof event.user_id !== 'string' || !event.frame) return;
        this.#hub.sendToUser(event.user_id, event.frame);
        return;
    }
  }

  #publish(event: SignalEvent): void {
    this.#options.bus.publish(Channels.chatSignals, event).catch((error) => {
      this.#options.logger.warn(
        { err: error, event: 'signal_publish_failed', type: event.type },
        'signal not published',
      );
    });
  }
}
