import type { CLIENT_AUTH_METHODS } from '@groupchat/contract';
import { InvalidClient, InvalidRequest } from './errors.ts';

export type ClientAuthMethod = (typeof CLIENT_AUTH_METHODS)[number];

export interface PresentedClientCredentials {
  clientId: string;
  clientSecret: string;
  method: ClientAuthMethod;
}

const BASIC = /^Basic[ ]+([A-Za-z0-9+/]+={0,2})[ ]*$/i;

/**
 * Reads how the client authenticates: `client_secret_basic` (RFC 6749 §2.3.1: id and secret are each
 * application/x-www-form-urlencoded, joined by ":", then base64) or `client_secret_post` (client_id and
 * client_secret in the form body). Exactly one method: both at once is invalid_request; none at all is
 * invalid_client. Says nothing yet about whether the credentials are right.
 */
export function readClientCredentials(
  authorization: string | undefined,
  body: { client_id?: string | undefined; client_secret?: string | undefined },
): PresentedClientCredentials {
  if (authorization !== undefined) {
    const match = BASIC.exec(authorization);
    if (!match?.[1])
      throw new InvalidRequest(
        'the Authorization header of this endpoint must be "Basic <base64(client_id:client_secret)>"',
      );
    const decoded = Buffer.from(match[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new InvalidRequest('the Basic credentials must be client_id:client_secret');
    const clientId = formDecode(decoded.slice(0, colon));
    const clientSecret = formDecode(decoded.slice(colon + 1));
    if (body.client_secret !== undefined)
      throw new InvalidRequest(
        'client authentication must use one method only (Basic or client_secret in the body)',
      );
    if (body.client_id !== undefined && body.client_id !== clientId)
      throw new InvalidRequest('client_id in the body does not match the one in the Authorization header');
    if (!clientId || !clientSecret) throw new InvalidClient('client_id and client_secret must not be empty');
    return { clientId, clientSecret, method: 'client_secret_basic' };
  }
  if (body.client_secret !== undefined) {
    if (!body.client_id) throw new InvalidRequest('client_secret was sent without client_id');
    if (!body.client_secret) throw new InvalidClient('client_secret must not be empty');
    return { clientId: body.client_id, clientSecret: body.client_secret, method: 'client_secret_post' };
  }
  throw new InvalidClient(
    body.client_id !== undefined
      ? 'client authentication is required: client_secret_basic or client_secret_post'
      : 'no client authentication was provided: use client_secret_basic or client_secret_post',
  );
}

/** application/x-www-form-urlencoded decoding of one Basic credential part. */
function formDecode(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    throw new InvalidRequest(
      'client_id and client_secret in the Authorization header are not properly encoded',
    );
  }
}
