import {
  AddMemberBody,
  CreateGroupBody,
  GroupListResponse,
  GroupParams,
  GroupSchema,
  ListGroupsQuery,
  MemberListResponse,
  MemberParams,
  MemberSchema,
  MembershipSchema,
  OpenDirectBody,
} from '@groupchat/contract';
import { type HttpServer, problemResponses } from '@groupchat/service-kit';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { PrincipalResolver } from '../principal/resolver.ts';
import type { GroupService } from './service.ts';

export interface GroupRouteDeps {
  groups: GroupService;
  principals: PrincipalResolver;
}

const userOrService: Record<string, string[]>[] = [{ session: [] }, { bearer: [] }];
const ACCESS_RULES =
  'Users (session cookie or user Bearer token): another organization’s group is 404, as if it did not ' +
  'exist; a group of their own organization they may not use is 403. Services (client-credentials ' +
  'Bearer token) need the scope named below, and act on any organization.';

/** Thin HTTP layer: authenticate, hand validated input to the service, shape the reply. */
export function groupRoutes(app: HttpServer, deps: GroupRouteDeps): void {
  const { groups, principals } = deps;
  // In onRequest, before body validation: an anonymous caller gets 401, not a lesson in our schemas.
  const authenticate = async (request: FastifyRequest) => {
    await principals.require(request);
  };

  app.post(
    '/api/auth/groups',
    {
      onRequest: authenticate,
      schema: {
        tags: ['groups'],
        summary: 'Create a group',
        description:
          'User: in the caller’s organization, the caller becoming its owner. Service: scope ' +
          'groups:write, and org_id is required (the group starts without members). ' +
          ACCESS_RULES,
        security: userOrService,
        body: CreateGroupBody,
        response: { 201: GroupSchema, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const group = await groups.create(await principals.require(request), request.body, request.ip);
      return reply.code(201).send(group);
    },
  );

  app.post(
    '/api/auth/direct-groups',
    {
      onRequest: authenticate,
      schema: {
        tags: ['groups'],
        summary: 'Open the direct conversation with a user',
        description:
          'Users only (a service token: 403). 201 with a new group of kind `direct`, name null and both ' +
          'users as members, or 200 with the existing one for the pair (whichever of the two asks). The ' +
          'other user must be in the caller’s organization, else 404 user_not_found; oneself is 400. ' +
          'A direct group takes no other members (POST …/members answers 409 direct_group_closed).',
        security: userOrService,
        body: OpenDirectBody,
        response: { 200: GroupSchema, 201: GroupSchema, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const { group, created } = await groups.openDirect(await principals.require(request), request.body);
      return reply.code(created ? 201 : 200).send(group);
    },
  );

  app.get(
    '/api/auth/groups',
    {
      onRequest: authenticate,
      schema: {
        tags: ['groups'],
        summary: 'List groups',
        description:
          'User: the groups the caller is a member of. Service: scope groups:read and ?org_id= ' +
          '(required, else 400): every group of that organization. ' +
          ACCESS_RULES,
        security: userOrService,
        querystring: ListGroupsQuery,
        response: { 200: GroupListResponse, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => ({ groups: await groups.list(await principals.require(request), request.query) }),
  );

  app.get(
    '/api/auth/groups/:group_id',
    {
      onRequest: authenticate,
      schema: {
        tags: ['groups'],
        summary: 'Read a group (members only; services: groups:read)',
        description: ACCESS_RULES,
        security: userOrService,
        params: GroupParams,
        response: { 200: GroupSchema, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => groups.get(await principals.require(request), request.params.group_id),
  );

  app.delete(
    '/api/auth/groups/:group_id',
    {
      onRequest: authenticate,
      schema: {
        tags: ['groups'],
        summary: 'Delete a group (its owner or an org admin; services: groups:write)',
        description: `Publishes member_removed for every member, then group_deleted. ${ACCESS_RULES}`,
        security: userOrService,
        params: GroupParams,
        response: { 204: Type.Null({ description: 'deleted' }), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      await groups.delete(await principals.require(request), request.params.group_id, request.ip);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/auth/groups/:group_id/members',
    {
      onRequest: authenticate,
      schema: {
        tags: ['groups'],
        summary: 'List a group’s members (members only; services: members:read)',
        description: ACCESS_RULES,
        security: userOrService,
        params: GroupParams,
        response: { 200: MemberListResponse, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => ({
      members: await groups.listMembers(await principals.require(request), request.params.group_id),
    }),
  );

  app.post(
    '/api/auth/groups/:group_id/members',
    {
      onRequest: authenticate,
      schema: {
        tags: ['groups'],
        summary: 'Add a member (group owner or org admin; services: groups:write)',
        description:
          'The user must belong to the group’s organization: an unknown user and a user of another ' +
          'organization both answer 404 user_not_found. Already a member: 409. role defaults to member. ' +
          ACCESS_RULES,
        security: userOrService,
        params: GroupParams,
        body: AddMemberBody,
        response: { 201: MemberSchema, ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      const caller = await principals.require(request);
      const member = await groups.addMember(caller, request.params.group_id, request.body, request.ip);
      return reply.code(201).send(member);
    },
  );

  app.get(
    '/api/auth/groups/:group_id/members/:user_id',
    {
      onRequest: authenticate,
      schema: {
        tags: ['groups'],
        summary: 'Check one membership (members only; services: members:read)',
        description: `200 with the membership and the group's org_id, or 404 when the user is not a member. ${ACCESS_RULES}`,
        security: userOrService,
        params: MemberParams,
        response: { 200: MembershipSchema, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) =>
      groups.getMember(await principals.require(request), request.params.group_id, request.params.user_id),
  );

  app.delete(
    '/api/auth/groups/:group_id/members/:user_id',
    {
      onRequest: authenticate,
      schema: {
        tags: ['groups'],
        summary: 'Remove a member (group owner, org admin, or the member itself; services: groups:write)',
        description: `Publishes member_removed after the commit. ${ACCESS_RULES}`,
        security: userOrService,
        params: MemberParams,
        response: { 204: Type.Null({ description: 'removed' }), ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      const caller = await principals.require(request);
      await groups.removeMember(caller, request.params.group_id, request.params.user_id, request.ip);
      return reply.code(204).send(null);
    },
  );
}
