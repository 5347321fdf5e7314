import { type ClientFrame, type ServerFrame, ServerFrameSchema } from '@groupchat/contract';
import { Value } from 'typebox/value';

/**
 * The WebSocket protocol as the browser speaks it: server frames are checked against the contract's
 * schemas before the app acts on them (a frame of another shape is ignored, never half-used), client
 * frames are typed by it. `Value.Check` interprets the schema: no code generation, which the page's
 * Content-Security-Policy (no 'unsafe-eval') would refuse.
 */
export function parseServerFrame(data: unknown): ServerFrame | null {
  if (typeof data !== 'string') return null;
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return null;
  }
  return Value.Check(ServerFrameSchema, value) ? value : null;
}

export function encodeClientFrame(frame: ClientFrame): string {
  return JSON.stringify(frame);
}
