import {
  Channels,
  type ChatEvent,
  type ChatMessageEvent,
  ChatMessageEventSchema,
  CloseCodes,
  type ServerFrame,
} from '@groupchat/contract';
import type { EventBus } from '@groupchat/service-kit';
import type { Logger } from 'pino';
import { Compile } from 'typebox/compile';
import type { ChatUser } from '../auth/user-token-verifier.ts';
import type { MessageRepository } from '../messages/repository.ts';
import { toEvent } from '../messages/service.ts';
import { encode } from './protocol.ts';

/** A change-log event with its cursor as a number (positions are far below 2^53). */
interface LiveEvent {
  readonly event: ChatEvent;
  readonly pos: number;
  /** The frame, serialised and UTF-8 encoded once for every subscriber (ws sends a Buffer as it is). */
  frame: Buffer | null;
}

/** One authenticated WebSocket, as the hub sees it. */
export interface LiveConnection {
  readonly user: ChatUser;
  /** Sends a pre-encoded frame; drops it (and the connection) when the client is too slow. */
  send(data: string | Buffer): void;
  close(code: number, reason: string): void;
  /** Bytes queued and not yet sent. */
  readonly bufferedAmount: number;
  readonly isOpen: boolean;
}

interface Subscription {
  readonly conn: LiveConnection;
  readonly groupId: string;
  /** While replaying history, live events are parked here and flushed afterwards. */
  catchingUp: boolean;
  parked: LiveEvent[];
  /** Highest cursor sent to this subscriber; nothing at or below it is sent again. */
  lastSent: number;
  /** Fully subscribed (counted for presence) until detached. */
  joined: boolean;
}

/** Told when a connection's subscription to a group starts and ends (presence). */
export interface SubscriptionListener {
  joined(groupId: string, userId: string): void;
  left(groupId: string, userId: string): void;
}

/**
 * Per group with subscribers on this instance: the ordered stream of the group's change log. Events
 * arrive from our own requests and, through the bus, from other instances, in any order; they are
 * delivered strictly by cursor. A missing cursor (N+1 not seen, N+2 seen) is read from the database
 * after a short wait: cursors are assigned in commit order without gaps, so N+1 is committed once
 * N+2 exists.
 */
interface GroupChannel {
  readonly groupId: string;
  readonly orgId: string;
  /** Highest position delivered; -1 until initialised from the database. */
  head: number;
  ready: Promise<void>;
  readonly pending: Map<number, LiveEvent>;
  readonly subscribers: Set<Subscription>;
  gapTimer: NodeJS.Timeout | null;
  gapFailures: number;
  closed: boolean;
}

export interface LiveHubOptions {
  repo: MessageRepository;
  bus: EventBus;
  logger: Logger;
  /** Tells this instance's own bus messages apart (they were delivered locally already). */
  instanceId: string;
  resumeMaxGap: number;
  maxBufferedBytes: number;
  /** How long an out-of-order message waits for the missing one before the database is asked. */
  gapFillDelayMs?: number;
}

const validBusMessage = Compile(ChatMessageEventSchema);

const live = (event: ChatEvent): LiveEvent => ({ event, pos: Number(event.cursor), frame: null });
const frameOf = (item: LiveEvent): Buffer =>
  (item.frame ??= Buffer.from(
    encode({ type: item.event.type, message: item.event.message, cursor: item.event.cursor }),
  ));

export class LiveHub {
  readonly #options: LiveHubOptions;
  readonly #logger: Logger;
  readonly #channels = new Map<string, GroupChannel>();
  readonly #connections = new Map<LiveConnection, Map<string, Subscription>>();
  /** user id → that user's connections here: frames about the user (read markers) go to all of them. */
  readonly #byUser = new Map<string, Set<LiveConnection>>();
  readonly #subscriptionListeners = new Set<SubscriptionListener>();
  #unsubscribe: (() => void) | null = null;
  #pollTimer: NodeJS.Timeout | null = null;
  readonly stats = { delivered: 0, gapFills: 0, resets: 0, busIn: 0 };

  constructor(options: LiveHubOptions) {
    this.#options = options;
    this.#logger = options.logger;
  }

