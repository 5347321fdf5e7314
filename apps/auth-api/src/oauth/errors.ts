/**
 * OAuth 2.0 errors (RFC 6749 §5.2, RFC 7009 §2.2.1, RFC 8707 §2, RFC 6750 §3.1), node-oidc-provider
 * style: one class per `error` code. Services and checks throw them; the `/oauth/*` plugin's error
 * handler (routes.ts) is the one place that turns them, and anything else, into
 * `{error, error_description}` bodies (application/json, never problem+json).
 */
export class OAuthError extends Error {
  readonly status: number;
  readonly error: string;
  readonly headers: Record<string, string>;

  constructor(status: number, error: string, description: string, headers: Record<string, string> = {}) {
    super(description);
    this.name = 'OAuthError';
    this.status = status;
    this.error = error;
    this.headers = headers;
  }

  get description(): string {
    return this.message;
  }

  toBody(): { error: string; error_description: string } {
    return { error: this.error, error_description: this.message };
  }
}

export const CLIENT_REALM = 'auth-api';

/** Malformed request: missing or repeated parameter, wrong content type, two authentication methods. */
export class InvalidRequest extends OAuthError {
  constructor(description: string) {
    super(400, 'invalid_request', description);
  }
}

/**
 * Client authentication failed (unknown client, wrong or expired secret, no authentication). Always 401
 * with a Basic challenge, whichever method the client tried (the contract fixes this).
 */
export class InvalidClient extends OAuthError {
  constructor(description = 'client authentication failed') {
    super(401, 'invalid_client', description, { 'www-authenticate': `Basic realm="${CLIENT_REALM}"` });
  }
}

export class InvalidGrant extends OAuthError {
  constructor(description: string) {
    super(400, 'invalid_grant', description);
  }
}

/** The authenticated client may not use this grant type. */
export class UnauthorizedClient extends OAuthError {
  constructor(description: string) {
    super(400, 'unauthorized_client', description);
  }
}

export class UnsupportedGrantType extends OAuthError {
  constructor(description: string) {
    super(400, 'unsupported_grant_type', description);
  }
}

export class InvalidScope extends OAuthError {
  constructor(description: string) {
    super(400, 'invalid_scope', description);
  }
}

/** RFC 8707: the `resource` is unknown, malformed, or more than one was asked for. */
export class InvalidTarget extends OAuthError {
  constructor(description: string) {
    super(400, 'invalid_target', description);
  }
}

/**
 * Rate limited. RFC 6749 defines no error for this at the token endpoint; we answer 429 with
 * `slow_down` (the RFC 8628 code whose meaning is exactly "retry later, less often") and `Retry-After`.
 */
export class SlowDown extends OAuthError {
  constructor(retryAfterSeconds: number, description: string) {
    super(429, 'slow_down', description, { 'retry-after': String(retryAfterSeconds) });
  }
}

export class TemporarilyUnavailable extends OAuthError {
  constructor(description: string, retryAfterSeconds = 1) {
    super(503, 'temporarily_unavailable', description, { 'retry-after': String(retryAfterSeconds) });
  }
}

export class ServerError extends OAuthError {
  constructor(description = 'an unexpected error occurred; it has been logged') {
    super(500, 'server_error', description);
  }
}
