import { isUuid } from '@groupchat/service-kit';
import type { MessageDto } from '../messages/schema.ts';

/**
 * The WebSocket protocol of the contract (`/api/chat/ws`): JSON text frames.
 *
 * client → server: auth {token} (first frame; again later to extend an expiring token), subscribe
 * {group_id, after?}, unsubscribe {group_id}, typing {group_id}.
 * server → client: ready {user_id}, subscribed {group_id}, unsubscribed {group_id}, message {message},
 * reset {group_id}, error {status, detail, group_id?}, typing {group_id, user_id}, presence {group_id,
 * user_id, status}, read {group_id, last_read_message_id, unread_count, mention_count}.
 */
export type ClientFrame =
  | { type: 'auth'; token: string }
  | { type: 'subscribe'; group_id: string; after?: string }
  | { type: 'unsubscribe'; group_id: string }
  | { type: 'typing'; group_id: string };

export type ServerFrame =
  | { type: 'ready'; user_id: string }
  | { type: 'subscribed'; group_id: string }
  | { type: 'unsubscribed'; group_id: string }
  | { type: 'message'; message: MessageDto }
  | { type: 'reset'; group_id: string }
  | { type: 'error'; status: number; detail: string; group_id?: string }
  | { type: 'typing'; group_id: string; user_id: string }
  | { type: 'presence'; group_id: string; user_id: string; status: 'online' | 'offline' }
  | {
      type: 'read';
      group_id: string;
      last_read_message_id: string | null;
      unread_count: number;
      mention_count: number;
    };

/** Close codes. 4401 is the contract's; the others are standard RFC 6455 codes. */
export const CloseCodes = {
  unauthorized: 4401,
  normal: 1000,
  goingAway: 1001,
  /** Slow consumer, or auth-api's keys unavailable: come back later. */
  tryAgainLater: 1013,
} as const;

export type ParseResult = { ok: true; frame: ClientFrame } | { ok: false; detail: string; group_id?: string };

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
  switch (frame.type) {
    case 'auth':
      if (typeof frame.token !== 'string' || frame.token.length === 0) return fail('auth needs a token');
      return { ok: true, frame: { type: 'auth', token: frame.token } };
    case 'subscribe': {
      if (!isUuid(frame.group_id)) return fail('subscribe needs a group_id (UUID)');
      if (frame.after !== undefined && frame.after !== null && !isUuid(frame.after))
        return fail('after must be a message id (UUID)');
      const group_id = (frame.group_id as string).toLowerCase();
      return typeof frame.after === 'string'
        ? { ok: true, frame: { type: 'subscribe', group_id, after: frame.after.toLowerCase() } }
        : { ok: true, frame: { type: 'subscribe', group_id } };
    }
    case 'unsubscribe':
      if (!isUuid(frame.group_id)) return fail('unsubscribe needs a group_id (UUID)');
      return { ok: true, frame: { type: 'unsubscribe', group_id: (frame.group_id as string).toLowerCase() } };
    case 'typing':
      if (!isUuid(frame.group_id)) return fail('typing needs a group_id (UUID)');
      return { ok: true, frame: { type: 'typing', group_id: (frame.group_id as string).toLowerCase() } };
    default:
      return fail(
        typeof frame.type === 'string'
          ? `unknown frame type "${frame.type.slice(0, 40)}"`
          : 'a frame needs a type',
      );
  }
}

export function encode(frame: ServerFrame): string {
  return JSON.stringify(frame);
}