  async start(): Promise<void> {
    this.#unsubscribe = await this.#options.bus.subscribe(Channels.chatMessages, (payload) =>
      this.#fromBus(payload),
    );
    // While the bus is down, other instances' messages do not arrive: read the database instead.
    this.#pollTimer = setInterval(() => {
      if (this.#options.bus.healthy()) return;
      for (const channel of this.#channels.values()) if (channel.head >= 0) void this.#fillGap(channel, true);
    }, 1_000);
    this.#pollTimer.unref();
  }

  stop(): void {
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    if (this.#pollTimer) clearInterval(this.#pollTimer);
    for (const channel of this.#channels.values()) this.#closeChannel(channel);
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Events were committed by this instance (one change): deliver here, and tell the other instances. */
  announce(events: ChatEvent[]): void {
    const first = events[0];
    if (!first) return;
    for (const event of events) this.#offer(live(event));
    const payload: ChatMessageEvent = {
      type: 'chat_events',
      instance_id: this.#options.instanceId,
      group_id: first.message.group_id,
      events,
    };
    this.#options.bus.publish(Channels.chatMessages, payload).catch((error) => {
      // Other instances catch up from the database at the group's next event (or by polling
      // while the bus is unhealthy).
      this.#logger.warn(
        { err: error, event: 'fanout_publish_failed', group_id: payload.group_id, cursor: first.cursor },
        'fan-out publish failed',
      );
    });
  }

  addConnection(conn: LiveConnection): void {
    if (this.#connections.has(conn)) return;
    this.#connections.set(conn, new Map());
    const userId = conn.user.userId;
    let mine = this.#byUser.get(userId);
    if (!mine) {
      mine = new Set();
      this.#byUser.set(userId, mine);
    }
    mine.add(conn);
  }

  removeConnection(conn: LiveConnection): void {
    const subs = this.#connections.get(conn);
    if (!subs) return;
    for (const sub of subs.values()) this.#detach(sub);
    this.#connections.delete(conn);
    const mine = this.#byUser.get(conn.user.userId);
    mine?.delete(conn);
    if (mine?.size === 0) this.#byUser.delete(conn.user.userId);
  }

  onSubscriptionChange(listener: SubscriptionListener): () => void {
    this.#subscriptionListeners.add(listener);
    return () => this.#subscriptionListeners.delete(listener);
  }

  /** Whether `conn` is subscribed to the group (typing is only for subscribed groups). */
  isSubscribed(conn: LiveConnection, groupId: string): boolean {
    return this.#connections.get(conn)?.get(groupId)?.joined === true;
  }

  /** A frame to every subscriber of the group on this instance, except the connections of `exceptUserId`. */
  broadcast(groupId: string, frame: ServerFrame, exceptUserId?: string): number {
    const channel = this.#channels.get(groupId);
    if (!channel) return 0;
    let data: string | null = null;
    let sent = 0;
    for (const sub of channel.subscribers) {
      if (!sub.joined || sub.conn.user.userId === exceptUserId) continue;
      data ??= encode(frame);
      sub.conn.send(data);
      sent += 1;
    }
    return sent;
  }

  /** A frame to every connection of the user on this instance. */
  sendToUser(userId: string, frame: ServerFrame): number {
    const mine = this.#byUser.get(userId);
    if (!mine) return 0;
    const data = encode(frame);
    for (const conn of mine) conn.send(data);
    return mine.size;
  }

  /** The groups `conn` is subscribed to (or subscribing to). */
  subscribedGroups(conn: LiveConnection): string[] {
    return [...(this.#connections.get(conn)?.keys() ?? [])];
  }

  subscriptionCount(conn: LiveConnection): number {
    return this.#connections.get(conn)?.size ?? 0;
  }

  /**
   * Subscribes `conn` to a group it was just authorised for, then replays what it missed: the events
   * after `from.cursor`, or after the creation of message `from.afterId` (Part 1's `after`).
   * Registration comes first, so an event committed during the replay is either in the replayed rows
   * or arrives live afterwards; `lastSent` drops the overlap. Resolves false when the subscription
   * was cancelled meanwhile (unsubscribe, access lost, disconnect).
   */
  async subscribe(
    conn: LiveConnection,
    groupId: string,
    orgId: string,
    from: { afterId?: string | undefined; cursor?: number | undefined } = {},
  ): Promise<boolean> {
    const subs = this.#connections.get(conn);
    if (!subs) return false;
    const existing = subs.get(groupId);
    if (existing) this.#detach(existing);
    const channel = this.#channel(groupId, orgId);
    const sub: Subscription = { conn, groupId, catchingUp: true, parked: [], lastSent: 0, joined: false };
    channel.subscribers.add(sub);
    subs.set(groupId, sub);
    const active = () => conn.isOpen && channel.subscribers.has(sub) && !channel.closed;
    try {
      await channel.ready;
      if (!active()) return false;
      let after: number | undefined = from.cursor;
      if (after === undefined && from.afterId === undefined) {
        // Live from the moment the subscription became effective; the frame tells the client the
        // cursor it is at, to resume from later.
        sub.lastSent = sub.parked.length > 0 ? sub.parked[0]!.pos - 1 : channel.head;
        conn.send(encode({ type: 'subscribed', group_id: groupId, cursor: String(sub.lastSent) }));
      } else {
        conn.send(encode({ type: 'subscribed', group_id: groupId }));
        if (after === undefined) {
          after = await this.#options.repo.seqOf(groupId, orgId, from.afterId!);
          if (!active()) return false;
        }
        // This instance may not have been told yet of what the client saw on another one: only a
        // cursor beyond what the database holds is unknown.
        const ahead =
          after !== undefined &&
          after > channel.head &&
          after > (await this.#options.repo.headCursor(groupId));
        if (!active()) return false;
        if (after === undefined) this.#reset(sub, channel, 'unknown message id');
        else if (ahead) this.#reset(sub, channel, 'cursor ahead of the group');
        else {
          const max = this.#options.resumeMaxGap;
          const rows = await this.#options.repo.listEvents(groupId, orgId, after, max + 1);
          if (!active()) return false;
          if (rows.length > max) this.#reset(sub, channel, 'gap too large');
          else {
            sub.lastSent = after;
            for (const row of rows) {
              this.#sendTo(sub, live(toEvent(row)));
              if (conn.bufferedAmount > this.#options.maxBufferedBytes / 2) {
                if (!(await this.#drained(conn))) return false;
                if (!active()) return false;
              }
            }
          }
        }
      }
    } catch (error) {
      this.#detach(sub);
      throw error;
    }
    sub.catchingUp = false;
    for (const item of sub.parked) this.#sendTo(sub, item);
    sub.parked = [];
    sub.joined = true;
    for (const listener of this.#subscriptionListeners) listener.joined(groupId, conn.user.userId);
    return true;
  }

  unsubscribe(conn: LiveConnection, groupId: string): boolean {
    const sub = this.#connections.get(conn)?.get(groupId);
    if (!sub) return false;
    this.#detach(sub);
    return true;
  }

  /** Access to a group was lost (member removed: one user; group deleted: everyone). */
  accessLost(groupId: string, userId: string | null, status: number): void {
    const channel = this.#channels.get(groupId);
    if (!channel) return;
    const detail = status === 404 ? 'the group no longer exists' : 'you are no longer a member of this group';
    for (const sub of [...channel.subscribers]) {
      if (userId !== null && sub.conn.user.userId !== userId) continue;
      this.#detach(sub);
      sub.conn.send(encode({ type: 'error', group_id: groupId, status, detail }));
    }
  }

  /** Closes every connection for which `predicate` holds (revoked token, ended session). */
  disconnect(predicate: (user: ChatUser) => boolean, code: number, reason: string): number {
    let count = 0;
    for (const conn of [...this.#connections.keys()]) {
      if (!predicate(conn.user)) continue;
      this.removeConnection(conn);
      conn.close(code, reason);
      count += 1;
    }
    return count;
  }

  #fromBus(payload: unknown): void {
    // Validated against the contract's schema: nothing malformed reaches a subscriber.
    if (!validBusMessage.Check(payload) || payload.instance_id === this.#options.instanceId) return;
    this.stats.busIn += 1;
    for (const event of payload.events) this.#offer(live(event));
  }

  #offer(item: LiveEvent): void {
    const message = item.event.message;
    const channel = this.#channels.get(message.group_id);
    if (!channel || message.org_id !== channel.orgId) return;
    if (channel.head >= 0 && item.pos <= channel.head) return;
    channel.pending.set(item.pos, item);
    if (channel.head >= 0) this.#drain(channel);
  }

  #drain(channel: GroupChannel): void {
    for (
      let next = channel.pending.get(channel.head + 1);
      next;
      next = channel.pending.get(channel.head + 1)
    ) {
      channel.pending.delete(next.pos);
      channel.head = next.pos;
      this.#deliver(channel, next);
    }
    for (const seq of channel.pending.keys()) if (seq <= channel.head) channel.pending.delete(seq);
    if (channel.pending.size === 0) {
      if (channel.gapTimer) clearTimeout(channel.gapTimer);
      channel.gapTimer = null;
      channel.gapFailures = 0;
    } else if (!channel.gapTimer) {
      const delay = Math.min(5_000, (this.#options.gapFillDelayMs ?? 100) * 2 ** channel.gapFailures);
      channel.gapTimer = setTimeout(() => {
        channel.gapTimer = null;
        void this.#fillGap(channel, false);
      }, delay);
      channel.gapTimer.unref();
    }
  }

  /** Reads what is missing after `head` from the database (gap, or bus outage when `poll`). */
  async #fillGap(channel: GroupChannel, poll: boolean): Promise<void> {
    if (channel.closed || (!poll && channel.pending.size === 0)) return;
    const head = channel.head;
    const target = poll ? head + 1_000 : Math.max(...channel.pending.keys());
    try {
      this.stats.gapFills += 1;
      const rows = await this.#options.repo.listEvents(
        channel.groupId,
        channel.orgId,
        head,
        Math.min(1_000, target - head),
      );
      if (channel.closed) return;
      for (const row of rows) this.#offer(live(toEvent(row)));
      if (!poll && channel.head === head && channel.pending.size > 0 && rows.length === 0) {
        // The database does not have head+1 either (cannot happen with commit-ordered positions,
        // but never stall a group on it): skip to what we have.
        const first = Math.min(...channel.pending.keys());
        this.#logger.warn(
          { event: 'live_gap_skipped', group_id: channel.groupId, from: head + 1, to: first - 1 },
          'gap skipped',
        );
        channel.head = first - 1;
        this.#drain(channel);
      }
      channel.gapFailures = 0;
    } catch (error) {
      channel.gapFailures += 1;
      this.#logger.warn(
        { err: error, event: 'live_gap_fill_failed', group_id: channel.groupId },
        'gap fill failed',
      );
      if (!poll && channel.pending.size > 0 && !channel.gapTimer) this.#drain(channel);
    }
  }

  #deliver(channel: GroupChannel, item: LiveEvent): void {
    for (const sub of channel.subscribers) {
      if (sub.catchingUp) {
        sub.parked.push(item);
        continue;
      }
      this.#sendTo(sub, item);
    }
  }

  #sendTo(sub: Subscription, item: LiveEvent): void {
    if (item.pos <= sub.lastSent) return;
    sub.lastSent = item.pos;
    sub.conn.send(frameOf(item));
    this.stats.delivered += 1;
  }

  #reset(sub: Subscription, channel: GroupChannel, why: string): void {
    this.stats.resets += 1;
    this.#logger.debug(
      { event: 'live_resume_reset', group_id: channel.groupId, reason: why },
      'resume reset',
    );
    // The client reloads by REST; live delivery continues after `cursor`.
    sub.lastSent = Math.max(channel.head, sub.parked.at(-1)?.pos ?? 0);
    sub.conn.send(encode({ type: 'reset', group_id: channel.groupId, cursor: String(sub.lastSent) }));
  }

  /** Waits until the client has taken most of what was queued; false if it does not in time. */
  async #drained(conn: LiveConnection): Promise<boolean> {
    const deadline = Date.now() + 10_000;
    while (conn.isOpen && conn.bufferedAmount > this.#options.maxBufferedBytes / 4) {
      if (Date.now() > deadline) {
        conn.close(CloseCodes.policyViolation, 'outgoing queue over its bound (slow consumer)');
        return false;
      }
      // Loopback and LAN clients drain 1 MB in well under a millisecond or two: poll often.
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    return conn.isOpen;
  }

  #channel(groupId: string, orgId: string): GroupChannel {
    const existing = this.#channels.get(groupId);
    if (existing && existing.orgId === orgId && !existing.closed) return existing;
    const channel: GroupChannel = {
      groupId,
      orgId,
      head: -1,
      ready: Promise.resolve(),
      pending: new Map(),
      subscribers: new Set(),
      gapTimer: null,
      gapFailures: 0,
      closed: false,
    };
    channel.ready = this.#options.repo.headCursor(groupId).then(
      (max) => {
        channel.head = max;
        this.#drain(channel);
      },
      (error) => {
        this.#closeChannel(channel);
        throw error;
      },
    );
    // Subscribers await it; a failure is theirs to report.
    channel.ready.catch(() => {});
    this.#channels.set(groupId, channel);
    return channel;
  }

  #detach(sub: Subscription): void {
    if (this.#connections.get(sub.conn)?.get(sub.groupId) === sub)
      this.#connections.get(sub.conn)?.delete(sub.groupId);
    if (sub.joined) {
      sub.joined = false;
      for (const listener of this.#subscriptionListeners) listener.left(sub.groupId, sub.conn.user.userId);
    }
    const channel = this.#channels.get(sub.groupId);
    if (!channel?.subscribers.delete(sub)) return;
    if (channel.subscribers.size === 0) this.#closeChannel(channel);
  }

  #closeChannel(channel: GroupChannel): void {
    channel.closed = true;
    if (channel.gapTimer) clearTimeout(channel.gapTimer);
    channel.gapTimer = null;
    if (this.#channels.get(channel.groupId) === channel) this.#channels.delete(channel.groupId);
  }
}
