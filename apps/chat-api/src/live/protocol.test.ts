import { uuidv7 } from '@groupchat/service-kit';
import { describe, expect, it } from 'vitest';
import { parseClientFrame } from './protocol.ts';

describe('parseClientFrame', () => {
  const group = uuidv7();

  it('accepts the contract frames', () => {
    expect(parseClientFrame('{"type":"auth","token":"t"}')).toEqual({
      ok: true,
      frame: { type: 'auth', token: 't' },
    });
    expect(parseClientFrame(JSON.stringify({ type: 'subscribe', group_id: group }))).toEqual({
      ok: true,
      frame: { type: 'subscribe', group_id: group },
    });
    const after = uuidv7();
    expect(
      parseClientFrame(JSON.stringify({ type: 'subscribe', group_id: group.toUpperCase(), after })),
    ).toEqual({
      ok: true,
      frame: { type: 'subscribe', group_id: group, after },
    });
    expect(parseClientFrame(JSON.stringify({ type: 'subscribe', group_id: group, after: null }))).toEqual({
      ok: true,
      frame: { type: 'subscribe', group_id: group },
    });
    expect(parseClientFrame(JSON.stringify({ type: 'unsubscribe', group_id: group }))).toEqual({
      ok: true,
      frame: { type: 'unsubscribe', group_id: group },
    });
  });

  it('explains what is wrong with anything else, naming the group when it can', () => {
    for (const text of [
      '',
      'nope',
      '[]',
      'null',
      '1',
      '{}',
      '{"type":7}',
      '{"type":"auth"}',
      '{"type":"auth","token":""}',
      '{"type":"subscribe","group_id":"x"}',
    ]) {
      const result = parseClientFrame(text);
      expect(result.ok, text).toBe(false);
      if (!result.ok) expect(result.detail.length, text).toBeGreaterThan(0);
    }
    expect(
      parseClientFrame(JSON.stringify({ type: 'subscribe', group_id: group, after: 'x' })),
    ).toMatchObject({ ok: false, group_id: group });
    expect(parseClientFrame(JSON.stringify({ type: 'x'.repeat(500) }))).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/^unknown frame type "x{40}"$/),
    });
  });
});
