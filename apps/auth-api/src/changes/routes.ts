import { type HttpServer, problems } from '@groupchat/service-kit';
import { Type } from 'typebox';
import type { AuthCore } from '../core.ts';
import { insufficientScope } from '../principal/errors.ts';
import { parseCursor, readChanges } from './repository.ts';

export const CHANGE_FEED_PATH = '/internal/change-feed';
const FEED_SCOPE = 'members:read';

/**
 * GET /internal/change-feed?cursor=&limit=: what a resource server must not miss (revoked tokens, ended
 * sessions, removed members and users, deleted or rotated clients, keys taken out), in commit order, for
 * services only (a client-credentials token with `members:read`). Events have the bus's own shapes, so a
 * consumer applies a replayed event exactly as a live one.
 */
export async function registerChangeFeed(app: HttpServer, core: AuthCore): Promise<void> {
  app.get(
    CHANGE_FEED_PATH,
    {
      onRequest: async (request) => {
        await core.principals.require(request);
      },
      schema: {
        tags: ['oauth'],
        summary: 'Change feed for resource servers (service tokens with members:read)',
        security: [{ bearer: [] }],
        querystring: Type.Object({
          cursor: Type.Optional(Type.String({ maxLength: 64 })),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
        }),
      },
    },
    async (request) => {
      const principal = await core.principals.require(request);
      if (principal.type !== 'service')
        throw problems.forbidden('the change feed is for services', 'service_required');
      if (!principal.scopes.has(FEED_SCOPE)) throw insufficientScope(FEED_SCOPE);
      const query = request.query as { cursor?: string; limit?: number };
      const after = parseCursor(query.cursor);
      if (!after) throw problems.badRequest('cursor is not a cursor of this feed', 'invalid_cursor');
      return readChanges(core.db, after, query.limit ?? 500);
    },
  );
}
