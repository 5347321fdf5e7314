import {
  AcceptInvitationBody,
  ChangePasswordBody,
  CreateInvitationBody,
  ForgotPasswordBody,
  ForgotPasswordResponse,
  InvitationListResponse,
  InvitationParams,
  InvitationResponse,
  LoginMfaBody,
  MfaCodeBody,
  OrgParams,
  RecoveryCodesResponse,
  ResetPasswordBody,
  LoginResponse as TokenResponse,
  TotpSetupResponse,
  VerifyEmailBody,
} from '@groupchat/contract';
import { type HttpServer, problemResponses } from '@groupchat/service-kit';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { userRequired } from '../identity/errors.ts';
import { acceptEmptyJsonBody } from '../identity/routes.ts';
import type { IdentityService } from '../identity/service.ts';
import type { MfaService } from '../mfa/service.ts';
import type { UserPrincipal } from '../principal/principal.ts';
import type { PrincipalResolver } from '../principal/resolver.ts';
import { type SessionCookieSettings, setSessionCookie } from '../sessions/cookie.ts';
import type { AccountsService } from './service.ts';

export interface AccountRouteDeps {
  accounts: AccountsService;
  mfa: MfaService;
  identity: IdentityService;
  principals: PrincipalResolver;
  cookie: SessionCookieSettings;
}

const userAuth: Record<string, string[]>[] = [{ session: [] }, { bearer: [] }];
const NoContent = Type.Null({ description: 'done' });

