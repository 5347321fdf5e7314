import {
  GroupReadStateSchema,
  ReadMarkerBody,
  ReceiptsResponseSchema,
  UnreadResponseSchema,
} from '@groupchat/contract';
import type { HttpServer } from '@groupchat/service-kit';
import { Type } from 'typebox';
import { ChatScopes, requireUser, userSecurity } from '../auth/plugin.ts';
import { userRouteErrors, userScope } from '../auth/user-scope.ts';
import type { UserTokenVerifier } from '../auth/user-token-verifier.ts';
import type { ReadStateService } from './service.ts';

const GroupParams = Type.Object({ group_id: Type.String({ format: 'uuid', description: 'the group' }) });

/** Thin HTTP layer of read state: validation by schema, everything else in the service. */
export async function readStateRoutes(
  app: HttpServer,
  deps: { service: ReadStateService; verifier: UserTokenVerifier },
) {
  await app.register(async (plugin) => {
    const scope = userScope(plugin, deps.verifier);

    scope.put(
      '/api/chat/groups/:group_id/read',
      {
        schema: {
          tags: ['read state'],
          summary: 'Move the caller’s read marker',
          description:
            'The marker only moves forward: an older message leaves it where it is (200 either way, with the current state). When it moves, every WebSocket of the caller gets {"type":"read",…}. A message that is not one of the group’s: 404 message_not_found.',
          security: userSecurity(ChatScopes.write),
          params: GroupParams,
          body: ReadMarkerBody,
          response: { 200: GroupReadStateSchema, ...userRouteErrors },
        },
      },
      async (request) =>
        deps.service.markRead(requireUser(request), request.params.group_id, request.body.message_id),
    );

    scope.get(
      '/api/chat/unread',
      {
        schema: {
          tags: ['read state'],
          summary: 'Unread and mention counts of every group the caller belongs to',
          description:
            'Unread: messages (roots and replies) after the marker, not the caller’s own, not deleted; without a marker, all of them. mention_count: those that mention the caller.',
          security: userSecurity(ChatScopes.read),
          response: { 200: UnreadResponseSchema, ...userRouteErrors },
        },
      },
      async (request) => deps.service.unread(requireUser(request)),
    );

    scope.get(
      '/api/chat/groups/:group_id/receipts',
      {
        schema: {
          tags: ['read state'],
          summary: 'Members’ read markers in the group',
          security: userSecurity(ChatScopes.read),
          params: GroupParams,
          response: { 200: ReceiptsResponseSchema, ...userRouteErrors },
        },
      },
      async (request) => deps.service.receipts(requireUser(request), request.params.group_id),
    );
  });
}
