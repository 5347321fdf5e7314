import { randomBytes, timingSafeEqual } from 'node:crypto';
import { HttpProblem, type HttpServer, toProblem } from '@groupchat/service-kit';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { PrincipalResolver } from '../principal/resolver.ts';
import { type SessionCookieSettings, setSessionCookie } from '../sessions/cookie.ts';
import { errorPage, type Page } from './pages.ts';
import type { AuthorizeService, Outcome } from './service.ts';

const CSRF_COOKIE = 'oauth_csrf';
const CSRF_PATH = '/oauth/authorize';
const CSRF_VALUE = /^[A-Za-z0-9_-]{43}$/;

export interface AuthorizeRouteDeps {
  service: AuthorizeService;
  principals: PrincipalResolver;
  cookie: SessionCookieSettings;
  issuer: string;
}

const htmlResponse = (description: string) => Type.String({ description });
const formSchema = (summary: string, description: string) => ({
  tags: ['oauth'],
  summary,
  description,
  consumes: ['application/x-www-form-urlencoded'],
  response: {
    200: htmlResponse('the next page (HTML)'),
    303: Type.Null({ description: 'to the app’s redirect_uri with code, state and iss (or error)' }),
    400: htmlResponse('error page'),
    401: htmlResponse('the sign-in page again, with an error'),
    403: htmlResponse('a cross-site or CSRF-less submission'),
    429: htmlResponse('rate limited (Retry-After)'),
  },
});

/**
 * HTTP adapter of the authorization endpoint. Pages are HTML; forms are CSRF-protected twice: the
 * Fetch-metadata/Origin check every cookie-authenticated write here passes, and a double-submit token
 * (a random value in a SameSite=Strict, HttpOnly cookie scoped to /oauth/authorize, echoed in a hidden
 * field and compared in constant time).
 */
