import type { ExpiringSets } from '@groupchat/service-kit';
import type { Logger } from 'pino';

export type PresenceStatus = 'online' | 'offline';

export interface PresenceOptions {
  store: ExpiringSets;
  /** Tells the other instances about a change at once (they would otherwise see it at their next check). */
  publish: (event: PresenceEvent) => void;
  /** A user's presence in a group changed, as this instance sees it: tell the local subscribers. */
  onChange: (groupId: string, userId: string, status: PresenceStatus) => void;
  instanceId: string;
  logger: Logger;
  /** A user stays online this long after their last socket left the group (no flicker on reconnect). */
  graceMs?: number;
  /** Our entries expire this long after the last refresh: a crashed instance's users go offline by themselves. */
  ttlMs?: number;
  /** How often our entries are refreshed and the shared state is re-read. */
  heartbeatMs?: number;
  now?: () => number;
}

/** Between instances, on the bus: a user joined (`online`) or left (`left`, offline once `until` passes). */
export type PresenceEvent =
  | { type: 'presence'; status: 'online'; group_id: string; user_id: string; instance_id: string }
  | {
      type: 'presence';
      status: 'left';
      group_id: string;
      user_id: string;
      instance_id: string;
      until: number;
    };

interface GroupView {
  online: Set<string>;
  /** Pending "is this user still around?" checks, after a leave. */
  checks: Map<string, NodeJS.Timeout>;
  loaded: boolean;
}

/**
 * Who is present in which group, across chat-api instances.
 *
 * The record is a shared expiring set per group (`presence:{group}`), one member per user and instance:
 * while a user has a socket subscribed here, this instance refreshes `{user}|{instance}` every heartbeat
 * with a TTL; when the last such socket leaves, the entry is rewritten to expire after the grace period
 * instead of being removed. A user is present while any of their entries is unexpired, so a reconnect
 * within the grace (to any instance) never shows as offline, and an instance that crashes stops
 * refreshing: its users expire on their own, seen by the others at their next heartbeat.
 *
 * For speed, joins and leaves are also announced on the bus; each instance keeps a view of the groups
 * its own sockets are subscribed to and emits `online`/`offline` to them when the view changes.
 */
export class Presence {
  readonly #options: PresenceOptions;
  readonly #graceMs: number;
  readonly #ttlMs: number;
  readonly #now: () => number;
  /** group → user → number of this instance's sockets subscribed. */
  readonly #local = new Map<string, Map<string, number>>();
  readonly #views = new Map<string, GroupView>();
  #timer: NodeJS.Timeout | null = null;

  constructor(options: PresenceOptions) {
    this.#options = options;
    this.#graceMs = options.graceMs ?? 10_000;
    this.#ttlMs = options.ttlMs ?? 15_000;
    this.#now = options.now ?? Date.now;
  }

  start(): void {
    this.#timer = setInterval(() => void this.#heartbeat(), this.#options.heartbeatMs ?? 5_000);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    for (const view of this.#views.values()) for (const timer of view.checks.values()) clearTimeout(timer);
    this.#views.clear();
  }

  /** The users present in the group now (any instance, grace included). */
  async online(groupId: string): Promise<string[]> {
    const [members] = await this.#options.store.members([key(groupId)]);
    return users(members ?? []);
  }

  /** One of this instance's sockets of `userId` subscribed to the group. */
  joined(groupId: string, userId: string): void {
    let counts = this.#local.get(groupId);
    if (!counts) {
      counts = new Map();
      this.#local.set(groupId, counts);
    }
    const before = counts.get(userId) ?? 0;
    counts.set(userId, before + 1);
    this.#openView(groupId);
    if (before > 0) return;
    this.#write(groupId, userId, this.#ttlMs);
    const event: PresenceEvent = {
      type: 'presence',
      status: 'online',
      group_id: groupId,
      user_id: userId,
      instance_id: this.#options.instanceId,
    };
    this.#options.publish(event);
    this.apply(event);
  }

