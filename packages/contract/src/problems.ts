import { type Static, Type } from 'typebox';

/**
 * The one catalogue of problem `code`s (RFC 9457 problem+json, plus our `code` member) of both services.
 * A condition has one code wherever it happens: a client switches on `code` without knowing which
 * service answered. Every HttpProblem is built from a code of this list (service-kit types it so), so a
 * new condition is added here, once, with its status.
 *
 * The `/oauth/*` endpoints answer RFC 6749 `{error, error_description}` bodies instead (OAuthErrorCodes).
 */
export const ProblemCatalogue = {
  // Requests the schemas refuse (any route).
  validation_failed: { status: 400, detail: 'a body, query or path parameter failed validation' },
  malformed_body: { status: 400, detail: 'the request body is not valid JSON' },
  empty_body: { status: 400, detail: 'the request body is empty but its content type is JSON' },
  body_too_large: { status: 413, detail: 'the request body is too large' },
  unsupported_media_type: { status: 415, detail: 'the request body must be application/json' },
  request_error: { status: 400, detail: 'the request could not be handled as sent' },
  route_not_found: { status: 404, detail: 'no such route' },
  upgrade_required: { status: 426, detail: 'this endpoint speaks WebSocket only' },
  bad_url: { status: 400, detail: 'the request path is not valid percent-encoding' },

  // Who is calling (RFC 6750 challenges ride on these).
  authentication_required: { status: 401, detail: 'credentials are required (Authorization: Bearer …)' },
  invalid_token: { status: 401, detail: 'the access token is not acceptable' },
  invalid_session: { status: 401, detail: 'the session has expired or ended' },
  invalid_credentials: { status: 401, detail: 'the email or the password is wrong' },
  insufficient_scope: { status: 403, detail: 'the token lacks the scope this operation needs' },
  cross_site_request: { status: 403, detail: 'cross-site requests may not use the session cookie' },
  user_required: { status: 403, detail: 'this operation is for users; a service token cannot use it' },
  not_org_admin: { status: 403, detail: 'only an owner or admin of the organization may do this' },
  not_platform_admin: { status: 403, detail: 'this needs a platform administrator' },

  // Organizations, users, groups (auth-api; chat-api answers the group ones about the same groups).
  org_not_found: { status: 404, detail: 'no such organization' },
  user_not_found: { status: 404, detail: 'no such user' },
  email_taken: { status: 409, detail: 'a user with this email is already registered' },
  group_not_found: { status: 404, detail: 'no such group' },
  not_group_member: { status: 403, detail: 'only members of the group may do this' },
  not_group_manager: { status: 403, detail: 'only the group’s owner or an org admin may do this' },
  member_not_found: { status: 404, detail: 'the user is not a member of the group' },
  already_member: { status: 409, detail: 'the user is already a member of the group' },
  org_id_required: { status: 400, detail: 'a service must name the organization: org_id' },
  direct_group_closed: { status: 409, detail: 'a direct conversation takes no other members' },
  invalid_direct_peer: { status: 400, detail: 'a direct conversation needs another user' },

  // OAuth client administration.
  client_not_found: { status: 404, detail: 'no such OAuth client' },
  client_id_taken: { status: 409, detail: 'the client_id is already taken' },
  invalid_name: { status: 400, detail: 'the name must not be empty' },
  public_client_secret: { status: 400, detail: 'a public client has no secret' },
  invalid_grace: { status: 400, detail: 'grace_seconds is out of range' },
  weak_client_secret: { status: 400, detail: 'a supplied client secret is too short' },
  unknown_scope: { status: 400, detail: 'unknown scope' },
  unsupported_grant_type: { status: 400, detail: 'unsupported grant type' },
  invalid_client_id: { status: 400, detail: 'the client_id is not acceptable' },
  public_client_grant: { status: 400, detail: 'client_credentials is for confidential clients only' },
  invalid_redirect_uri: {
    status: 400,
    detail: 'a redirect URI is not acceptable (absolute, no fragment, https off loopback)',
  },
  redirect_uris_required: { status: 400, detail: 'the authorization_code grant needs a redirect URI' },
  refresh_without_code: { status: 400, detail: 'refresh_token comes with the authorization_code grant' },
  invalid_auth_method: { status: 400, detail: 'token_endpoint_auth_method does not fit the client type' },

  // Sign in with the platform (connected apps, the authorization endpoint's forms).
  connected_app_not_found: { status: 404, detail: 'this app is not connected to your account' },
  csrf_token_mismatch: { status: 403, detail: 'the form is missing its CSRF token' },

  // Accounts (auth-api): invitations, email verification, passwords, two-factor sign-in.
  invalid_account_token: { status: 400, detail: 'the link is invalid, used, revoked or expired' },
  invitation_not_found: { status: 404, detail: 'no such invitation' },
  wrong_current_password: { status: 400, detail: 'the current password is wrong' },
  invalid_mfa_code: { status: 401, detail: 'the code is wrong or was already used (400 when managing MFA)' },
  invalid_mfa_token: { status: 401, detail: 'the sign-in attempt expired or ended; sign in again' },
  mfa_already_enabled: { status: 409, detail: 'two-factor sign-in is already enabled' },
  mfa_not_set_up: { status: 409, detail: 'set up two-factor sign-in first' },
  mfa_not_enabled: { status: 409, detail: 'two-factor sign-in is not enabled' },

  // Messages (chat-api).
  invalid_content: { status: 400, detail: 'content must be 1 to 4000 characters after trimming' },
  invalid_client_message_id: { status: 400, detail: 'client_message_id is not acceptable' },
  invalid_cursor: { status: 400, detail: 'the cursor does not name a message of this group' },
  conflicting_cursors: { status: 400, detail: 'give either `before` or `after`, not both' },
  invalid_thread_root: {
    status: 400,
    detail: 'thread_root_id must name a root message of this group that is not deleted',
  },
  invalid_emoji: {
    status: 400,
    detail: 'an emoji is 1 to 64 characters without spaces or control characters',
  },
  message_not_found: { status: 404, detail: 'no such message in this group' },
  not_message_sender: { status: 403, detail: 'only the sender of the message may do this' },
  not_allowed_to_delete: {
    status: 403,
    detail: 'only its sender or an owner or admin of the group may delete a message',
  },
  message_deleted: { status: 409, detail: 'the message is deleted' },
  too_many_reactions: { status: 409, detail: 'a message takes at most 20 distinct emoji' },

  // Limits and dependencies.
  rate_limited: { status: 429, detail: 'too many requests, slow down' },
  password_hashing_busy: { status: 503, detail: 'too many passwords are being set right now; retry shortly' },
  metrics_unauthorized: { status: 401, detail: 'metrics need the configured bearer secret' },
  service_required: { status: 403, detail: 'this endpoint is for services (client-credentials tokens)' },
  not_ready: { status: 503, detail: 'a dependency is not usable' },
  database_unavailable: { status: 503, detail: 'the database is unavailable, retry shortly' },
  auth_api_unavailable: { status: 503, detail: 'auth-api is unavailable, retry shortly' },
  auth_keys_unavailable: { status: 503, detail: 'tokens cannot be verified right now, retry shortly' },
  internal_error: { status: 500, detail: 'an unexpected error occurred; it has been logged' },
} as const satisfies Record<string, { status: number; detail: string }>;

