import { type TypeBoxTypeProvider, TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import {
  ChatGroupParams as GroupParams,
  ListMessagesQuery,
  MessagePageSchema,
  MessageSchema,
  SendMessageBody,
} from '@groupchat/contract';
import { type HttpServer, problemResponses, problems } from '@groupchat/service-kit';
import { requireUser, userAuthHook } from '../auth/plugin.ts';
import type { UserTokenVerifier } from '../auth/user-token-verifier.ts';
import { ChatLimits, limitHook } from '../limits.ts';
import type { MessageService } from './service.ts';

const errors = problemResponses({
  400: 'malformed id, query or body',
  401: 'no or invalid user access token (WWW-Authenticate: Bearer realm="chat-api")',
  403: 'not a member of the group',
  404: 'no such group, or a group of another organization',
  429: 'a limit of the caller (or too many failed requests): retry after Retry-After seconds',
  503: 'database or auth-api unavailable; retry after Retry-After seconds',
});

/** Thin HTTP layer: validation by schema, authentication by hook, everything else in the service. */
export async function messageRoutes(
  app: HttpServer,
  deps: { service: MessageService; verifier: UserTokenVerifier; limits: ChatLimits },
) {
  const { limits } = deps;
  await app.register(async (plugin) => {
    const scope = plugin.withTypeProvider<TypeBoxTypeProvider>();
    // TypeBox's own checker: request bodies are validated strictly (no coercion of 123 into "123");
    // querystring and params are converted from strings first.
    scope.setValidatorCompiler(TypeBoxValidatorCompiler);
    // JSON only: any other body type is a 415, not a string that fails validation.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      'application/json',
      { parseAs: 'string' },
      scope.getDefaultJsonParser('error', 'error'),
    );
    scope.decorateRequest('chatUser', null);
    // An address that failed too often is refused before any work, a user right after authentication
    // (both from memory: no round trip); every 401/403/404 is counted afterwards.
    scope.addHook('onRequest', async (request) => limits.assertNotBlocked({ address: request.clientKey }));
    scope.addHook('onRequest', userAuthHook(deps.verifier));
    scope.addHook('preHandler', async (request) =>
      limits.assertNotBlocked({ userId: request.chatUser?.userId }),
    );
    scope.addHook('onResponse', async (request, reply) => {
      if (!ChatLimits.isFailure(reply.statusCode)) return;
      await limits
        .recordFailure({ userId: request.chatUser?.userId, address: request.clientKey })
        .catch((error) =>
          request.log.warn({ err: error, event: 'failure_count_failed' }, 'failure not counted'),
        );
    });

    scope.post(
      '/api/chat/groups/:group_id/messages',
      {
        preHandler: limitHook(limits, 'message_post', 'message_post_minute'),
        schema: {
          tags: ['messages'],
          summary: 'Post a message (idempotent per client_message_id)',
          description:
            'Members of the group only. 201 with the stored message; the same client_message_id from the same sender again answers 200 with the first message and stores nothing. A 201 is durable (committed).',
          security: [{ bearerAuth: [] }],
          params: GroupParams,
          body: SendMessageBody,
          response: { 200: MessageSchema, 201: MessageSchema, ...errors },
        },
      },
      async (request, reply) => {
        const user = requireUser(request);
        const { message, created } = await deps.service.send(user, request.params.group_id, request.body);
        return reply.code(created ? 201 : 200).send(message);
      },
    );

    scope.get(
      '/api/chat/groups/:group_id/messages',
      {
        schema: {
          tags: ['messages'],
          summary: 'Read messages by cursor',
          description:
            'No cursor or `before`: newest first, and next_cursor is the `before` of the next older page. `after`: oldest first, and next_cursor is the `after` of the next newer page. next_cursor is null at the end. A cursor is a message id. Giving both `before` and `after` is a 400.',
          security: [{ bearerAuth: [] }],
          params: GroupParams,
          querystring: ListMessagesQuery,
          response: { 200: MessagePageSchema, ...errors },
        },
        // The schema's conversion would read "1.5" as 1; a page size is digits or nothing.
        preValidation: async (request) => {
          const raw = (request.query as Record<string, unknown>).limit;
          if (raw !== undefined && !(typeof raw === 'string' && /^[0-9]{1,3}$/.test(raw))) {
            throw problems.badRequest('limit must be an integer from 1 to 100', 'validation_failed');
          }
        },
      },
      async (request) => deps.service.list(requireUser(request), request.params.group_id, request.query),
    );
  });
}
