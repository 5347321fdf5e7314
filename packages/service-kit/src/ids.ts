import { randomFillSync } from 'node:crypto';

const RANDOM_POOL_BYTES = 4096;
const randomPool = Buffer.alloc(RANDOM_POOL_BYTES);
let randomOffset = RANDOM_POOL_BYTES;

/**
 * UUID version 7 (RFC 9562): 48-bit Unix milliseconds, a 12-bit counter, then random bits.
 * Time-ordered ids keep b-tree inserts at the right edge of the index and sort like creation time,
 * also within one millisecond: the counter (RFC 9562 §6.2, method 1) starts at a random value below
 * 2048 each millisecond and counts up, so ids made one after another in a process sort in that order
 * (rows seeded in one transaction share a timestamp, and their ids are the only tie-breaker). When
 * the counter runs out, or the clock steps back, the timestamp moves on by one: never a repeat, never
 * out of order. The random bits come from a pool refilled 4 KiB at a time from the CSPRNG (as node's
 * randomUUID does): one randomBytes call per id showed up as a tenth of the token endpoint's CPU
 * (every token has a fresh `jti`).
 */
let lastMs = 0;
let counter = 0;

function drawRandom(bytes: number): number {
  if (randomOffset + bytes > RANDOM_POOL_BYTES) {
    randomFillSync(randomPool);
    randomOffset = 0;
  }
  const at = randomOffset;
  randomOffset += bytes;
  return at;
}

export function uuidv7(now = Date.now()): string {
  if (now > lastMs) {
    lastMs = now;
    counter = randomPool.readUInt16BE(drawRandom(2)) & 0x7ff;
  } else if (++counter > 0xfff) {
    lastMs += 1;
    counter = randomPool.readUInt16BE(drawRandom(2)) & 0x7ff;
  }
  const bytes = Buffer.allocUnsafe(16);
  bytes.writeUIntBE(lastMs, 0, 6);
  bytes[6] = 0x70 | (counter >> 8);
  bytes[7] = counter & 0xff;
  const at = drawRandom(8);
  randomPool.copy(bytes, 8, at, at + 8);
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID_PATTERN.test(value);
}
