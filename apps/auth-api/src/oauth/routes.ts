import {
  AuthorizationServerMetadata,
  IntrospectionRequest,
  IntrospectionResponse,
  JwksResponse,
  oauthErrorSchema,
  RevocationRequest,
  TokenRequest,
  TokenResponse,
} from '@groupchat/contract';
import {
  HttpProblem,
  type HttpServer,
  isDatabaseUnavailable,
  isUnstorableText,
} from '@groupchat/service-kit';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { KeyService } from '../keys/service.ts';
import { readClientCredentials } from './client-authentication.ts';
import { InvalidRequest, OAuthError, ServerError, SlowDown, TemporarilyUnavailable } from './errors.ts';
import { OAUTH_PATHS } from './metadata.ts';
import type { OAuthService } from './service.ts';
import type { UserInfo } from './userinfo.ts';

const FORM = 'application/x-www-form-urlencoded';
/** Parameters RFC 8707 allows more than once; every other one must appear at most once (RFC 6749 §3.2). */
const REPEATABLE = new Set(['resource']);
const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' };

const errorResponses = {
  400: oauthErrorSchema('RFC 6749 §5.2 error: invalid_request, unauthorized_client, invalid_scope, …'),
  401: oauthErrorSchema('invalid_client, with WWW-Authenticate: Basic realm="auth-api"'),
  429: oauthErrorSchema('rate limited: slow_down, with Retry-After'),
};
const clientSecurity: { [label: string]: string[] }[] = [{ clientBasic: [] }, {}];

export interface OAuthRoutesDeps {
  service: OAuthService;
  keys: KeyService;
  metadata: AuthorizationServerMetadata;
  openidConfiguration: AuthorizationServerMetadata;
  userinfo: UserInfo;
  /** JWKS Cache-Control max-age: never longer than a new key is published before it signs. */
  jwksMaxAgeSeconds: number;
}

/**
 * The authorization server's HTTP surface. The discovery documents are plain GETs; the three /oauth/*
 * endpoints live in their own encapsulated plugin whose error handler is the one place that writes
 * RFC 6749 §5.2 error bodies (application/json), for our OAuthErrors as well as for validation,
 * content-type and unexpected errors.
 */
export async function registerOAuthRoutes(app: HttpServer, deps: OAuthRoutesDeps): Promise<void> {
  const { service, keys, metadata, openidConfiguration, userinfo, jwksMaxAgeSeconds } = deps;

  app.get(
    OAUTH_PATHS.metadata,
    {
      schema: {
        tags: ['oauth'],
        summary: 'RFC 8414 authorization server metadata',
        response: { 200: AuthorizationServerMetadata },
      },
    },
    async (_request, reply) => {
      reply.header('cache-control', 'public, max-age=300');
      return metadata;
    },
  );

  app.get(
    OAUTH_PATHS.openidConfiguration,
    {
      schema: {
        tags: ['oauth'],
        summary: 'OpenID Connect Discovery 1.0 (same issuer and endpoints as the RFC 8414 document)',
        response: { 200: AuthorizationServerMetadata },
      },
    },
    async (_request, reply) => {
      reply.header('cache-control', 'public, max-age=300');
      return openidConfiguration;
    },
  );

  app.get(
    OAUTH_PATHS.jwks,
    {
      schema: {
        tags: ['oauth'],
        summary: 'Public signing keys (RFC 7517)',
        response: { 200: JwksResponse },
      },
    },
    async (_request, reply) => {
      reply.header('cache-control', `public, max-age=${jwksMaxAgeSeconds}`);
      return keys.jwks();
    },
  );

  await app.register(
    async (instance) => {
      const oauth = instance as unknown as HttpServer;
      oauth.setErrorHandler((error: FastifyError, request, reply) => sendOAuthError(error, request, reply));
      // Under /oauth/ even a wrong method or an unknown path is answered the RFC 6749 way.
      oauth.setNotFoundHandler((request, reply) => {
        const path = request.url.split('?')[0] ?? '';
        const known = Object.values(OAUTH_PATHS).includes(path as never);
        if (known) reply.header('allow', 'POST');
        return sendOAuthError(
          new OAuthError(
            known ? 405 : 404,
            'invalid_request',
            known ? `${path} accepts POST only` : `no OAuth endpoint ${path.slice(0, 100)}`,
          ),
          request,
          reply,
        );
      });

      oauth.post(
        relative(OAUTH_PATHS.token),
        {
          preValidation: formParametersOnly,
          schema: {
            tags: ['oauth'],
            summary: 'Token endpoint: client_credentials grant (RFC 6749 §4.4)',
            description:
              'Client authentication: client_secret_basic or client_secret_post (one of them). ' +
              'Returns an RFC 9068 JWT access token; `aud` is auth-api unless `resource` names chat-api. ' +
              'Rate limited per client and per IP: 429 {"error":"slow_down"} with Retry-After.',
            consumes: [FORM],
            security: clientSecurity,
            body: TokenRequest,
            response: { 200: TokenResponse, ...errorResponses },
          },
        },
        async (request, reply) => {
          const body = request.body;
          const response = await service.token(
            body,
            () => readClientCredentials(request.headers.authorization, body),
            request.clientKey,
            request.headers.authorization !== undefined,
          );
          reply.headers(NO_STORE);
          return response;
        },
      );

      const userinfoSchema = {
        tags: ['oauth'],
        summary: 'OpenID Connect UserInfo: claims about the user of an access token with scope openid',
        description:
          '`sub` and `org_id`; `name` with scope profile; `email` and `email_verified` with scope email. ' +
          'Errors per RFC 6750 §3.1: 401 invalid_token (WWW-Authenticate: Bearer), 403 insufficient_scope.',
        security: [{ bearer: [] }],
        response: {
          200: Type.Object(
            { sub: Type.String(), org_id: Type.String() },
            { additionalProperties: true, description: 'the user’s claims' },
          ),
          401: oauthErrorSchema('invalid_token (WWW-Authenticate: Bearer)'),
          403: oauthErrorSchema('insufficient_scope: the token lacks openid'),
        },
      };
      const userinfoHandler = async (request: FastifyRequest, reply: FastifyReply) => {
        const claims = await userinfo.claims(request.headers.authorization);
        reply.headers(NO_STORE);
        return claims;
      };
      oauth.get(relative(OAUTH_PATHS.userinfo), { schema: userinfoSchema }, userinfoHandler);
      // POST may carry any (or no) body: the token is in the Authorization header.
      await oauth.register(async (scope) => {
        scope.removeAllContentTypeParsers();
        scope.addContentTypeParser('*', { parseAs: 'string' }, (_request, _body, done) =>
          done(null, undefined),
        );
        scope.post(relative(OAUTH_PATHS.userinfo), { schema: userinfoSchema }, userinfoHandler);
      });

      oauth.post(
        relative(OAUTH_PATHS.introspection),
        {
          preValidation: formParametersOnly,
          schema: {
            tags: ['oauth'],
            summary: 'Token introspection (RFC 7662); the caller authenticates as a client',
            consumes: [FORM],
            security: clientSecurity,
            body: IntrospectionRequest,
            response: { 200: IntrospectionResponse, ...errorResponses },
          },
        },
        async (request, reply) => {
          const body = request.body;
          const response = await service.introspect(
            body.token,
            () => readClientCredentials(request.headers.authorization, body),
            request.clientKey,
          );
          reply.headers(NO_STORE);
          return response;
        },
      );

      oauth.post(
        relative(OAUTH_PATHS.revocation),
        {
          preValidation: formParametersOnly,
          schema: {
            tags: ['oauth'],
            summary: 'Token revocation (RFC 7009): refused everywhere within 5 s',
            description:
              'A client revokes tokens issued to it (another client’s token: invalid_request). Unknown, ' +
              'malformed or expired tokens get the same 200 with an empty body.',
            consumes: [FORM],
            security: clientSecurity,
            body: RevocationRequest,
            response: {
              200: Type.String({
                maxLength: 0,
                description: 'revoked (or nothing to revoke): an empty body',
              }),
              ...errorResponses,
            },
          },
        },
        async (request, reply) => {
          const body = request.body;
          await service.revoke(
            body.token,
            () => readClientCredentials(request.headers.authorization, body),
            request.clientKey,
            { sentAuthorization: request.headers.authorization !== undefined, ...body },
          );
          return reply.code(200).headers(NO_STORE).type('text/plain; charset=utf-8').send('');
        },
      );
    },
    { prefix: OAUTH_PREFIX },
  );
}

