import {
  AuthFrame,
  type ClientFrame,
  type ServerFrame,
  SubscribeFrame,
  TypingFrame,
  UnsubscribeFrame,
} from '@groupchat/contract';
import { Compile } from 'typebox/compile';

/**
 * The WebSocket protocol of the contract (`/api/chat/ws`): JSON text frames, whose shapes are the
 * contract's (chat-live.ts). This module parses client frames with those schemas, with an error
 * detail per frame type, and encodes server frames.
 */
const checks = {
  auth: { schema: Compile(AuthFrame), detail: 'auth needs a token' },
  subscribe: {
    schema: Compile(SubscribeFrame),
    detail:
      'subscribe needs a group_id (UUID); after must be a message id (UUID), cursor a string of decimal digits',
  },
  unsubscribe: { schema: Compile(UnsubscribeFrame), detail: 'unsubscribe needs a group_id (UUID)' },
  typing: { schema: Compile(TypingFrame), detail: 'typing needs a group_id (UUID)' },
} as const;

/** A client frame as the server acts on it: ids in lower case, a cursor as a number. */
export type ParsedFrame =
  | Exclude<ClientFrame, { type: 'subscribe' }>
  | { type: 'subscribe'; group_id: string; after?: string; cursor?: number };

export type ParseResult = { ok: true; frame: ParsedFrame } | { ok: false; detail: string; group_id?: string };

export function parseClientFrame(text: string): ParseResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, detail: 'frames must be JSON text' };
  }
  if (!value || typeof value !== 'object' || Array.isArray(value))
    return { ok: false, detail: 'a frame is a JSON object' };
  const frame = value as Record<string, unknown>;
  const groupId = typeof frame.group_id === 'string' ? frame.group_id : undefined;
  const fail = (detail: string): ParseResult =>
    groupId === undefined ? { ok: false, detail } : { ok: false, detail, group_id: groupId };
  if (typeof frame.type !== 'string') return fail('a frame needs a type');
  if (!Object.hasOwn(checks, frame.type)) return fail(`unknown frame type "${frame.type.slice(0, 40)}"`);
  const check = checks[frame.type as keyof typeof checks];
  if (!check.schema.Check(frame)) return fail(check.detail);
  // Ids are compared as stored (lower case); unknown members are dropped.
  const known = frame as ClientFrame;
  switch (known.type) {
    case 'auth':
      return { ok: true, frame: { type: 'auth', token: known.token } };
    case 'subscribe': {
      const group_id = known.group_id.toLowerCase();
      if (known.cursor !== undefined && known.cursor !== null) {
        if (typeof known.after === 'string') return fail('give either cursor or after, not both');
        const cursor = Number(known.cursor);
        if (!Number.isSafeInteger(cursor)) return fail('cursor is out of range');
        return { ok: true, frame: { type: 'subscribe', group_id, cursor } };
      }
      return typeof known.after === 'string'
        ? { ok: true, frame: { type: 'subscribe', group_id, after: known.after.toLowerCase() } }
        : { ok: true, frame: { type: 'subscribe', group_id } };
    }
    case 'unsubscribe':
      return { ok: true, frame: { type: 'unsubscribe', group_id: known.group_id.toLowerCase() } };
    case 'typing':
      return { ok: true, frame: { type: 'typing', group_id: known.group_id.toLowerCase() } };
  }
}

export function encode(frame: ServerFrame): string {
  return JSON.stringify(frame);
}
