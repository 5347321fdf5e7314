import { PresenceResponseSchema } from '@groupchat/contract';
import type { HttpServer } from '@groupchat/service-kit';
import { Type } from 'typebox';
import { ChatScopes, requireUser, userSecurity } from '../auth/plugin.ts';
import { userRouteErrors, userScope } from '../auth/user-scope.ts';
import type { UserTokenVerifier } from '../auth/user-token-verifier.ts';
import type { GroupDirectory } from '../groups/group-directory.ts';
import type { Presence } from './presence.ts';

const Uuid = Type.String({ format: 'uuid' });

/** GET /api/chat/groups/{g}/presence: members only, like reading the group. */
export async function presenceRoutes(
  app: HttpServer,
  deps: { presence: Presence; groups: GroupDirectory; verifier: UserTokenVerifier },
) {
  await app.register(async (plugin) => {
    const scope = userScope(plugin, deps.verifier);
    scope.get(
      '/api/chat/groups/:group_id/presence',
      {
        schema: {
          tags: ['live'],
          summary: 'Who is present in the group',
          description:
            'A user is present while at least one of their WebSockets is subscribed to the group, on any chat-api instance, and for 10 s after the last one left (a reconnect makes no flicker). Subscribers get {"type":"presence","group_id","user_id","status"} frames when it changes. Members only.',
          security: userSecurity(ChatScopes.read),
          params: Type.Object({ group_id: Uuid }),
          response: { 200: PresenceResponseSchema, ...userRouteErrors },
        },
      },
      async (request) => {
        const user = requireUser(request);
        const groupId = request.params.group_id.toLowerCase();
        await deps.groups.authorize({ id: user.userId, orgId: user.orgId }, groupId);
        return { online: (await deps.presence.online(groupId)).sort() };
      },
    );
  });
}
