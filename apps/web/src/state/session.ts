/**
 * The signed-in user and the access token. The token lives only in memory; the HttpOnly session
 * cookie is what survives a reload: at start-up and shortly before every expiry we trade it for a
 * fresh token at /api/auth/token/refresh.
 */

import type { LoginResponse as TokenResponse, LoginUser as User } from '@groupchat/contract';
import { acceptInvitation, isMfaChallenge, loginMfa, type MfaChallengeDto } from '../api/accounts.ts';
import { login, logout, type RegisterInput, refreshToken, register } from '../api/auth.ts';
import { ApiError, type TokenSource } from '../api/http.ts';
import { Store } from './store.ts';

export type SessionState =
  | { status: 'loading'; user: null; notice: string | null }
  | { status: 'signedOut'; user: null; notice: string | null }
  | { status: 'signedIn'; user: User; notice: string | null };

/** Refresh this long before expiry (or at 80 % of a short lifetime). */
const REFRESH_MARGIN_MS = 60_000;
/** getToken() refreshes first when the token has less than this left. */
const MIN_VALIDITY_MS = 15_000;
const RETRY_MS = 5_000;

export class SessionStore extends Store<SessionState> implements TokenSource {
  #token: string | null = null;
  #expiresAt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #refreshing: Promise<string | null> | null = null;
  #generation = 0;
  readonly #tokenListeners = new Set<(token: string) => void>();

  constructor() {
    super({ status: 'loading', user: null, notice: null });
  }

  /** On page load: a live session cookie signs us straight back in. */
  async bootstrap(): Promise<void> {
    await this.#refresh();
    if (this.state.status === 'loading') this.setState({ status: 'signedOut', user: null, notice: null });
  }

  /** Signs in, or returns the challenge of a two-factor sign-in (then call `loginMfa`). */
  async login(email: string, password: string): Promise<MfaChallengeDto | null> {
    const response: unknown = await login(email, password);
    if (isMfaChallenge(response)) return response;
    this.#accept(response as TokenResponse);
    return null;
  }

  async loginMfa(mfaToken: string, code: string): Promise<void> {
    this.#accept(await loginMfa(mfaToken, code));
  }

  /** Accepting an invitation signs the new user in. */
  async acceptInvitation(token: string, password: string, displayName: string): Promise<void> {
    this.#accept(await acceptInvitation(token, password, displayName));
  }

  /** After a change the server made to the user (email verified, two-factor on or off). */
  async reload(): Promise<void> {
    await this.#refresh();
  }

  async register(input: RegisterInput): Promise<void> {
    await register(input);
    this.#accept(await login(input.email, input.password));
  }

  async logout(): Promise<void> {
    const token = this.#token;
    this.#clear(null);
    try {
      await logout(token);
    } catch {
      // The local state is gone either way; the server session expires on its own.
    }
  }

  /** Ends the session locally, e.g. when the server no longer accepts it. */
  expire(notice = 'Your session has ended. Please sign in again.'): void {
    if (this.state.status === 'signedIn') this.#clear(notice);
  }

  // TokenSource
  async getToken(): Promise<string | null> {
    if (this.#token && this.#expiresAt - Date.now() > MIN_VALIDITY_MS) return this.#token;
    if (this.state.status !== 'signedIn') return this.#token;
    return this.#refresh();
  }

  renewToken(): Promise<string | null> {
    return this.#refresh();
  }

  onToken(listener: (token: string) => void): () => void {
    this.#tokenListeners.add(listener);
    return () => this.#tokenListeners.delete(listener);
  }

  #accept(response: TokenResponse): void {
    this.#generation++;
    this.#token = response.access_token;
    const lifetimeMs = Math.max(1, Number(response.expires_in) || 900) * 1000;
    this.#expiresAt = Date.now() + lifetimeMs;
    this.#schedule(Math.max(1_000, Math.min(lifetimeMs - REFRESH_MARGIN_MS, lifetimeMs * 0.8)));
    const user = response.user;
    const current = this.state.user;
    // Keep the same object when nothing changed, so React does not restart the chat for a refresh.
    const sameUser =
      current &&
      current.id === user.id &&
      current.display_name === user.display_name &&
      current.email === user.email &&
      current.role === user.role &&
      current.email_verified === user.email_verified &&
      current.mfa_enabled === user.mfa_enabled;
    this.setState({ status: 'signedIn', user: sameUser ? current : user, notice: null });
    for (const listener of this.#tokenListeners) listener(response.access_token);
  }

  #schedule(ms: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#refresh(), ms);
  }

  #clear(notice: string | null): void {
    this.#generation++;
    clearTimeout(this.#timer);
    this.#token = null;
    this.#expiresAt = 0;
    this.#refreshing = null;
    this.setState({ status: 'signedOut', user: null, notice });
  }

  /** Single flight: concurrent callers share one refresh request. */
  #refresh(): Promise<string | null> {
    if (this.#refreshing) return this.#refreshing;
    const generation = this.#generation;
    const promise = (async () => {
      try {
        const response = await refreshToken();
        if (generation !== this.#generation) return this.#token;
        this.#accept(response);
        return this.#token;
      } catch (error) {
        if (generation !== this.#generation) return this.#token;
        if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
          if (this.state.status === 'signedIn') this.#clear('Your session has ended. Please sign in again.');
          else if (this.state.status === 'loading')
            this.setState({ status: 'signedOut', user: null, notice: null });
          return null;
        }
        // Network trouble or a server hiccup: keep what we have and try again soon.
        if (this.state.status === 'loading') {
          this.setState({
            status: 'signedOut',
            user: null,
            notice: error instanceof ApiError ? error.detail : 'Could not reach the server.',
          });
        } else {
          this.#schedule(RETRY_MS);
        }
        return this.#token && this.#expiresAt > Date.now() ? this.#token : null;
      }
    })();
    this.#refreshing = promise;
    void promise.finally(() => {
      if (this.#refreshing === promise) this.#refreshing = null;
    });
    return promise;
  }
}
