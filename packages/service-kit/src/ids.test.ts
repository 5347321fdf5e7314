import { describe, expect, it } from 'vitest';
import { isUuid, uuidv7 } from './ids.ts';

describe('uuidv7 (a counter within the millisecond, random bits from a pool)', () => {
  it('is a time-ordered, unique UUIDv7 across pool refills', () => {
    const seen = new Set<string>();
    let previous = '';
    const base = Date.now();
    // 5,000 ids draw 50,000 random bytes: a dozen refills of the 4 KiB pool.
    for (let i = 0; i < 5_000; i++) {
      const id = uuidv7(base + i);
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(id > previous).toBe(true);
      expect(isUuid(id)).toBe(true);
      previous = id;
      seen.add(id);
    }
    expect(seen.size).toBe(5_000);
    const later = base + 60_000;
    expect(Number.parseInt(uuidv7(later).replace(/-/g, '').slice(0, 12), 16)).toBe(later);
  });

  it('sorts in creation order within one millisecond, past the counter, and when the clock steps back', () => {
    const now = Date.now() + 120_000;
    // 10,000 ids in one millisecond run the 12-bit counter out at least twice.
    const ids = Array.from({ length: 10_000 }, () => uuidv7(now));
    ids.push(uuidv7(now - 5_000));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    expect(Number.parseInt(ids[0]!.replace(/-/g, '').slice(0, 12), 16)).toBe(now);
  });
});
