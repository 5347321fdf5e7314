import { Redis } from 'ioredis';

/**
 * Publish/subscribe between processes. Redis when REDIS_URL is set (several instances, several
 * services); in-process otherwise (one process hosting the platform). Payloads are JSON values.
 */
export type BusHandler = (payload: unknown) => void;

export interface EventBus {
  /** `redis` reaches other processes; `memory` and `threads` stay inside this process. */
  readonly kind: 'memory' | 'threads' | 'redis';
  publish(channel: string, payload: unknown): Promise<void>;
  subscribe(channel: string, handler: BusHandler): Promise<() => void>;
  /** True when the bus can carry messages right now (Redis connected). */
  healthy(): boolean;
  close(): Promise<void>;
}

/** Parses one received message and hands it to the channel's handlers; a message that is not JSON is dropped. */
function dispatchJson(handlers: Set<BusHandler> | undefined, message: string): void {
  if (!handlers || handlers.size === 0) return;
  let payload: unknown;
  try {
    payload = JSON.parse(message);
  } catch {
    return;
  }
  for (const handler of handlers) handler(payload);
}

export class MemoryBus implements EventBus {
  readonly kind = 'memory' as const;
  readonly #handlers = new Map<string, Set<BusHandler>>();

  async publish(channel: string, payload: unknown): Promise<void> {
    // Serialise like Redis would, so no subscriber can mutate the publisher's object.
    const copy = JSON.parse(JSON.stringify(payload)) as unknown;
    for (const handler of this.#handlers.get(channel) ?? []) {
      queueMicrotask(() => handler(copy));
    }
  }

  async subscribe(channel: string, handler: BusHandler): Promise<() => void> {
    let set = this.#handlers.get(channel);
    if (!set) {
      set = new Set();
      this.#handlers.set(channel, set);
    }
    set.add(handler);
    return () => set.delete(handler);
  }

  healthy(): boolean {
    return true;
  }

  async close(): Promise<void> {
    this.#handlers.clear();
  }
}

/**
 * Between the worker threads of one process (the embedded platform: each service on its own thread,
 * see scripts/start.ts): Node's BroadcastChannel, one per bus channel, opened when first used.
 * Like Redis, a publication reaches every subscriber, those of the publishing thread included, as a
 * JSON copy; unlike Redis it never leaves the process and never fails.
 */
export class ThreadBus implements EventBus {
  readonly kind = 'threads' as const;
  readonly #namespace: string;
  readonly #channels = new Map<string, BroadcastChannel>();
  readonly #handlers = new Map<string, Set<BusHandler>>();

  constructor(namespace = 'groupchat') {
    this.#namespace = namespace;
  }

  #open(channel: string): BroadcastChannel {
    let broadcast = this.#channels.get(channel);
    if (!broadcast) {
      broadcast = new BroadcastChannel(`${this.#namespace}:${channel}`);
      // Handlers are registered by subscribe; a channel opened to publish only ignores what it hears.
      broadcast.onmessage = (event) => this.#dispatch(channel, (event as MessageEvent<string>).data);
      // Open channels must not keep a thread alive on their own.
      (broadcast as unknown as { unref?: () => void }).unref?.();
      this.#channels.set(channel, broadcast);
    }
    return broadcast;
  }

  #dispatch(channel: string, message: string): void {
    dispatchJson(this.#handlers.get(channel), message);
  }

  async publish(channel: string, payload: unknown): Promise<void> {
    // Serialised once; other threads receive the string, this thread's subscribers parse it too.
    const message = JSON.stringify(payload);
    this.#open(channel).postMessage(message);
    if (this.#handlers.get(channel)?.size) queueMicrotask(() => this.#dispatch(channel, message));
  }

  async subscribe(channel: string, handler: BusHandler): Promise<() => void> {
    let set = this.#handlers.get(channel);
    if (!set) {
      set = new Set();
      this.#handlers.set(channel, set);
    }
    set.add(handler);
    this.#open(channel);
    return () => set.delete(handler);
  }

  healthy(): boolean {
    return true;
  }

  async close(): Promise<void> {
    this.#handlers.clear();
    for (const broadcast of this.#channels.values()) broadcast.close();
    this.#channels.clear();
  }
}

export class RedisBus implements EventBus {
  readonly kind = 'redis' as const;
  readonly #publisher: Redis;
  readonly #subscriber: Redis;
  readonly #handlers = new Map<string, Set<BusHandler>>();
  readonly #prefix: string;

  constructor(url: string, options: { prefix?: string; onError?: (error: Error) => void } = {}) {
    this.#prefix = options.prefix ?? '';
    const common = { lazyConnect: false, maxRetriesPerRequest: 2, enableOfflineQueue: true };
    this.#publisher = new Redis(url, { ...common, connectionName: 'bus-pub' });
    this.#subscriber = new Redis(url, { ...common, connectionName: 'bus-sub' });
    const onError = options.onError ?? (() => {});
    this.#publisher.on('error', onError);
    this.#subscriber.on('error', onError);
    this.#subscriber.on('message', (channel: string, message: string) =>
      dispatchJson(this.#handlers.get(channel.slice(this.#prefix.length)), message),
    );
  }

  async publish(channel: string, payload: unknown): Promise<void> {
    await this.#publisher.publish(this.#prefix + channel, JSON.stringify(payload));
  }

  async subscribe(channel: string, handler: BusHandler): Promise<() => void> {
    let set = this.#handlers.get(channel);
    if (!set) {
      set = new Set();
      this.#handlers.set(channel, set);
      await this.#subscriber.subscribe(this.#prefix + channel);
    }
    set.add(handler);
    return () => {
      set.delete(handler);
    };
  }

  healthy(): boolean {
    return this.#publisher.status === 'ready' && this.#subscriber.status === 'ready';
  }

  async close(): Promise<void> {
    this.#handlers.clear();
    this.#publisher.disconnect();
    this.#subscriber.disconnect();
  }
}

export function createBus(
  redisUrl: string | undefined,
  options: { prefix?: string; onError?: (e: Error) => void } = {},
): EventBus {
  return redisUrl ? new RedisBus(redisUrl, options) : new MemoryBus();
}
