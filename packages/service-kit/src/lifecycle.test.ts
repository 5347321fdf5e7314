import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ConfigError } from './config.ts';
import { Resources, runService, type ServiceProcess } from './lifecycle.ts';

class FakeProcess extends EventEmitter implements ServiceProcess {
  exits: number[] = [];
  written = '';
  readonly exited: Promise<number>;
  #resolve!: (code: number) => void;
  stderr = { write: (text: string) => (this.written += text) };
  constructor() {
    super();
    this.exited = new Promise((resolve) => (this.#resolve = resolve));
  }
  exit(code: number): void {
    this.exits.push(code);
    this.#resolve(code);
  }
}

describe('runService', () => {
  it('closes the service on SIGTERM and exits 0', async () => {
    const proc = new FakeProcess();
    let closed = 0;
    const close = async () => {
      closed += 1;
    };
    await runService('svc', async () => ({ close }), { process: proc });
    expect(proc.exits).toEqual([]);
    proc.emit('SIGTERM');
    expect(await proc.exited).toBe(0);
    expect(closed).toBe(1);
  });

  it('exits 2 with the message alone for a configuration error, 1 for any other failed start', async () => {
    const config = new FakeProcess();
    await runService(
      'svc',
      async () => {
        throw new ConfigError(['PORT must be a number']);
      },
      { process: config },
    );
    expect(config.exits).toEqual([2]);
    expect(config.written).toContain('svc: invalid configuration');
    expect(config.written).toContain('PORT must be a number');
    expect(config.written).not.toContain(' at ');

    const other = new FakeProcess();
    await runService(
      'svc',
      async () => {
        throw new Error('database unreachable');
      },
      { process: other },
    );
    expect(other.exits).toEqual([1]);
    expect(other.written).toContain('database unreachable');
  });

  it('exits 1 when closing fails, when it hangs past the bound, and on a second signal', async () => {
    const failing = new FakeProcess();
    await runService('svc', async () => ({ close: () => Promise.reject(new Error('boom')) }), {
      process: failing,
    });
    failing.emit('SIGINT');
    expect(await failing.exited).toBe(1);
    expect(failing.written).toContain('shutdown failed: boom');

    const hanging = new FakeProcess();
    await runService('svc', async () => ({ close: () => new Promise<void>(() => {}) }), {
      process: hanging,
      forceExitMs: 20,
    });
    hanging.emit('SIGTERM');
    expect(await hanging.exited).toBe(1);
    expect(hanging.written).toContain('still closing after 20 ms');

    const impatient = new FakeProcess();
    await runService('svc', async () => ({ close: () => new Promise<void>(() => {}) }), {
      process: impatient,
    });
    impatient.emit('SIGINT');
    impatient.emit('SIGINT');
    expect(await impatient.exited).toBe(1);
  });
});

describe('Resources', () => {
  it('closes newest first, and all of them even when one fails', async () => {
    const order: string[] = [];
    const resources = new Resources();
    resources.add('db', (name) => void order.push(name));
    resources.add('bus', () => {
      order.push('bus');
      throw new Error('bus close failed');
    });
    resources.add('port', async (name) => void order.push(name));
    await expect(resources.close()).rejects.toThrow('bus close failed');
    expect(order).toEqual(['port', 'bus', 'db']);
    await resources.close(); // nothing left: a second close is a no-op
    expect(order).toHaveLength(3);
  });

  it('a failed start-up step closes what the steps before it opened, and rethrows', async () => {
    const closed: string[] = [];
    const resources = new Resources();
    await expect(
      resources.starting(async () => {
        resources.add('database', (name) => void closed.push(name));
        resources.add('bus', (name) => void closed.push(name));
        throw new Error('migration failed');
      }),
    ).rejects.toThrow('migration failed');
    expect(closed).toEqual(['bus', 'database']);
  });
});
