import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { ThreadBus } from './bus.ts';

const buses: ThreadBus[] = [];
afterEach(async () => {
  for (const bus of buses.splice(0)) await bus.close();
});

function bus(namespace: string): ThreadBus {
  const created = new ThreadBus(namespace);
  buses.push(created);
  return created;
}

function collect(target: ThreadBus, channel: string): Promise<unknown[]> & { seen: unknown[] } {
  const seen: unknown[] = [];
  const ready = target.subscribe(channel, (payload) => seen.push(payload)).then(() => seen);
  return Object.assign(ready, { seen });
}

describe('ThreadBus (BroadcastChannel between the threads of one process)', () => {
  it('delivers a JSON copy to every subscriber, the publisher’s own included, once each', async () => {
    const a = bus('t1');
    const b = bus('t1');
    const atA = collect(a, 'events');
    const atB = collect(b, 'events');
    await Promise.all([atA, atB]);
    const payload = { n: 1, at: new Date(0) };
    await a.publish('events', payload);
    await expect.poll(() => atB.seen.length).toBe(1);
    await expect.poll(() => atA.seen.length).toBe(1);
    expect(atB.seen[0]).toEqual({ n: 1, at: '1970-01-01T00:00:00.000Z' }); // as over Redis: JSON
    expect(atA.seen[0]).not.toBe(payload);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(atA.seen).toHaveLength(1);
    expect(atB.seen).toHaveLength(1);
  });

  it('keeps channels and namespaces apart', async () => {
    const a = bus('t2');
    const other = bus('t2-other');
    const wrongChannel = collect(bus('t2'), 'not-this-one');
    const wrongNamespace = collect(other, 'events');
    const right = collect(bus('t2'), 'events');
    await Promise.all([wrongChannel, wrongNamespace, right]);
    await a.publish('events', 'x');
    await expect.poll(() => right.seen).toEqual(['x']);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(wrongChannel.seen).toEqual([]);
    expect(wrongNamespace.seen).toEqual([]);
  });

  it('reaches a service on another worker thread and back', async () => {
    const main = bus('bus-test');
    const pongs = collect(main, 'pong');
    await pongs;
    const worker = new Worker(new URL('./test-support/thread-bus-echo.ts', import.meta.url));
    try {
      await new Promise<void>((resolve, reject) => {
        worker.once('message', () => resolve());
        worker.once('error', reject);
      });
      await main.publish('ping', { hello: 'worker' });
      await expect.poll(() => pongs.seen, { timeout: 5_000 }).toEqual([{ echoed: { hello: 'worker' } }]);
    } finally {
      worker.postMessage('stop');
      await worker.terminate();
    }
  });
});