const OAUTH_PREFIX = '/oauth';

function relative(path: string): string {
  return path.slice(OAUTH_PREFIX.length);
}

/** Form bodies only, each parameter once (except `resource`). Runs before schema validation. */
async function formParametersOnly(request: FastifyRequest): Promise<void> {
  const mediaType = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (mediaType !== FORM) throw new InvalidRequest(`the request body must be ${FORM}`);
  const body = request.body;
  if (body === undefined || body === null) {
    (request as { body: unknown }).body = {};
    return;
  }
  for (const [name, value] of Object.entries(body as Record<string, unknown>)) {
    if (Array.isArray(value) && !REPEATABLE.has(name))
      throw new InvalidRequest(`parameter "${name.slice(0, 50)}" is included more than once`);
  }
}

/** Anything thrown under /oauth/* becomes an RFC 6749 error body here, and only here. */
export function toOAuthError(error: unknown): OAuthError {
  if (error instanceof OAuthError) return error;
  if (error instanceof HttpProblem) {
    if (error.status === 429) return new SlowDown(Number(error.headers['retry-after'] ?? 1), error.detail);
    if (error.status >= 500) return new TemporarilyUnavailable(error.detail);
    return new InvalidRequest(error.detail);
  }
  const fastifyError = error as FastifyError;
  if (fastifyError?.validation) return new InvalidRequest(fastifyError.message);
  switch (fastifyError?.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new InvalidRequest(`the request body must be ${FORM}`);
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new OAuthError(413, 'invalid_request', 'the request body is too large');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new InvalidRequest(`the request body must be ${FORM}`);
    default:
      break;
  }
  if (isUnstorableText(error))
    return new InvalidRequest('parameters must not contain NUL (U+0000) characters');
  if (isDatabaseUnavailable(error))
    return new TemporarilyUnavailable('the database is unavailable, retry shortly');
  const status = fastifyError?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500)
    return new InvalidRequest(fastifyError.message || 'the request is malformed');
  return new ServerError();
}

function sendOAuthError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const oauthError = toOAuthError(error);
  if (oauthError.status >= 500)
    request.log.error(
      { err: error, event: 'oauth_request_failed', error: oauthError.error },
      'OAuth request failed',
    );
  return reply
    .code(oauthError.status)
    .headers({ ...oauthError.headers, ...NO_STORE })
    .type('application/json; charset=utf-8')
    .send(oauthError.toBody());
}