/** Thin HTTP layer for invitations, email verification, passwords and two-factor sign-in. */
export async function accountRoutes(app: HttpServer, deps: AccountRouteDeps): Promise<void> {
  const { accounts, mfa, identity, principals, cookie } = deps;
  const authenticate = async (request: FastifyRequest) => {
    await principals.require(request);
  };
  const user = async (request: FastifyRequest): Promise<UserPrincipal> => {
    const caller = await principals.require(request);
    if (caller.type !== 'user') throw userRequired();
    return caller;
  };

  app.post(
    '/api/auth/orgs/:org_id/invitations',
    {
      onRequest: authenticate,
      schema: {
        tags: ['accounts'],
        summary: 'Invite someone to the organization by email (owners and admins)',
        description: 'Mails a link valid for 7 days. An email already registered: 409. Another org: 404.',
        security: userAuth,
        params: OrgParams,
        body: CreateInvitationBody,
        response: { 201: InvitationResponse, ...problemResponses(400, 401, 403, 404, 409, 429) },
      },
    },
    async (request, reply) => {
      const invitation = await accounts.invite(
        await principals.require(request),
        request.params.org_id,
        request.body,
        request.ip,
      );
      return reply.code(201).send({ invitation });
    },
  );

  app.get(
    '/api/auth/orgs/:org_id/invitations',
    {
      onRequest: authenticate,
      schema: {
        tags: ['accounts'],
        summary: 'The organization’s invitations, newest first, with their status',
        security: userAuth,
        params: OrgParams,
        response: { 200: InvitationListResponse, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => ({
      invitations: await accounts.listInvitations(await principals.require(request), request.params.org_id),
    }),
  );

  app.delete(
    '/api/auth/orgs/:org_id/invitations/:invitation_id',
    {
      onRequest: authenticate,
      schema: {
        tags: ['accounts'],
        summary: 'Revoke an invitation: its link stops working',
        security: userAuth,
        params: InvitationParams,
        response: { 204: NoContent, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request, reply) => {
      await accounts.revokeInvitation(
        await principals.require(request),
        request.params.org_id,
        request.params.invitation_id,
        request.ip,
      );
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/auth/invitations/accept',
    {
      schema: {
        tags: ['accounts'],
        summary: 'Accept an invitation: creates the user and signs in (the login response)',
        description: 'A token is good once, for 7 days; bad, used, revoked or expired: 400.',
        body: AcceptInvitationBody,
        response: { 201: TokenResponse, ...problemResponses(400, 403, 409, 429) },
      },
    },
    async (request, reply) => {
      principals.assertSameSite(request);
      const { response, cookieValue } = await accounts.acceptInvitation(request.body, request.ip);
      setSessionCookie(reply, cookie, cookieValue);
      return reply.code(201).header('cache-control', 'no-store').send(response);
    },
  );

  app.post(
    '/api/auth/email/verify',
    {
      schema: {
        tags: ['accounts'],
        summary: 'Confirm an email address with the token from the mail',
        body: VerifyEmailBody,
        response: { 204: NoContent, ...problemResponses(400, 429) },
      },
    },
    async (request, reply) => {
      await accounts.verifyEmail(request.body.token, request.ip);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/auth/password/forgot',
    {
      schema: {
        tags: ['accounts'],
        summary: 'Mail a password-reset link (the same answer whether or not the email exists)',
        body: ForgotPasswordBody,
        response: { 202: ForgotPasswordResponse, ...problemResponses(400, 429) },
      },
    },
    async (request, reply) => reply.code(202).send(await accounts.forgot(request.body.email, request.ip)),
  );

  app.post(
    '/api/auth/password/reset',
    {
      schema: {
        tags: ['accounts'],
        summary: 'Set a new password with the token from the mail; every session ends',
        description: 'A token is good once, for one hour. Every access token issued before is refused.',
        body: ResetPasswordBody,
        response: { 204: NoContent, ...problemResponses(400, 429) },
      },
    },
    async (request, reply) => {
      await accounts.reset(request.body, request.ip);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/auth/password/change',
    {
      onRequest: authenticate,
      schema: {
        tags: ['accounts'],
        summary: 'Change the caller’s password; the caller’s other sessions end',
        description: 'A wrong current password: 400 wrong_current_password.',
        security: userAuth,
        body: ChangePasswordBody,
        response: { 204: NoContent, ...problemResponses(400, 401, 403, 429) },
      },
    },
    async (request, reply) => {
      await accounts.changePassword(await user(request), request.body, request.ip);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/auth/login/mfa',
    {
      schema: {
        tags: ['accounts'],
        summary: 'The second step of a two-factor sign-in: the login response',
        description:
          '`code` is a TOTP code (±1 step, each accepted once) or a recovery code. Wrong: 401 ' +
          'invalid_mfa_code; after 5 wrong codes, or when expired: 401 invalid_mfa_token.',
        body: LoginMfaBody,
        response: { 200: TokenResponse, ...problemResponses(400, 401, 403, 429) },
      },
    },
    async (request, reply) => {
      principals.assertSameSite(request);
      const { response, cookieValue } = await identity.loginMfa(request.body, request.ip);
      setSessionCookie(reply, cookie, cookieValue);
      return reply.header('cache-control', 'no-store').send(response);
    },
  );

  await app.register(async (scope) => {
    acceptEmptyJsonBody(scope);
    scope.post(
      '/api/auth/mfa/totp/setup',
      {
        onRequest: authenticate,
        schema: {
          tags: ['accounts'],
          summary: 'Start two-factor setup: a new TOTP secret (not active until enabled)',
          security: userAuth,
          response: { 200: TotpSetupResponse, ...problemResponses(401, 403, 409) },
        },
      },
      async (request, reply) =>
        reply.header('cache-control', 'no-store').send(await mfa.setup(await user(request))),
    );
  });

  app.post(
    '/api/auth/mfa/totp/enable',
    {
      onRequest: authenticate,
      schema: {
        tags: ['accounts'],
        summary: 'Enable two-factor sign-in with a current code: 10 single-use recovery codes',
        security: userAuth,
        body: MfaCodeBody,
        response: { 200: RecoveryCodesResponse, ...problemResponses(400, 401, 403, 409, 429) },
      },
    },
    async (request, reply) =>
      reply
        .header('cache-control', 'no-store')
        .send(await mfa.enable(await user(request), request.body.code, request.ip)),
  );

  app.delete(
    '/api/auth/mfa/totp',
    {
      onRequest: authenticate,
      schema: {
        tags: ['accounts'],
        summary: 'Disable two-factor sign-in (a current TOTP code or a recovery code is required)',
        security: userAuth,
        body: MfaCodeBody,
        response: { 204: NoContent, ...problemResponses(400, 401, 403, 409, 429) },
      },
    },
    async (request, reply) => {
      await mfa.disable(await user(request), request.body.code, request.ip);
      return reply.code(204).send(null);
    },
  );
}
