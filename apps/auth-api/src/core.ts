import { randomBytes } from 'node:crypto';
import type { EventBus, RateLimiter } from '@groupchat/service-kit';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { AuthConfig } from './config.ts';
import type { AuthDB } from './db/schema.ts';
import { createSigningKeyRepository } from './keys/repository.ts';
import { KeyService } from './keys/service.ts';
import { type AuthLimits, createAuthLimits } from './limits.ts';
import { PrincipalResolver } from './principal/resolver.ts';
import { createSessionRepository } from './sessions/repository.ts';
import { SessionService } from './sessions/service.ts';
import { TokenIssuer } from './tokens/issuer.ts';
import { RevocationList } from './tokens/revocations.ts';
import { TokenVerifier } from './tokens/verifier.ts';
import { PasswordHasher } from './users/passwords.ts';
import { createUserRepository, type UserRepository } from './users/repository.ts';

/** What the process provides: storage, messaging, logs, the clock. */
export interface AuthDeps {
  config: AuthConfig;
  db: Kysely<AuthDB>;
  bus: EventBus;
  rateLimiter: RateLimiter;
  logger: Logger;
  now?: () => number;
}

/**
 * The identity core every context builds on: keys, tokens, revocations, sessions, users and the
 * principal resolver. Contexts (identity, groups, oauth, clients) wire their own services from it.
 */
export interface AuthCore {
  config: AuthConfig;
  db: Kysely<AuthDB>;
  bus: EventBus;
  rateLimiter: RateLimiter;
  logger: Logger;
  now: () => number;
  keys: KeyService;
  revocations: RevocationList;
  tokenIssuer: TokenIssuer;
  tokenVerifier: TokenVerifier;
  sessions: SessionService;
  users: UserRepository;
  passwords: PasswordHasher;
  principals: PrincipalResolver;
  /** Every named limit of auth-api (limits.ts), shared across instances through Redis when configured. */
  limits: AuthLimits;
}

export function createAuthCore(deps: AuthDeps): AuthCore {
  const now = deps.now ?? Date.now;
  const { config, db, logger, bus } = deps;
  const keys = new KeyService({
    repository: createSigningKeyRepository(db),
    logger,
    maxTokenTtlSeconds: config.accessTokenTtlSeconds,
    publishAheadSeconds: config.keys.publishAheadSeconds,
    rotateEverySeconds: config.keys.rotateEverySeconds,
    // Resolved by boot (withKeySecret); a core built without it seals under a secret of this process only.
    encryptionSecret: config.keys.encryptionSecret ?? randomBytes(32).toString('base64url'),
    now,
  });
  const revocations = new RevocationList({
    db,
    bus,
    logger,
    pollMs: config.revocationPollMs,
    onKeyRemoved: (kid) => {
      keys.forget(kid);
      tokenVerifier.forgetVerified();
    },
  });
  const tokenIssuer = new TokenIssuer({
    keys,
    issuer: config.issuer,
    ttlSeconds: config.accessTokenTtlSeconds,
    now,
  });
  const tokenVerifier = new TokenVerifier({
    keys,
    revocations,
    issuer: config.issuer,
    audience: 'auth-api',
    now,
  });
  const sessions = new SessionService({
    repository: createSessionRepository(db),
    revocations,
    ttlSeconds: config.session.ttlSeconds,
    accessTokenTtlSeconds: config.accessTokenTtlSeconds,
    now,
  });
  const users = createUserRepository(db);
  const principals = new PrincipalResolver({
    verifier: tokenVerifier,
    sessions,
    users,
    cookieName: config.session.cookieName,
    allowedOrigins: config.allowedOrigins,
  });
  return {
    config,
    db,
    bus,
    rateLimiter: deps.rateLimiter,
    logger,
    now,
    keys,
    revocations,
    tokenIssuer,
    tokenVerifier,
    sessions,
    users,
    passwords: new PasswordHasher(config.argon2),
    principals,
    limits: createAuthLimits(deps.rateLimiter, config),
  };
}

/** Loads keys (creating the first), starts revocation polling and scheduled rotation. */
export async function startAuthCore(core: AuthCore): Promise<void> {
  await core.keys.start();
  await core.revocations.start();
}

export function stopAuthCore(core: AuthCore): void {
  core.keys.stop();
  core.revocations.stop();
}
