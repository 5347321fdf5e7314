/**
 * From what a user types to a PostgreSQL tsquery (text form; folded further by `chat_search_fold` in
 * SQL, the same function the index uses). Every word must occur; a word matches as a prefix. Chinese,
 * Japanese and Korean characters are indexed one per token, so a run of them becomes a phrase of
 * adjacent characters: it matches where the same characters stand together.
 */

/** The characters indexed one per token: the same ranges as migration 0004_search. */
const CJK = /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]/u;
const CJK_OR_OTHER =
  /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]+|[^\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]+/gu;

/** At most this many terms are used; a longer query is not more selective in practice. */
export const MAX_TERMS = 32;

/** Null when `q` holds no word at all (only punctuation or spaces): nothing can match. */
export function toTsQuery(q: string): string | null {
  const words = q.normalize('NFKC').match(/[\p{L}\p{N}\p{M}]+/gu) ?? [];
  const terms: string[] = [];
  for (const word of words) {
    for (const part of word.match(CJK_OR_OTHER) ?? []) {
      if (CJK.test(part)) {
        const chars = [...part].map((c) => `'${c}'`);
        terms.push(chars.length === 1 ? chars[0]! : `(${chars.join(' <-> ')})`);
      } else {
        terms.push(`'${part}':*`);
      }
      if (terms.length >= MAX_TERMS) return terms.join(' & ');
    }
  }
  return terms.length > 0 ? terms.join(' & ') : null;
}
