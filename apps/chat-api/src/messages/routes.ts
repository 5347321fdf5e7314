import { TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import {
  ChatEventPageSchema,
  EditMessageBody,
  ChatGroupParams as GroupParams,
  ListEventsQuery,
  ListMessagesQuery,
  ListRepliesQuery,
  MAX_EVENTS_PAGE,
  MessagePageSchema,
  ChatMessageParams as MessageParams,
  MessageSchema,
  MessageVersionsSchema,
  ChatReactionParams as ReactionParams,
  SendMessageBody,
} from '@groupchat/contract';
import { type HttpServer, problemResponses, problems, routeScope } from '@groupchat/service-kit';
import type { FastifyRequest } from 'fastify';
import { ChatScopes, registerUserPrincipal, userSecurity } from '../auth/plugin.ts';
import type { UserTokenVerifier } from '../auth/user-token-verifier.ts';
import { ChatLimits, limitHook } from '../limits.ts';
import type { MessageService } from './service.ts';

const errors = problemResponses({
  400: 'malformed id, query or body',
  401: 'no or invalid user access token (WWW-Authenticate: Bearer realm="chat-api")',
  403: 'not a member of the group, or the token lacks the scope the route needs (insufficient_scope)',
  404: 'no such group, or a group of another organization',
  429: 'a limit of the caller (or too many failed requests): retry after Retry-After seconds',
  503: 'database or auth-api unavailable; retry after Retry-After seconds',
});
const messageErrors = { ...errors, ...problemResponses({ 404: 'no such group or no such message in it' }) };
const conflict = (description: string) => problemResponses({ 409: description });

/** The schema's conversion would read "1.5" as 1; a page size is digits or nothing. */
const digitsOnlyLimit = (max: number) => async (request: FastifyRequest) => {
  const raw = (request.query as Record<string, unknown>).limit;
  if (raw !== undefined && !(typeof raw === 'string' && /^[0-9]{1,3}$/.test(raw))) {
    throw problems.badRequest(`limit must be an integer from 1 to ${max}`, 'validation_failed');
  }
};

/** Thin HTTP layer: validation by schema, authentication by hook, everything else in the service. */
export async function messageRoutes(
  app: HttpServer,
  deps: { service: MessageService; verifier: UserTokenVerifier; limits: ChatLimits },
) {
  const { service, limits } = deps;
  await routeScope(app, (scope) => {
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
    // An address that failed too often is refused before any work, a user right after authentication
    // (both from memory: no round trip); every 401/403/404 is counted afterwards.
    scope.addHook('onRequest', async (request) => limits.assertNotBlocked({ address: request.clientKey }));
    const requireUser = registerUserPrincipal(scope, deps.verifier);
    const callerId = (request: FastifyRequest) => (request.principal as { userId: string } | null)?.userId;
    scope.addHook('preHandler', async (request) => limits.assertNotBlocked({ userId: callerId(request) }));
    scope.addHook('onResponse', async (request, reply) => {
      if (!ChatLimits.isFailure(reply.statusCode)) return;
      // A token without the scope a route needs is the app's limit, not a probe of other groups: counting
      // it would let a read-only app lock its own user out of chat-api.
      if (String(reply.getHeader('www-authenticate') ?? '').includes('insufficient_scope')) return;
      await limits
        .recordFailure({ userId: callerId(request), address: request.clientKey })
        .catch((error) =>
          request.log.warn({ err: error, event: 'failure_count_failed' }, 'failure not counted'),
        );
    });

    const base = '/api/chat/groups/:group_id/messages';
    // The scope each route needs, documented and enforced by the principal hook.
    const read = userSecurity(ChatScopes.read);
    const write = userSecurity(ChatScopes.write);

    scope.post(
      base,
      {
        preHandler: limitHook(limits, 'message_post', 'message_post_minute'),
        schema: {
          tags: ['messages'],
          summary: 'Post a message or a reply (idempotent per client_message_id)',
          description:
            'Members of the group only. 201 with the stored message; the same client_message_id from the same sender again answers 200 with the first message and stores nothing. A 201 is durable (committed). `thread_root_id` makes a reply: the root must be a message of this group that is not deleted and not itself a reply (else 400 invalid_thread_root). `mentions`: at most 50 user ids; ids that are not members of the group are dropped.',
          security: write,
          params: GroupParams,
          body: SendMessageBody,
          response: { 200: MessageSchema, 201: MessageSchema, ...errors },
        },
      },
      async (request, reply) => {
        const user = requireUser(request);
        const { message, created } = await service.send(user, request.params.group_id, request.body);
        return reply.code(created ? 201 : 200).send(message);
      },
    );

    scope.get(
      base,
      {
        schema: {
          tags: ['messages'],
          summary: 'The timeline (root messages, tombstones included) by cursor',
          description:
            'Root messages only: replies are read by thread. Deleted messages stay as tombstones (content "", deleted_at set). No cursor or `before`: newest first, and next_cursor is the `before` of the next older page. `after`: oldest first, and next_cursor is the `after` of the next newer page. next_cursor is null at the end. A cursor is a message id. Giving both `before` and `after` is a 400.',
          security: read,
          params: GroupParams,
          querystring: ListMessagesQuery,
          response: { 200: MessagePageSchema, ...errors },
        },
        preValidation: digitsOnlyLimit(100),
      },
      async (request) => service.list(requireUser(request), request.params.group_id, request.query),
    );

    scope.get(
      `${base}/:message_id`,
      {
        schema: {
          tags: ['messages'],
          summary: 'One message',
          security: read,
          params: MessageParams,
          response: { 200: MessageSchema, ...messageErrors },
        },
      },
      async (request) =>
        service.get(requireUser(request), request.params.group_id, request.params.message_id),
    );

    scope.get(
      `${base}/:message_id/replies`,
      {
        schema: {
          tags: ['messages'],
          summary: "A thread's replies, oldest first",
          description:
            '`after`: a reply id (or a returned next_cursor); next_cursor is the `after` of the next page, null at the end. Deleted replies stay as tombstones.',
          security: read,
          params: MessageParams,
          querystring: ListRepliesQuery,
          response: { 200: MessagePageSchema, ...messageErrors },
        },
        preValidation: digitsOnlyLimit(100),
      },
      async (request) =>
        service.replies(
          requireUser(request),
          request.params.group_id,
          request.params.message_id,
          request.query,
        ),
    );

    scope.patch(
      `${base}/:message_id`,
      {
        preHandler: limitHook(limits, 'message_edit', 'message_edit_minute'),
        schema: {
          tags: ['messages'],
          summary: 'Edit a message (its sender only)',
          description:
            'Sets content (1..4000 after trimming) and edited_at; the previous content is kept as an earlier version until the message is deleted. `mentions`, when given, replaces the mentions. Another member: 403 not_message_sender. A deleted message: 409 message_deleted. The same content again changes nothing (no event).',
          security: write,
          params: MessageParams,
          body: EditMessageBody,
          response: { 200: MessageSchema, ...conflict('the message is deleted'), ...messageErrors },
        },
      },
      async (request) =>
        service.edit(requireUser(request), request.params.group_id, request.params.message_id, request.body),
    );

    scope.delete(
      `${base}/:message_id`,
      {
        schema: {
          tags: ['messages'],
          summary: 'Delete a message (its sender, or an owner/admin of the group)',
          description:
            'The content, mentions, reactions and every earlier version are erased from storage; the message stays as a tombstone (id, seq, sender_id, created_at, thread_root_id, deleted_at). 204, and 204 again for a deleted message. A deleted reply lowers its root’s reply_count.',
          security: write,
          params: MessageParams,
          response: { 204: { type: 'null', description: 'deleted' }, ...messageErrors },
        },
      },
      async (request, reply) => {
        await service.remove(requireUser(request), request.params.group_id, request.params.message_id);
        return reply.code(204).send(null as never);
      },
    );

    scope.get(
      `${base}/:message_id/versions`,
      {
        schema: {
          tags: ['messages'],
          summary: 'Earlier versions of an edited message (its sender, or an owner/admin of the group)',
          security: read,
          params: MessageParams,
          response: { 200: MessageVersionsSchema, ...messageErrors },
        },
      },
      async (request) =>
        service.versions(requireUser(request), request.params.group_id, request.params.message_id),
    );

    for (const method of ['PUT', 'DELETE'] as const) {
      const add = method === 'PUT';
      scope.route({
        method,
        url: `${base}/:message_id/reactions/:emoji`,
        preHandler: limitHook(limits, 'reaction'),
        schema: {
          tags: ['messages'],
          summary: add ? 'Add your reaction (idempotent)' : 'Remove your reaction (idempotent)',
          description: add
            ? '`emoji` is URL-encoded, 1 to 64 characters (no spaces or control characters). The same user and emoji twice counts once. At most 20 distinct emoji per message: another one is 409 too_many_reactions. A deleted message: 409 message_deleted.'
            : '200 with the message without the caller’s reaction (also when there was none).',
          security: write,
          params: ReactionParams,
          response: {
            200: MessageSchema,
            ...(add ? conflict('too many emoji, or deleted') : {}),
            ...messageErrors,
          },
        },
        handler: async (request) => {
          const params = request.params as { group_id: string; message_id: string; emoji: string };
          return service.react(requireUser(request), params.group_id, params.message_id, params.emoji, add);
        },
      });
    }

    scope.get(
      '/api/chat/groups/:group_id/events',
      {
        schema: {
          tags: ['messages'],
          summary: "The group's change log after a cursor, oldest first",
          description: `Every change of the group's messages is an event with a cursor (decimal digits, strictly increasing in the group): \`message\` for a new root or reply, \`message_updated\` for an edit, deletion, reaction change or reply-count change. Each event carries the message as it is now (a deleted message as its tombstone). \`cursor\` absent: from the start. \`limit\` 1..${MAX_EVENTS_PAGE}, default 100. next_cursor is the last event's cursor when the page is full (more may follow), null at the end. The same cursors are used by WebSocket frames and by subscribe {cursor}.`,
          security: read,
          params: GroupParams,
          querystring: ListEventsQuery,
          response: { 200: ChatEventPageSchema, ...errors },
        },
        preValidation: digitsOnlyLimit(MAX_EVENTS_PAGE),
      },
      async (request) => service.events(requireUser(request), request.params.group_id, request.query),
    );
  });
}
