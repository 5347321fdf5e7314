import { type TypeBoxTypeProvider, TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { userAuthHook } from './plugin.ts';
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
  scope.decorateRequest('chatUser', null);
  scope.addHook('onRequest', userAuthHook(verifier));
  return scope;
}

const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: { $ref: 'Problem#' } } },
});

/** The error answers every user route documents. */
export const userRouteErrors = {
  400: problem('malformed id, query or body'),
  401: problem('no or invalid user access token (WWW-Authenticate: Bearer realm="chat-api")'),
  403: problem('not a member of the group'),
  404: problem('no such group, or a group of another organization'),
  429: problem('too many requests; retry after Retry-After seconds'),
  503: problem('database or auth-api unavailable; retry after Retry-After seconds'),
};
