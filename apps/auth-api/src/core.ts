import { randomBytes } from 'node:crypto';
import type { EventBus, RateLimiter } from '@groupchat/service-kit';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { type AuditRepository, createAuditRepository } from './audit/repository.ts';
import type { AuthConfig } from './config.ts';
import { Argon2idHasher } from './crypto/argon2id.ts';
import type { AuthDB } from './db/schema.ts';
import { createGrantRepository } from './grants/repository.ts';
import { GrantService } from './grants/service.ts';
import { createSigningKeyRepository } from './keys/repository.ts';
import { KeyService } from './keys/service.ts';
import { type AuthLimits, createAuthLimits } from './limits.ts';
import { createOutboxRepository, type OutboxRepository } from './mail/outbox.ts';
import { MailSender } from './mail/sender.ts';
import { MailTemplates } from './mail/templates.ts';
import { PrincipalResolver } from './principal/resolver.ts';
import { createSessionRepository } from './sessions/repository.ts';
import { SessionService } from './sessions/service.ts';
import { TokenIssuer } from './tokens/issuer.ts';
import { createRevocationRepository } from './tokens/revocation-repository.ts';
import { RevocationService } from './tokens/revocations.ts';
import { TokenVerifier } from './tokens/verifier.ts';
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
  revocations: RevocationService;
  tokenIssuer: TokenIssuer;
  tokenVerifier: TokenVerifier;
  sessions: SessionService;
  users: UserRepository;
  hasher: Argon2idHasher;
  principals: PrincipalResolver;
  /** Every named limit of auth-api (limits.ts), shared across instances through Redis when configured. */
  limits: AuthLimits;
  /** OAuth grants (consents, codes, refresh tokens): shared by /oauth/*, the sign-in pages and logout. */
  grants: GrantService;
  audit: AuditRepository;
  mail: { outbox: OutboxRepository; sender: MailSender; templates: MailTemplates };
}

export function createAuthCore(deps: AuthDeps): AuthCore {
  const now = deps.now ?? Date.now;
  const { db, logger, bus } = deps;
  // Resolved by boot (withKeySecret); a core built without it seals under a secret of this process only.
  // One secret for everything sealed at rest: signing keys, TOTP secrets and queued mail (keys/at-rest.ts).
  const encryptionSecret = deps.config.keys.encryptionSecret ?? randomBytes(32).toString('base64url');
  const config: AuthConfig = { ...deps.config, keys: { ...deps.config.keys, encryptionSecret } };
  const keys = new KeyService({
    repository: createSigningKeyRepository(db),
    logger,
    maxTokenTtlSeconds: config.accessTokenTtlSeconds,
    publishAheadSeconds: config.keys.publishAheadSeconds,
    rotateEverySeconds: config.keys.rotateEverySeconds,
    encryptionSecret,
    now,
    audit: createAuditRepository(db),
  });
  const revocations = new RevocationService({
    repository: createRevocationRepository(db),
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
    revocations: revocations.list,
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
  const grants = new GrantService({
    repository: createGrantRepository(db),
    revocations,
    logger,
    codeTtlSeconds: config.authorization.codeTtlSeconds,
    refreshTokenTtlSeconds: config.authorization.refreshTokenTtlSeconds,
    accessTokenTtlSeconds: config.accessTokenTtlSeconds,
    now,
  });
  // Refresh tokens end with the sign-in session they were authorized in (logout).
  sessions.onEnd((sessionId) => grants.endForSession(sessionId));
  // A password reset ends every session: every app's grant for the user ends with them (a password
  // change keeps the current session, and the grants authorized in it).
  sessions.onAllEnded(async (userId, except) => {
    if (except === undefined) await grants.endForUser(userId);
  });
  const outbox = createOutboxRepository(db, encryptionSecret);
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
    hasher: new Argon2idHasher(config.argon2),
    principals,
    limits: createAuthLimits(deps.rateLimiter, config),
    grants,
    audit: createAuditRepository(db),
    mail: {
      outbox,
      sender: new MailSender({
        outbox,
        logger,
        from: config.mail.from,
        smtpUrl: config.mail.smtpUrl,
        dir: config.mail.dir,
        pollMs: config.mail.pollMs,
        retryBaseMs: config.mail.retryBaseMs,
        leaseSeconds: config.mail.leaseSeconds,
      }),
      templates: new MailTemplates(config.mail.publicWebUrl),
    },
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
