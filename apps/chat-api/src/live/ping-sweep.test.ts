import { describe, expect, it } from 'vitest';
import { PingSweep } from './ping-sweep.ts';

describe('PingSweep', () => {
  it('pings every item once per round, a slice per tick, never all in one tick', () => {
    const items = new Set(Array.from({ length: 1_000 }, (_, i) => i));
    const pinged: number[][] = [];
    let current: number[] = [];
    const sweep = new PingSweep(items, (i) => current.push(i), 32);
    expect(sweep.tickMs(30_000)).toBe(937);
    const starts: boolean[] = [];
    for (let t = 0; t < 64; t++) {
      current = [];
      starts.push(sweep.tick());
      pinged.push(current);
    }
    expect(starts.filter(Boolean)).toHaveLength(2);
    expect(starts[0]).toBe(true);
    expect(starts[32]).toBe(true);
    for (const round of [pinged.slice(0, 32), pinged.slice(32)]) {
      expect(round.flat().sort((a, b) => a - b)).toEqual([...items]);
      expect(Math.max(...round.map((slice) => slice.length))).toBeLessThanOrEqual(32);
    }
  });

  it('skips items removed mid-round and reaches items added mid-round', () => {
    const items = new Set([1, 2, 3, 4, 5, 6, 7, 8]);
    const pinged: number[] = [];
    const sweep = new PingSweep(items, (i) => pinged.push(i), 4);
    sweep.tick(); // 1, 2
    items.delete(3);
    items.add(9);
    sweep.tick();
    sweep.tick();
    sweep.tick(); // the last tick of a round finishes it
    expect(pinged.sort((a, b) => a - b)).toEqual([1, 2, 4, 5, 6, 7, 8, 9]);
  });
});
