import type { Message } from '@groupchat/contract';
import { describe, expect, it } from 'vitest';
import { encodeClientFrame, parseServerFrame } from './frames.ts';

const GROUP = '0190c1a2-5b6c-7d8e-9f00-112233445566';
const message: Message = {
  id: '0190c1a2-5b6c-7d8e-9f00-aabbccddeeff',
  group_id: GROUP,
  org_id: '0190c1a2-5b6c-7d8e-9f00-000000000001',
  seq: 1,
  sender_id: '0190c1a2-5b6c-7d8e-9f00-000000000002',
  content: 'hello',
  client_message_id: null,
  created_at: '2026-12-01T22:00:00.000Z',
  thread_root_id: null,
  reply_count: 0,
  last_reply_at: null,
  edited_at: null,
  deleted_at: null,
  reactions: [],
  mentions: [],
};

describe('server frames', () => {
  it('accepts every frame of the protocol', () => {
    const frames = [
      { type: 'ready', user_id: message.sender_id },
      { type: 'subscribed', group_id: GROUP },
      { type: 'subscribed', group_id: GROUP, cursor: '0' },
      { type: 'unsubscribed', group_id: GROUP },
      { type: 'message', message, cursor: '1' },
      { type: 'message_updated', message: { ...message, edited_at: message.created_at }, cursor: '2' },
      { type: 'reset', group_id: GROUP },
      { type: 'reset', group_id: GROUP, cursor: '7' },
      { type: 'error', group_id: GROUP, status: 403, detail: 'removed' },
      { type: 'error', status: 400, detail: 'bad frame' },
    ];
    for (const frame of frames) expect(parseServerFrame(JSON.stringify(frame))).toEqual(frame);
  });

  it('ignores what is not a frame of the protocol, instead of half-using it', () => {
    const bad = [
      'not json',
      '[]',
      JSON.stringify({ type: 'message' }),
      JSON.stringify({ type: 'message', message: { ...message, seq: 'one' } }),
      JSON.stringify({ type: 'message', message: { ...message, sender_id: undefined } }),
      JSON.stringify({ type: 'subscribed', group_id: 'general' }),
      JSON.stringify({ type: 'error', group_id: GROUP, detail: 'no status' }),
      JSON.stringify({ type: 'surprise' }),
    ];
    for (const text of bad) expect(parseServerFrame(text), text).toBeNull();
    expect(parseServerFrame(new ArrayBuffer(4))).toBeNull();
  });
});

describe('client frames', () => {
  it('encodes the frames the server parses', () => {
    expect(JSON.parse(encodeClientFrame({ type: 'subscribe', group_id: GROUP, after: message.id }))).toEqual({
      type: 'subscribe',
      group_id: GROUP,
      after: message.id,
    });
    expect(JSON.parse(encodeClientFrame({ type: 'auth', token: 't' }))).toEqual({ type: 'auth', token: 't' });
  });
});
