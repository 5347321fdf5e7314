import type { ChatEventFrame } from '@groupchat/contract';
import { isUuid } from '@groupchat/service-kit';

/**
 * The WebSocket protocol of the contract (`/api/chat/ws`): JSON text frames.
 *
 * client → server: auth {token} (first frame; again later to extend an expiring token), subscribe
 * {group_id, cursor? | after?}, unsubscribe {group_id}.
 * server → client: ready {user_id}, subscribed {group_id, cursor?}, unsubscribed {group_id}, message
 * {message, cursor}, message_updated {message, cursor}, reset {group_id, cursor},
 * error {status, detail, group_id?}.
 */
export type ClientFrame =
  | { type: 'auth'; token: string }
  | { type: 'subscribe'; group_id: string; after?: string; cursor?: number }
  | { type: 'unsubscribe'; group_id: string };

export type ServerFrame =
  | { type: 'ready'; user_id: string }
  /** `cursor`: where live delivery starts, when the subscription gave no resume point. */
  | { type: 'subscribed'; group_id: string; cursor?: string }
  | { type: 'unsubscribed'; group_id: string }
  | ChatEventFrame
  /** `cursor`: live delivery continues after it (reload by REST up to there). */
  | { type: 'reset'; group_id: string; cursor?: string }
  | { type: 'error'; status: number; detail: string; group_id?: string };

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
      const hasCursor = frame.cursor !== undefined && frame.cursor !== null;
      const cursor = hasCursor ? parseCursor(frame.cursor) : undefined;
      if (hasCursor && cursor === undefined) return fail('cursor must be a string of decimal digits');
      if (cursor !== undefined && typeof frame.after === 'string')
        return fail('give either cursor or after, not both');
      const group_id = (frame.group_id as string).toLowerCase();
      if (cursor !== undefined) return { ok: true, frame: { type: 'subscribe', group_id, cursor } };
      return typeof frame.after === 'string'
        ? { ok: true, frame: { type: 'subscribe', group_id, after: frame.after.toLowerCase() } }
        : { ok: true, frame: { type: 'subscribe', group_id } };
    }
    case 'unsubscribe':
      if (!isUuid(frame.group_id)) return fail('unsubscribe needs a group_id (UUID)');
      return { ok: true, frame: { type: 'unsubscribe', group_id: (frame.group_id as string).toLowerCase() } };
    default:
      return fail(
        typeof frame.type === 'string'
          ? `unknown frame type "${frame.type.slice(0, 40)}"`
          : 'a frame needs a type',
      );
  }
}

/** A change-log cursor: decimal digits (a number is taken too, when it is a safe integer). */
function parseCursor(value: unknown): number | undefined {
  if (typeof value === 'string' && /^(0|[1-9][0-9]{0,15})$/.test(value)) return Number(value);
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  return undefined;
}

export function encode(frame: ServerFrame): string {
  return JSON.stringify(frame);
}
