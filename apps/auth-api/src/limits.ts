import { Limits, type RateLimiter } from '@groupchat/service-kit';
import type { AuthConfig } from './config.ts';

/**
 * Every limit of auth-api, by name (the contract's "Limits and production rules"). One table, checked
 * through service-kit's Limits (one Redis round trip for all the subjects of a request). A route plugs in
 * with `core.limits.check([['register_ip', request.clientKey], ['register_email', emailKey(email)]])`;
 * subjects are user ids, client ids, `request.clientKey` (the real address, IPv6 per /64) or `emailKey`
 * (a hash: the limiter's store holds no addresses).
 */
export function authLimitRules(config: AuthConfig) {
  const r = config.rateLimits;
  return {
    login_ip: { limit: r.loginPerIpPerMinute, windowSeconds: 60 },
    login_email: { limit: r.loginPerEmailPerMinute, windowSeconds: 60 },
    register_ip: { limit: r.registerPerIpPerHour, windowSeconds: 3600 },
    register_email: { limit: r.registerPerEmailPerHour, windowSeconds: 3600 },
  } as const;
}

export type AuthLimitName = keyof ReturnType<typeof authLimitRules>;
export type AuthLimits = Limits<AuthLimitName>;

export function createAuthLimits(limiter: RateLimiter, config: AuthConfig): AuthLimits {
  return new Limits(limiter, authLimitRules(config));
}
