import { HttpProblem, type RateLimiter } from '@groupchat/service-kit';
import type { ClientService } from '../clients/service.ts';
import type { GrantService } from '../grants/service.ts';
import type { IdentityService, LoginResult } from '../identity/service.ts';
import type { SessionRecord } from '../sessions/repository.ts';
import type { SessionService } from '../sessions/service.ts';
import type { UserRecord, UserRepository } from '../users/repository.ts';
import { consentPage, errorPage, mfaPage, type Page, signInPage } from './pages.ts';
import {
  AuthorizationPageError,
  AuthorizationRedirectError,
  type AuthorizationRequest,
  parseAuthorizationRequest,
  redirectWith,
} from './request.ts';

/** What the endpoint answers: a page, or a redirect (to the app, or back to ourselves). */
export type Outcome =
  | { kind: 'page'; page: Page; setSessionCookie?: string }
  | { kind: 'redirect'; location: string; setSessionCookie?: string };

export interface AuthorizeServiceDeps {
  clients: ClientService;
  grants: GrantService;
  identity: IdentityService;
  sessions: SessionService;
  users: UserRepository;
  rateLimiter: RateLimiter;
  issuer: string;
  pagesPerIpPerMinute: number;
  now: () => number;
}

/** The sign-in step's result: a session, or (two-factor users) a challenge for the code. */
type SignInResult = { kind: 'session'; cookieValue: string } | { kind: 'mfa'; mfaToken: string };

interface MfaLogin {
  loginMfa(input: { mfa_token: string; code: string }, ip: string): Promise<{ cookieValue: string }>;
}

function toSignInResult(result: unknown): SignInResult {
  const value = result as { kind?: string; cookieValue?: string; challenge?: { mfa_token?: string } };
  if (value.kind === 'mfa' && typeof value.challenge?.mfa_token === 'string')
    return { kind: 'mfa', mfaToken: value.challenge.mfa_token };
  if (typeof value.cookieValue !== 'string')
    throw new AuthorizationPageError(500, 'The sign-in could not be completed.');
  return { kind: 'session', cookieValue: value.cookieValue };
}

interface SignedIn {
  session: SessionRecord;
  user: UserRecord;
}

/**
 * The authorization endpoint (RFC 6749 §4.1, RFC 7636, RFC 9207, OIDC Core §3.1.2): validates the
 * request, signs the user in on auth-api's own page when there is no session, asks for consent unless
 * the app is first-party or the user already agreed to these scopes, then sends the browser back to
 * the app with a single-use code. Stateless between steps: every form carries the request, and every
 * step validates it again from scratch.
 */
export class AuthorizeService {
  readonly #deps: AuthorizeServiceDeps;

  constructor(deps: AuthorizeServiceDeps) {
    this.#deps = deps;
  }

