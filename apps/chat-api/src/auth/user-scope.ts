import { type TypeBoxTypeProvider, TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import { problemResponses } from '@groupchat/service-kit';
import type { FastifyInstance } from 'fastify';
import { registerUserPrincipal } from './plugin.ts';
import type { UserTokenVerifier } from './user-token-verifier.ts';

/**
 * Prepares an encapsulated plugin scope for user REST routes: TypeBox validation (strict bodies,
 * converted query strings), JSON bodies only, and user authentication before validation.
 */
export function userScope(plugin: FastifyInstance, verifier: UserTokenVerifier) {
  const scope = plugin.withTypeProvider<TypeBoxTypeProvider>();
  scope.setValidatorCompiler(TypeBoxValidatorCompiler);
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser(
    'application/json',
    { parseAs: 'string' },
    scope.getDefaultJsonParser('error', 'error'),
  );
  registerUserPrincipal(plugin, verifier);
  return scope;
}

/** The error answers every user route documents. */
export const userRouteErrors = problemResponses({
  400: 'malformed id, query or body',
  401: 'no or invalid user access token (WWW-Authenticate: Bearer realm="chat-api")',
  403: 'not a member of the group, or the token lacks the scope the route needs (insufficient_scope)',
  404: 'no such group, or a group of another organization',
  429: 'too many requests; retry after Retry-After seconds',
  503: 'database or auth-api unavailable; retry after Retry-After seconds',
});
