import { createHash } from 'node:crypto';
import { problems, type RateLimiter } from '@groupchat/service-kit';

/** One hit on a fixed-window counter of the shared rate limiter; over the limit: 429 with Retry-After. */
export async function enforceLimit(
  limiter: RateLimiter,
  key: string,
  limit: number,
  windowSeconds: number,
  detail = 'too many attempts; retry later',
): Promise<void> {
  const decision = await limiter.hit(key, limit, windowSeconds);
  if (!decision.allowed) throw problems.tooManyRequests(decision.retryAfterSeconds, detail);
}

/** Limiter keys name emails by hash, so the limiter's store (Redis) holds no addresses. */
export function emailKey(email: string): string {
  return createHash('sha256').update(email).digest('base64url');
}