export async function registerAuthorizeRoutes(app: HttpServer, deps: AuthorizeRouteDeps): Promise<void> {
  const { service, principals, cookie, issuer } = deps;

  await app.register(async (scope) => {
    scope.setErrorHandler((error: FastifyError, request, reply) => {
      // The status every other route would answer (a body of the wrong type is a 415, broken JSON a
      // 400, a database outage a 503), shown as a page: a bad form is never a 500.
      const { status } = toProblem(error);
      if (status >= 500 && status !== 503)
        request.log.error({ err: error, event: 'authorize_failed' }, 'authorization endpoint failed');
      const message =
        status === 403
          ? 'This form was not submitted from this site. Go back to the application and start again.'
          : status >= 500
            ? 'Something went wrong on our side. Try again in a moment.'
            : 'The request could not be understood.';
      return sendPage(reply, errorPage(status, message));
    });

    const csrfFor = (request: FastifyRequest, reply: FastifyReply): string => {
      const current = readCookie(request, CSRF_COOKIE);
      const token = current && CSRF_VALUE.test(current) ? current : randomBytes(32).toString('base64url');
      reply.setCookie(CSRF_COOKIE, token, {
        httpOnly: true,
        sameSite: 'strict',
        path: CSRF_PATH,
        secure: cookie.secureCookie,
        maxAge: 3600,
      });
      return token;
    };
    // Our forms are served from the issuer's origin: that origin is always allowed here, whatever
    // ALLOWED_ORIGINS says for the JSON API (a web client on another origin).
    const issuerOrigin = new URL(issuer).origin;
    const checkForm = (request: FastifyRequest): Record<string, unknown> => {
      if (request.headers.origin !== issuerOrigin) principals.assertSameSite(request);
      else if (request.headers['sec-fetch-site'] === 'cross-site')
        throw new HttpProblem(403, 'cross_site_request', 'cross-site form submission');
      const body = (request.body ?? {}) as Record<string, unknown>;
      const sent = body.csrf_token;
      const expected = readCookie(request, CSRF_COOKIE);
      if (typeof sent !== 'string' || !expected || !constantTimeEqual(sent, expected))
        throw new HttpProblem(403, 'csrf_token_mismatch', 'the form is missing its CSRF token');
      return body;
    };

    scope.get(
      '/oauth/authorize',
      {
        schema: {
          tags: ['oauth'],
          summary: 'Authorization endpoint (RFC 6749 §4.1, PKCE S256 required, RFC 9207 iss, OIDC)',
          description:
            'response_type=code, client_id, redirect_uri (registered, exact match), scope, state, ' +
            'code_challenge with code_challenge_method=S256, optional nonce, prompt (none, login, consent), ' +
            'max_age. A bad client_id or redirect_uri gets an HTML error page (no redirect); other errors ' +
            'redirect with error, error_description, state and iss. Without a session: the sign-in page ' +
            '(inputs email and password; then the TOTP step for MFA users). Then, unless the client is ' +
            'first-party or the user already agreed to these scopes, the consent page (buttons ' +
            'name="decision" value="allow"/"deny"). Success: 302 to redirect_uri with code (single use, ' +
            '60 s), state and iss.',
          response: {
            200: htmlResponse('sign-in or consent page'),
            302: Type.Null({ description: 'to the redirect_uri' }),
            400: htmlResponse('error page: unknown client or unregistered redirect_uri'),
            429: htmlResponse('rate limited'),
          },
        },
      },
      async (request, reply) => {
        const outcome = await service.start(
          request.query as Record<string, unknown>,
          principals.cookieValue(request),
          csrfFor(request, reply),
          request.ip,
        );
        return send(reply, outcome, 302, cookie);
      },
    );

    scope.post(
      '/oauth/authorize/login',
      {
        schema: formSchema(
          'The sign-in form of the authorization endpoint',
          'email, password, csrf_token and the authorization request. Rate limited like POST /api/auth/login.',
        ),
      },
      async (request, reply) => {
        const form = checkForm(request);
        const outcome = await service.login(form, csrfFor(request, reply), request.ip);
        return send(reply, outcome, 303, cookie);
      },
    );

    scope.post(
      '/oauth/authorize/mfa',
      {
        schema: formSchema(
          'The two-factor step of the sign-in form',
          'mfa_token (from the sign-in step), code (TOTP or recovery code), csrf_token and the request.',
        ),
      },
      async (request, reply) => {
        const form = checkForm(request);
        const outcome = await service.mfa(form, csrfFor(request, reply), request.ip);
        return send(reply, outcome, 303, cookie);
      },
    );

    scope.post(
      '/oauth/authorize/consent',
      {
        schema: formSchema(
          'The consent form: decision=allow or decision=deny',
          'allow remembers the consent for this user and app (revocable under connected apps) and ' +
            'redirects with a code; deny redirects with error=access_denied.',
        ),
      },
      async (request, reply) => {
        const form = checkForm(request);
        const outcome = await service.consent(
          form,
          principals.cookieValue(request),
          csrfFor(request, reply),
          request.ip,
        );
        return send(reply, outcome, 303, cookie);
      },
    );
  });
}

function send(
  reply: FastifyReply,
  outcome: Outcome,
  redirectStatus: 302 | 303,
  cookie: SessionCookieSettings,
) {
  if (outcome.setSessionCookie !== undefined) setSessionCookie(reply, cookie, outcome.setSessionCookie);
  if (outcome.kind === 'page') return sendPage(reply, outcome.page);
  return reply
    .code(redirectStatus)
    .headers({
      location: outcome.location,
      'cache-control': 'no-store',
      pragma: 'no-cache',
      'referrer-policy': 'no-referrer',
    })
    .send();
}

function sendPage(reply: FastifyReply, page: Page) {
  return reply.code(page.status).headers(page.headers).send(page.html);
}

function readCookie(request: FastifyRequest, name: string): string | undefined {
  return (
    (request as FastifyRequest & { cookies?: Record<string, string | undefined> }).cookies?.[name] ||
    undefined
  );
}

function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
