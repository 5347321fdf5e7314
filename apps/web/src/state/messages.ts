/** Pure helpers for message lists: server order, merging without duplicates, ids. */
import type { Message } from '@groupchat/contract';

export interface Ordered {
  id: string;
  created_at: string;
}

/** Server order: by creation time, then id (UUIDv7 ids are time-ordered too). */
export function compareMessages(a: Ordered, b: Ordered): number {
  const ta = Date.parse(a.created_at);
  const tb = Date.parse(b.created_at);
  if (ta !== tb && !Number.isNaN(ta) && !Number.isNaN(tb)) return ta - tb;
  if (a.created_at !== b.created_at) return a.created_at < b.created_at ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** The union of both lists, each message once, in server order. `existing` is already ordered. */
export function mergeMessages(existing: readonly Message[], incoming: readonly Message[]): Message[] {
  if (incoming.length === 0) return existing as Message[];
  const last = existing[existing.length - 1];
  // Fast path for live delivery: one new message after everything we have.
  if (incoming.length === 1 && (!last || compareMessages(incoming[0]!, last) > 0)) {
    return [...existing, incoming[0]!];
  }
  const byId = new Map<string, Message>();
  for (const m of existing) byId.set(m.id, m);
  let added = false;
  for (const m of incoming) {
    if (!byId.has(m.id)) {
      byId.set(m.id, m);
      added = true;
    }
  }
  if (!added) return existing as Message[];
  return [...byId.values()].sort(compareMessages);
}

/** `message` in place of the one with its id (a change), or merged in when new. */
export function upsertMessage(existing: readonly Message[], message: Message): Message[] {
  const index = existing.findIndex((m) => m.id === message.id);
  if (index < 0) return mergeMessages(existing, [message]);
  const next = existing.slice();
  next[index] = message;
  return next;
}

/** Change-log cursors are decimal integers: compare them as such. */
export function cursorAfter(a: string, b: string | undefined): boolean {
  if (b === undefined) return true;
  return a.length !== b.length ? a.length > b.length : a > b;
}

export function newest<T extends Ordered>(items: readonly T[]): T | undefined {
  let best: T | undefined;
  for (const item of items) if (!best || compareMessages(item, best) > 0) best = item;
  return best;
}

export function oldest<T extends Ordered>(items: readonly T[]): T | undefined {
  let best: T | undefined;
  for (const item of items) if (!best || compareMessages(item, best) < 0) best = item;
  return best;
}

/** A random UUID v4; crypto.randomUUID only exists in secure contexts, getRandomValues everywhere. */
export function newClientMessageId(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