export type ProblemCode = keyof typeof ProblemCatalogue;
export const PROBLEM_CODES = Object.keys(ProblemCatalogue) as ProblemCode[];

export function isProblemCode(value: unknown): value is ProblemCode {
  return typeof value === 'string' && Object.hasOwn(ProblemCatalogue, value);
}

/**
 * Every error answer of the APIs: RFC 9457 problem details. `additionalProperties` keeps extension
 * members (e.g. `scope` on insufficient_scope, `checks` on not_ready) through serialisation.
 */
export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String({
      description: 'stable machine-readable error code (one catalogue for both services)',
    }),
    instance: Type.Optional(Type.String()),
  },
  { additionalProperties: true, description: 'application/problem+json (RFC 9457)' },
);
export type ProblemBody = Static<typeof ProblemSchema> & { [extension: string]: unknown };

/** RFC 6749 §5.2 error codes of the /oauth/* endpoints (bodies `{error, error_description}`). */
export const OAuthErrorCodes = [
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
  'invalid_target',
  'slow_down',
  'temporarily_unavailable',
  'server_error',
  // The authorization endpoint (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6), as redirect parameters.
  'access_denied',
  'unsupported_response_type',
  'login_required',
  'consent_required',
  'request_not_supported',
  'request_uri_not_supported',
  // UserInfo (RFC 6750 §3.1).
  'invalid_token',
  'insufficient_scope',
] as const;
export type OAuthErrorCode = (typeof OAuthErrorCodes)[number];

/** The RFC 6749 §5.2 error body, with a description of when it is sent (for the OpenAPI document). */
export function oauthErrorSchema(description = 'RFC 6749 §5.2 error (application/json, never problem+json)') {
  return Type.Object(
    {
      error: Type.String({ description: `one of ${OAuthErrorCodes.join(', ')}` }),
      error_description: Type.String(),
    },
    { description },
  );
}
export const OAuthErrorSchema = oauthErrorSchema();
export type OAuthErrorBody = Static<typeof OAuthErrorSchema>;
