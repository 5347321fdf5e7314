import type { FastifyReply } from 'fastify';

export interface SessionCookieSettings {
  cookieName: string;
  ttlSeconds: number;
  secureCookie: boolean;
}

/**
 * The session cookie's attributes, in one place so setting and clearing always match (a browser only
 * drops a cookie when name, path and domain are the same). HttpOnly: scripts never see it. SameSite=Lax:
 * not sent on cross-site subrequests; cross-site top-level POSTs are refused by the Fetch-metadata check.
 */
function attributes(settings: SessionCookieSettings) {
  return {
    httpOnly: true,
    sameSite: 'lax' as const,
    path: '/',
    secure: settings.secureCookie,
  };
}

export function setSessionCookie(reply: FastifyReply, settings: SessionCookieSettings, value: string): void {
  reply.setCookie(settings.cookieName, value, { ...attributes(settings), maxAge: settings.ttlSeconds });
}

export function clearSessionCookie(reply: FastifyReply, settings: SessionCookieSettings): void {
  reply.clearCookie(settings.cookieName, attributes(settings));
}
