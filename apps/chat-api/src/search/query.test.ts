import { describe, expect, it } from 'vitest';
import { MAX_TERMS, toTsQuery } from './query.ts';

describe('toTsQuery', () => {
  it('makes every word a prefix term, joined by AND', () => {
    expect(toTsQuery('deplo  Friday')).toBe("'deplo':* & 'Friday':*");
  });
  it('drops punctuation, so no input can inject tsquery syntax', () => {
    expect(toTsQuery("it's a & b | !c:* 'x'")).toBe("'it':* & 's':* & 'a':* & 'b':* & 'c':* & 'x':*");
    expect(toTsQuery('!!! ... ')).toBeNull();
  });
  it('turns a run of CJK characters into a phrase of adjacent characters', () => {
    expect(toTsQuery('東京')).toBe("('東' <-> '京')");
    expect(toTsQuery('東京tower 駅')).toBe("('東' <-> '京') & 'tower':* & '駅'");
  });
  it('folds compatibility forms (full-width letters) like the index does', () => {
    expect(toTsQuery('ｄｅｐｌｏｙ')).toBe("'deploy':*");
  });
  it('keeps combining marks inside words (accents are folded in SQL)', () => {
    expect(toTsQuery('Cafe\u0301 привет')).toBe("'Café':* & 'привет':*");
  });
  it('caps the number of terms', () => {
    const q = Array.from({ length: 50 }, (_, i) => `w${i}`).join(' ');
    expect(toTsQuery(q)?.split(' & ')).toHaveLength(MAX_TERMS);
  });
});