  /** One of this instance's sockets of `userId` left the group (unsubscribed, closed, lost access). */
  left(groupId: string, userId: string): void {
    const counts = this.#local.get(groupId);
    const before = counts?.get(userId) ?? 0;
    if (!counts || before === 0) return;
    if (before > 1) {
      counts.set(userId, before - 1);
      return;
    }
    counts.delete(userId);
    this.#write(groupId, userId, this.#graceMs);
    const event: PresenceEvent = {
      type: 'presence',
      status: 'left',
      group_id: groupId,
      user_id: userId,
      instance_id: this.#options.instanceId,
      until: this.#now() + this.#graceMs,
    };
    this.#options.publish(event);
    this.apply(event);
    if (counts.size === 0) this.#local.delete(groupId);
  }

  /** An event from this or another instance. */
  apply(event: PresenceEvent): void {
    const view = this.#views.get(event.group_id);
    if (!view) return;
    const userId = event.user_id;
    if (event.status === 'online') {
      const check = view.checks.get(userId);
      if (check) clearTimeout(check);
      view.checks.delete(userId);
      if (!view.online.has(userId)) {
        view.online.add(userId);
        this.#options.onChange(event.group_id, userId, 'online');
      }
      return;
    }
    if (view.checks.has(userId)) clearTimeout(view.checks.get(userId));
    const delay = Math.max(0, event.until - this.#now()) + 50;
    const timer = setTimeout(() => {
      view.checks.delete(userId);
      void this.#recheck(event.group_id, userId);
    }, delay);
    timer.unref();
    view.checks.set(userId, timer);
  }

  #openView(groupId: string): void {
    if (this.#views.has(groupId)) return;
    const view: GroupView = { online: new Set(), checks: new Map(), loaded: false };
    this.#views.set(groupId, view);
    // Who was already here: known without frames (a new subscriber asks GET …/presence).
    this.online(groupId).then(
      (present) => {
        if (this.#views.get(groupId) !== view) return;
        for (const userId of present) view.online.add(userId);
        view.loaded = true;
      },
      (error) => this.#warn(error, 'presence_read_failed'),
    );
  }

  async #recheck(groupId: string, userId: string): Promise<void> {
    const view = this.#views.get(groupId);
    if (!view?.online.has(userId)) return;
    try {
      const present = await this.online(groupId);
      if (this.#views.get(groupId) !== view) return;
      if (!present.includes(userId) && view.online.delete(userId))
        this.#options.onChange(groupId, userId, 'offline');
    } catch (error) {
      this.#warn(error, 'presence_read_failed');
    }
  }

  /** Refresh our entries; re-read every viewed group (catches crashed instances and lost events). */
  async #heartbeat(): Promise<void> {
    const entries: { key: string; member: string; ttlMs: number }[] = [];
    for (const [groupId, counts] of this.#local)
      for (const userId of counts.keys())
        entries.push({ key: key(groupId), member: this.#member(userId), ttlMs: this.#ttlMs });
    // Views of groups nobody here is subscribed to any more are dropped.
    for (const [groupId, view] of this.#views) {
      if (this.#local.has(groupId)) continue;
      for (const timer of view.checks.values()) clearTimeout(timer);
      this.#views.delete(groupId);
    }
    const groupIds = [...this.#views.keys()];
    try {
      await this.#options.store.touch(entries);
      const results = await this.#options.store.members(groupIds.map(key));
      groupIds.forEach((groupId, i) => {
        const view = this.#views.get(groupId);
        if (!view) return;
        const present = new Set(users(results[i] ?? []));
        for (const userId of present)
          if (!view.online.has(userId)) {
            view.online.add(userId);
            this.#options.onChange(groupId, userId, 'online');
          }
        for (const userId of [...view.online])
          if (!present.has(userId) && !view.checks.has(userId)) {
            view.online.delete(userId);
            this.#options.onChange(groupId, userId, 'offline');
          }
      });
    } catch (error) {
      this.#warn(error, 'presence_heartbeat_failed');
    }
  }

  #write(groupId: string, userId: string, ttlMs: number): void {
    this.#options.store
      .touch([{ key: key(groupId), member: this.#member(userId), ttlMs }])
      .catch((error) => this.#warn(error, 'presence_write_failed'));
  }

  #member(userId: string): string {
    return `${userId}|${this.#options.instanceId}`;
  }

  #warn(error: unknown, event: string): void {
    this.#options.logger.warn({ err: error, event }, 'presence store unavailable');
  }
}

function key(groupId: string): string {
  return `presence:${groupId}`;
}

function users(members: string[]): string[] {
  return [...new Set(members.map((member) => member.split('|')[0]!))];
}
