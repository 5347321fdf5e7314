import { MessageSchema, SearchQuerySchema } from '@groupchat/contract';
import { type HttpServer, problems } from '@groupchat/service-kit';
import { Type } from 'typebox';
import { ChatScopes, requireUser, userSecurity } from '../auth/plugin.ts';
import { userRouteErrors, userScope } from '../auth/user-scope.ts';
import type { UserTokenVerifier } from '../auth/user-token-verifier.ts';
import { type ChatLimits, limitHook } from '../limits.ts';
import type { SearchService } from './service.ts';

const SearchPageSchema = Type.Object({
  messages: Type.Array(MessageSchema),
  next_cursor: Type.Union([Type.String(), Type.Null()], {
    description: 'pass as `before` for the next (older) page; null at the end',
  }),
});

export async function searchRoutes(
  app: HttpServer,
  deps: { service: SearchService; verifier: UserTokenVerifier; limits: ChatLimits },
) {
  await app.register(async (plugin) => {
    const scope = userScope(plugin, deps.verifier);
    scope.get(
      '/api/chat/search',
      {
        preHandler: limitHook(deps.limits, 'search'),
        schema: {
          tags: ['search'],
          summary: 'Search messages',
          description:
            'Messages of the groups the caller belongs to (or of `group_id` only) that contain every word of `q`, newest first. Case- and accent-insensitive, any script; a word may match as a prefix (`deplo` finds "deployment"); Chinese, Japanese and Korean text matches as a substring. Never another organization’s messages, never deleted ones; an edited message is found by its new words only. `q` is 1 to 200 characters.',
          security: userSecurity(ChatScopes.read),
          querystring: SearchQuerySchema,
          response: { 200: SearchPageSchema, ...userRouteErrors },
        },
        preValidation: async (request) => {
          const raw = (request.query as Record<string, unknown>).limit;
          if (raw !== undefined && !(typeof raw === 'string' && /^[0-9]{1,3}$/.test(raw)))
            throw problems.badRequest('limit must be an integer from 1 to 100', 'validation_failed');
          const q = (request.query as Record<string, unknown>).q;
          if (typeof q === 'string' && q.trim().length === 0)
            throw problems.badRequest('q must hold at least one non-space character', 'validation_failed');
        },
      },
      async (request) => deps.service.search(requireUser(request), request.query),
    );
  });
}
