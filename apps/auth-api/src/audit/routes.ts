import { AuditEventsQuery, AuditEventsResponse, OrgParams } from '@groupchat/contract';
import { type HttpServer, problemResponses } from '@groupchat/service-kit';
import type { FastifyRequest } from 'fastify';
import type { AuthCore } from '../core.ts';
import type { PrincipalResolver } from '../principal/resolver.ts';
import { AuditService } from './service.ts';

const description =
  'Oldest first; `after` takes a `next_cursor` (or an event’s `cursor`); `type` filters by event type. ' +
  'Events never carry a password, secret, token or code.';

export function auditRoutes(
  app: HttpServer,
  deps: { audit: AuditService; principals: PrincipalResolver },
): void {
  const { audit, principals } = deps;
  const authenticate = async (request: FastifyRequest) => {
    await principals.require(request);
  };
  app.get(
    '/api/auth/orgs/:org_id/audit-events',
    {
      onRequest: authenticate,
      schema: {
        tags: ['accounts'],
        summary: 'The organization’s audit log (owners and admins)',
        description,
        security: [{ session: [] }, { bearer: [] }],
        params: OrgParams,
        querystring: AuditEventsQuery,
        response: { 200: AuditEventsResponse, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) =>
      audit.listForOrg(await principals.require(request), request.params.org_id, request.query),
  );
  app.get(
    '/admin/audit-events',
    {
      onRequest: authenticate,
      schema: {
        tags: ['admin'],
        summary: 'The whole platform’s audit log (platform admin), with client and signing-key events',
        description,
        security: [{ session: [] }, { bearer: [] }],
        querystring: AuditEventsQuery,
        response: { 200: AuditEventsResponse, ...problemResponses(400, 401, 403) },
      },
    },
    async (request) => audit.listAll(await principals.require(request), request.query),
  );
}

export function registerAudit(app: HttpServer, core: AuthCore): void {
  auditRoutes(app, { audit: new AuditService(core.audit), principals: core.principals });
}
