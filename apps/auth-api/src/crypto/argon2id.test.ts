import { HttpProblem } from '@groupchat/service-kit';
import { describe, expect, it } from 'vitest';
import { Argon2idHasher, Semaphore } from './argon2id.ts';

describe('Argon2idHasher (passwords and client secrets)', () => {
  it('hashes with the OWASP parameters and verifies only the same value', async () => {
    const hasher = new Argon2idHasher();
    const hash = await hasher.hash('correct horse battery staple');
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await hasher.verify(hash, 'correct horse battery staple')).toBe(true);
    expect(await hasher.verify(hash, 'correct horse battery stapler')).toBe(false);
  });

  it('answers false, never throws, for a malformed stored hash', async () => {
    expect(await new Argon2idHasher().verify('not-a-hash', 'x')).toBe(false);
  });

  it('verifyOrBurn: false without a stored hash, after real work (as long as a wrong secret)', async () => {
    const hasher = new Argon2idHasher();
    const hash = await hasher.hash('s3cret-value');
    await hasher.verifyOrBurn(undefined, 'warm-up'); // the burn hash is made once, lazily
    const t0 = performance.now();
    expect(await hasher.verifyOrBurn(undefined, 's3cret-value')).toBe(false);
    const burned = performance.now() - t0;
    expect(await hasher.verifyOrBurn(hash, 's3cret-value')).toBe(true);
    // A burn that skipped Argon2id would take microseconds; a real verify takes milliseconds.
    expect(burned).toBeGreaterThan(1);
  });

  it('refuses a new hash with 503 and Retry-After when its queue is full, without starving verifies', async () => {
    const hasher = new Argon2idHasher({
      maxConcurrentHashes: 1,
      maxQueuedHashes: 1,
      maxConcurrentVerifies: 2,
    });
    const hash = await hasher.hash('p4ssword!');
    const results = await Promise.allSettled([
      hasher.hash('a-one'),
      hasher.hash('a-two'),
      hasher.hash('a-three'),
    ]);
    const refused = results.filter((r) => r.status === 'rejected');
    expect(refused).toHaveLength(1);
    const error = (refused[0] as PromiseRejectedResult).reason as HttpProblem;
    expect(error).toBeInstanceOf(HttpProblem);
    expect(error.status).toBe(503);
    expect(error.code).toBe('password_hashing_busy');
    expect(error.headers['retry-after']).toBe('1');
    expect(await hasher.verify(hash, 'p4ssword!')).toBe(true);
  });
});

describe('Semaphore', () => {
  it('runs at most `size` tasks at once and refuses beyond the queue', async () => {
    const gate = new Semaphore(2, 1);
    let running = 0;
    let peak = 0;
    const release: (() => void)[] = [];
    const task = () =>
      new Promise<number>((resolve) => {
        running += 1;
        peak = Math.max(peak, running);
        release.push(() => {
          running -= 1;
          resolve(running);
        });
      });
    const a = gate.run(task);
    const b = gate.run(task);
    const c = gate.run(task); // queued
    expect(await gate.run(task)).toBeNull(); // queue full: nothing ran
    await Promise.resolve();
    expect(peak).toBe(2);
    release.shift()!();
    await a;
    await new Promise((r) => setTimeout(r, 0));
    while (release.length > 0) release.shift()!();
    await Promise.all([b, c]);
    expect(peak).toBe(2);
    expect(gate.running).toBe(0);
  });
});
