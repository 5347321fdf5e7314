import { Redis } from 'ioredis';

/**
 * Publish/subscribe between processes. Redis when REDIS_URL is set (several instances, several
 * services); in-process otherwise (one process hosting the platform). Payloads are JSON values.
 */
export type BusHandler = (payload: unknown) => void;

export interface EventBus {
  readonly kind: 'memory' | 'redis';
  publish(channel: string, payload: unknown): Promise<void>;
  subscribe(channel: string, handler: BusHandler): Promise<() => void>;
  /** True when the bus can carry messages right now (Redis connected). */
  healthy(): boolean;
  close(): Promise<void>;
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
    this.#subscriber.on('message', (channel: string, message: string) => {
      const handlers = this.#handlers.get(channel.slice(this.#prefix.length));
      if (!handlers) return;
      let payload: unknown;
      try {
        payload = JSON.parse(message);
      } catch {
        return;
      }
      for (const handler of handlers) handler(payload);
    });
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
