import type { Message } from '@groupchat/contract';
import { describe, expect, it } from 'vitest';
import { compareMessages, mergeMessages, newClientMessageId, newest, oldest } from './messages.ts';

let n = 0;
function message(
  createdAt: string,
  id = `0190c1a2-5b6c-7d8e-9f00-${String(++n).padStart(12, '0')}`,
): Message {
  return {
    id,
    group_id: 'g',
    org_id: 'o',
    seq: n,
    sender_id: 's',
    content: `m${n}`,
    client_message_id: null,
    created_at: createdAt,
    thread_root_id: null,
    reply_count: 0,
    last_reply_at: null,
    edited_at: null,
    deleted_at: null,
    reactions: [],
    mentions: [],
  };
}

describe('message lists', () => {
  const a = message('2026-12-01T10:00:00.000Z');
  const b = message('2026-12-01T10:00:01.000Z');
  const c = message('2026-12-01T10:00:02.000Z');

  it('orders by creation time, then id', () => {
    const tie = message(a.created_at, `${a.id.slice(0, -1)}f`);
    expect([c, tie, a, b].sort(compareMessages)).toEqual([a, tie, b, c]);
  });

  it('merges pages and live messages without duplicates, in server order', () => {
    expect(mergeMessages([a, c], [b, c])).toEqual([a, b, c]);
    expect(mergeMessages([a, b], [c])).toEqual([a, b, c]);
  });

  it('keeps the same array when nothing is new (no re-render)', () => {
    const list = [a, b];
    expect(mergeMessages(list, [b])).toBe(list);
    expect(mergeMessages(list, [])).toBe(list);
  });

  it('finds the newest and oldest', () => {
    expect(newest([b, c, a])).toBe(c);
    expect(oldest([b, c, a])).toBe(a);
    expect(newest([])).toBeUndefined();
  });

  it('makes distinct v4 ids for idempotent posts', () => {
    const ids = new Set(Array.from({ length: 100 }, newClientMessageId));
    expect(ids.size).toBe(100);
    for (const id of ids)
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
