import {
  ClientIdParams,
  ClientListSchema,
  ClientSchema,
  CreateClientBody,
  CreatedClientSchema,
  RotatedSecretSchema,
  RotateSecretBody,
} from '@groupchat/contract';
import { type HttpServer, problemResponses } from '@groupchat/service-kit';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { PrincipalResolver } from '../principal/resolver.ts';
import type { Actor, ClientService } from './service.ts';
import { clientView, createdView, summaryView } from './views.ts';

const errors = problemResponses({
  400: 'the body or a path parameter failed validation',
  401: 'no or bad credentials (WWW-Authenticate: Bearer)',
  403: 'not a platform admin (a client token needs scope admin:clients)',
});
const notFound = problemResponses({ 404: 'no such client' });
const security: { [label: string]: string[] }[] = [{ bearer: [] }, { session: [] }];

const actors = new WeakMap<FastifyRequest, Actor>();

/** HTTP adapter of the client registry: /admin/oauth/clients (platform admins only). */
export function registerClientRoutes(
  app: HttpServer,
  deps: { service: ClientService; principals: PrincipalResolver },
): void {
  const { service, principals } = deps;

  // Authentication and the admin check run before body validation: an outsider learns nothing about
  // the body format, and gets 401/403 rather than 400.
  const authorize = async (request: FastifyRequest) => {
    const actor = await principals.require(request);
    service.assertAdmin(actor);
    actors.set(request, actor);
  };
  const actorOf = (request: FastifyRequest): Actor => {
    const actor = actors.get(request);
    if (!actor) throw new Error('admin route without an authorized actor');
    return actor;
  };

  app.post(
    '/admin/oauth/clients',
    {
      preValidation: authorize,
      schema: {
        tags: ['admin'],
        summary: 'Register an OAuth client; its secret is returned once',
        description:
          'The secret is generated (256 random bits, base64url) unless supplied (at least 32 characters), ' +
          'returned in this answer only, and stored as an Argon2id hash.',
        security,
        body: CreateClientBody,
        response: {
          201: CreatedClientSchema,
          ...errors,
          ...problemResponses({ 409: 'the client_id is already taken' }),
        },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const created = await service.create(
        actorOf(request),
        {
          clientId: body.client_id,
          clientName: body.client_name,
          clientSecret: body.client_secret,
          clientType: body.client_type,
          allowedScopes: body.allowed_scopes,
          grantTypes: body.grant_types,
          redirectUris: body.redirect_uris,
          tokenEndpointAuthMethod: body.token_endpoint_auth_method,
          firstParty: body.first_party,
        },
        request.ip,
      );
      reply
        .code(201)
        .header('cache-control', 'no-store')
        .header('location', `/admin/oauth/clients/${encodeURIComponent(created.clientId)}`);
      return createdView(created);
    },
  );

  app.get(
    '/admin/oauth/clients',
    {
      preValidation: authorize,
      schema: {
        tags: ['admin'],
        summary: 'List OAuth clients (never their secrets)',
        security,
        response: { 200: ClientListSchema, 401: errors[401], 403: errors[403] },
      },
    },
    async (request) => ({ clients: (await service.list(actorOf(request))).map(summaryView) }),
  );

  app.get(
    '/admin/oauth/clients/:client_id',
    {
      preValidation: authorize,
      schema: {
        tags: ['admin'],
        summary: 'Read an OAuth client (never its secret)',
        security,
        params: ClientIdParams,
        response: { 200: ClientSchema, ...errors, ...notFound },
      },
    },
    async (request) => clientView(await service.get(actorOf(request), request.params.client_id)),
  );

  app.delete(
    '/admin/oauth/clients/:client_id',
    {
      preValidation: authorize,
      schema: {
        tags: ['admin'],
        summary: 'Delete an OAuth client: its secrets stop working at once',
        description:
          'The token endpoint refuses the client from this moment on every instance, and introspection ' +
          'reports its tokens inactive. Tokens already issued stay verifiable by resource servers until ' +
          'they expire (revoke them through /oauth/revoke to end them sooner).',
        security,
        params: ClientIdParams,
        response: {
          204: Type.Null({ description: 'deleted' }),
          ...errors,
          ...notFound,
        },
      },
    },
    async (request, reply) => {
      await service.delete(actorOf(request), request.params.client_id, request.ip);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/admin/oauth/clients/:client_id/secret',
    {
      preValidation: [
        authorize,
        async (request) => {
          // The body is optional: no body means an immediate rotation.
          if (request.body === undefined || request.body === null) (request as { body: unknown }).body = {};
        },
      ],
      schema: {
        tags: ['admin'],
        summary: 'Rotate the client secret; the new one is returned once',
        description:
          'The previous secret stops working at once, or after grace_seconds when given (so every ' +
          'instance of the client can switch first).',
        security,
        params: ClientIdParams,
        body: RotateSecretBody,
        response: { 200: RotatedSecretSchema, ...errors, ...notFound },
      },
    },
    async (request, reply) => {
      const rotated = await service.rotateSecret(
        actorOf(request),
        request.params.client_id,
        request.body.grace_seconds ?? 0,
        request.ip,
      );
      reply.header('cache-control', 'no-store');
      return {
        client_id: rotated.clientId,
        client_secret: rotated.clientSecret,
        client_secret_expires_at: 0,
        previous_secrets_expire_at: rotated.previousSecretsExpireAt.toISOString(),
      };
    },
  );
}
