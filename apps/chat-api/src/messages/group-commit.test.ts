import { describe, expect, it } from 'vitest';
import { GroupCommitter } from './group-commit.ts';

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('GroupCommitter', () => {
  it('sends a lone write at once, and what arrives meanwhile as one batch after its commit', async () => {
    const batches: number[][] = [];
    let release!: () => void;
    const committer = new GroupCommitter<number, string>({
      maxBatch: 100,
      writeBatch: async (items) => {
        batches.push(items);
        if (batches.length === 1) await new Promise<void>((r) => (release = r));
        return items.map((n) => `stored ${n}`);
      },
      writeOne: async () => {
        throw new Error('not used');
      },
      retryAlone: () => true,
    });
    const first = committer.submit(1);
    await tick();
    expect(batches).toEqual([[1]]);
    const later = [2, 3, 4].map((n) => committer.submit(n));
    await tick();
    // Nobody is answered before the commit that holds their write.
    expect(batches).toHaveLength(1);
    let answered = false;
    void first.then(() => (answered = true));
    await tick();
    expect(answered).toBe(false);
    release();
    expect(await first).toBe('stored 1');
    expect(await Promise.all(later)).toEqual(['stored 2', 'stored 3', 'stored 4']);
    expect(batches).toEqual([[1], [2, 3, 4]]);
  });

  it('caps the batch size', async () => {
    const sizes: number[] = [];
    const committer = new GroupCommitter<number, number>({
      maxBatch: 3,
      writeBatch: async (items) => {
        sizes.push(items.length);
        return items;
      },
      writeOne: async (n) => n,
      retryAlone: () => true,
    });
    expect(await Promise.all([1, 2, 3, 4, 5, 6, 7].map((n) => committer.submit(n)))).toEqual([
      1, 2, 3, 4, 5, 6, 7,
    ]);
    expect(sizes).toEqual([3, 3, 1]);
  });

  it('retries a failed batch write by write: only the bad one fails', async () => {
    const singles: number[] = [];
    const committer = new GroupCommitter<number, number>({
      maxBatch: 10,
      writeBatch: async (items) => {
        if (items.includes(13)) throw new Error('unique violation somewhere in the batch');
        return items;
      },
      writeOne: async (n) => {
        singles.push(n);
        if (n === 13) throw new Error('13 is bad');
        return n * 10;
      },
      retryAlone: (error) => (error as Error).message.startsWith('unique violation'),
    });
    const results = await Promise.allSettled([12, 13, 14].map((n) => committer.submit(n)));
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([
      120,
      '13 is bad',
      140,
    ]);
    expect(singles).toEqual([12, 13, 14]);
    // The writer is still usable afterwards.
    expect(await committer.submit(1)).toBe(1);
  });

  it('never retries a batch that may have been stored: every write of it fails', async () => {
    let singles = 0;
    const committer = new GroupCommitter<number, number>({
      maxBatch: 10,
      writeBatch: async () => {
        throw new Error('connection lost during commit');
      },
      writeOne: async (n) => {
        singles += 1;
        return n;
      },
      retryAlone: (error) => (error as Error).message.startsWith('unique violation'),
    });
    const results = await Promise.allSettled([1, 2, 3].map((n) => committer.submit(n)));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(singles).toBe(0);
  });
});