  /** GET /oauth/authorize. */
  async start(
    raw: Record<string, unknown>,
    cookieValue: string | undefined,
    csrfToken: string,
    ip: string,
  ): Promise<Outcome> {
    return this.#guard(ip, async () => {
      const request = await this.#parse(raw);
      const signedIn = await this.#signedIn(cookieValue);
      const fresh =
        signedIn !== null &&
        !request.prompt.has('login') &&
        (request.maxAge === null ||
          this.#deps.now() - signedIn.session.createdAt.getTime() <= request.maxAge * 1000);
      if (!fresh) {
        if (request.prompt.has('none'))
          return this.#errorRedirect(
            new AuthorizationRedirectError(
              'login_required',
              'the user is not signed in',
              request.redirectUri,
              request.state,
            ),
          );
        return this.#signIn(request, csrfToken);
      }
      return this.#afterSignIn(request, signedIn, csrfToken);
    });
  }

  /** POST /oauth/authorize/login: the sign-in form (rate limited like POST /api/auth/login: it is that login). */
  async login(form: Record<string, unknown>, csrfToken: string, ip: string): Promise<Outcome> {
    return this.#guard(ip, async () => {
      const request = await this.#parse(form);
      const email = typeof form.email === 'string' ? form.email.slice(0, 320) : '';
      const password = typeof form.password === 'string' ? form.password.slice(0, 1024) : '';
      if (email.trim() === '' || password === '')
        return this.#signIn(request, csrfToken, {
          email,
          error: 'Enter your email and password.',
          status: 400,
        });
      let result: SignInResult;
      try {
        result = toSignInResult(await this.#deps.identity.login({ email, password }, ip));
      } catch (error) {
        if (error instanceof HttpProblem && error.status === 401)
          return this.#signIn(request, csrfToken, {
            email,
            error: 'The email or the password is wrong.',
            status: 401,
          });
        throw error;
      }
      if (result.kind === 'mfa') return this.mfaStep(request, csrfToken, result.mfaToken);
      return this.#completeSignIn(request, result.cookieValue, csrfToken);
    });
  }

  /** POST /oauth/authorize/mfa: the TOTP (or recovery) code of a user with two-factor sign-in. */
  async mfa(form: Record<string, unknown>, csrfToken: string, ip: string): Promise<Outcome> {
    return this.#guard(ip, async () => {
      const request = await this.#parse(form);
      const mfaToken = typeof form.mfa_token === 'string' ? form.mfa_token.slice(0, 512) : '';
      const code = typeof form.code === 'string' ? form.code.trim().slice(0, 64) : '';
      if (mfaToken === '') return this.#signIn(request, csrfToken, { error: 'Sign in again.', status: 400 });
      if (code === '') return this.mfaStep(request, csrfToken, mfaToken, 'Enter the code.');
      let cookieValue: string;
      try {
        ({ cookieValue } = await this.#deps.identity.loginMfa({ mfa_token: mfaToken, code }, ip));
      } catch (error) {
        if (error instanceof HttpProblem && error.status === 401)
          return this.mfaStep(
            request,
            csrfToken,
            mfaToken,
            'That code is not right (or the sign-in expired).',
          );
        throw error;
      }
      return this.#completeSignIn(request, cookieValue, csrfToken);
    });
  }

  async #completeSignIn(
    request: AuthorizationRequest,
    cookieValue: string,
    csrfToken: string,
  ): Promise<Outcome> {
    {
      const signedIn = await this.#signedIn(cookieValue);
      if (!signedIn) throw new AuthorizationPageError(500, 'The sign-in could not be completed.');
      const outcome = await this.#afterSignIn(request, signedIn, csrfToken);
      return { ...outcome, setSessionCookie: cookieValue };
    }
  }

  /** POST /oauth/authorize/consent: the user's decision, for the session that saw the page. */
  async consent(
    form: Record<string, unknown>,
    cookieValue: string | undefined,
    csrfToken: string,
    ip: string,
  ): Promise<Outcome> {
    return this.#guard(ip, async () => {
      const request = await this.#parse(form);
      const signedIn = await this.#signedIn(cookieValue);
      if (!signedIn) return this.#signIn(request, csrfToken, { error: 'Your session ended; sign in again.' });
      const decision = form.decision;
      if (decision === 'deny')
        return this.#errorRedirect(
          new AuthorizationRedirectError(
            'access_denied',
            'the user denied the request',
            request.redirectUri,
            request.state,
          ),
        );
      if (decision !== 'allow') throw new AuthorizationPageError(400, 'Choose Allow or Deny.');
      await this.#deps.grants.rememberConsent(signedIn.user.id, request.client.clientId, request.scopes);
      return this.#issueCode(request, signedIn);
    });
  }

  async #afterSignIn(request: AuthorizationRequest, signedIn: SignedIn, csrfToken: string): Promise<Outcome> {
    const { client } = request;
    const needsConsent =
      !client.firstParty &&
      (request.prompt.has('consent') ||
        !(await this.#deps.grants.consentCovers(signedIn.user.id, client.clientId, request.scopes)));
    if (!needsConsent) return this.#issueCode(request, signedIn);
    if (request.prompt.has('none'))
      return this.#errorRedirect(
        new AuthorizationRedirectError(
          'consent_required',
          'the user has not agreed to these scopes',
          request.redirectUri,
          request.state,
        ),
      );
    return {
      kind: 'page',
      page: consentPage({
        clientName: client.clientName,
        clientId: client.clientId,
        userEmail: signedIn.user.email,
        scopes: request.scopes,
        parameters: request.parameters,
        csrfToken,
        formTargets: [new URL(request.redirectUri).origin],
      }),
    };
  }

  async #issueCode(request: AuthorizationRequest, signedIn: SignedIn): Promise<Outcome> {
    const code = await this.#deps.grants.issueCode({
      userId: signedIn.user.id,
      clientId: request.client.clientId,
      sessionId: signedIn.session.id,
      scopes: request.scopes,
      authTime: signedIn.session.createdAt,
      redirectUri: request.redirectUri,
      codeChallenge: request.codeChallenge,
      nonce: request.nonce,
    });
    return {
      kind: 'redirect',
      location: redirectWith(request.redirectUri, { code, state: request.state, iss: this.#deps.issuer }),
    };
  }

  #signIn(
    request: AuthorizationRequest,
    csrfToken: string,
    extra: { email?: string; error?: string; status?: number } = {},
  ): Outcome {
    return {
      kind: 'page',
      page: signInPage({
        clientName: request.client.clientName,
        parameters: request.parameters,
        csrfToken,
        ...extra,
        formTargets: [new URL(request.redirectUri).origin],
      }),
    };
  }

  /** For the two-factor step (rendered when the sign-in needs a code). */
  mfaStep(request: AuthorizationRequest, csrfToken: string, mfaToken: string, error?: string): Outcome {
    return {
      kind: 'page',
      page: mfaPage({
        clientName: request.client.clientName,
        parameters: request.parameters,
        csrfToken,
        mfaToken,
        ...(error !== undefined ? { error, status: 401 } : {}),
        formTargets: [new URL(request.redirectUri).origin],
      }),
    };
  }

  #errorRedirect(error: AuthorizationRedirectError): Outcome {
    return {
      kind: 'redirect',
      location: redirectWith(error.redirectUri, {
        error: error.error,
        error_description: error.message,
        state: error.state,
        iss: this.#deps.issuer,
      }),
    };
  }

  #parse(raw: Record<string, unknown>): Promise<AuthorizationRequest> {
    return parseAuthorizationRequest(raw, (clientId) => this.#deps.clients.find(clientId));
  }

  async #signedIn(cookieValue: string | undefined): Promise<SignedIn | null> {
    if (cookieValue === undefined) return null;
    const session = await this.#deps.sessions.findByCookie(cookieValue);
    if (!session) return null;
    const user = await this.#deps.users.findById(session.userId);
    return user ? { session, user } : null;
  }

  /** Rate limit per address, then the step; request errors become a page or a redirect, as §4.1.2.1 says. */
  async #guard(ip: string, step: () => Promise<Outcome>): Promise<Outcome> {
    const decision = await this.#deps.rateLimiter.hit(
      `authorize:ip:${ip}`,
      this.#deps.pagesPerIpPerMinute,
      60,
    );
    if (!decision.allowed) {
      const page = errorPage(429, 'Too many attempts from your network. Wait a minute and try again.');
      return {
        kind: 'page',
        page: { ...page, headers: { ...page.headers, 'retry-after': String(decision.retryAfterSeconds) } },
      };
    }
    try {
      return await step();
    } catch (error) {
      if (error instanceof AuthorizationRedirectError) return this.#errorRedirect(error);
      if (error instanceof AuthorizationPageError)
        return { kind: 'page', page: errorPage(error.status, error.message) };
      if (error instanceof HttpProblem && error.status === 429) {
        const page = errorPage(429, 'Too many sign-in attempts. Wait a minute and try again.');
        return {
          kind: 'page',
          page: {
            ...page,
            headers: { ...page.headers, 'retry-after': error.headers['retry-after'] ?? '60' },
          },
        };
      }
      throw error;
    }
  }
}
