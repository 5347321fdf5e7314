import { KNOWN_SCOPES } from '@groupchat/contract';

import { type Env, EnvReader } from '@groupchat/service-kit';

/** A client declared in configuration, so a fresh start already knows it (no CLI step needed). */
export interface DeclaredClient {
  clientId: string;
  clientName: string;
  secret: string;
  scopes: string[];
}

export type AuthConfig = ReturnType<typeof loadAuthConfig>;

/** Parsed once at boot; a bad variable stops the start with a message naming it. */
export function loadAuthConfig(env: Env = process.env) {
  const read = new EnvReader(env);
  const port = read.int('PORT', 8000, { min: 0, max: 65535 });
  const issuer = (read.url('ISSUER', 'http://127.0.0.1:8000') ?? '').replace(/\/+$/, '');
  const databaseUrl = read.url('DATABASE_URL');
  const dataDir = read.string('DATA_DIR', './data/auth');
  const serviceClientSecret = read.string('SERVICE_CLIENT_SECRET');
  if (serviceClientSecret !== undefined && serviceClientSecret.length < 32) {
    read.problem('SERVICE_CLIENT_SECRET must be at least 32 characters');
  }
  const declaredClients: DeclaredClient[] = serviceClientSecret
    ? [
        {
          clientId: read.string('SERVICE_CLIENT_ID', 'chat-api-service'),
          clientName: 'Chat API service',
          secret: serviceClientSecret,
          scopes: read.list('SERVICE_CLIENT_SCOPES', ['groups:read', 'members:read']),
        },
      ]
    : [];
  for (const client of declaredClients) {
    for (const scope of client.scopes) {
      if (!(KNOWN_SCOPES as readonly string[]).includes(scope))
        read.problem(`SERVICE_CLIENT_SCOPES has unknown scope "${scope}"`);
    }
  }
  const config = {
    port,
    host: read.string('HOST', '127.0.0.1'),
    issuer,
    logLevel: read.oneOf('LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
    database: databaseUrl
      ? ({
          kind: 'postgres',
          url: databaseUrl,
          poolSize: read.int('DATABASE_POOL_SIZE', 10, { min: 1, max: 200 }),
        } as const)
      : ({ kind: 'pglite', dataDir: dataDir as string | null } as const),
    redisUrl: read.url('REDIS_URL'),
    /** Origins whose cookie-authenticated writes are accepted (Fetch-metadata CSRF defence). */
    allowedOrigins: read.list('ALLOWED_ORIGINS', [
      issuer,
      'http://127.0.0.1:8080',
      'http://localhost:8080',
      'http://localhost:8000',
      'http://127.0.0.1:8000',
    ]),
    accessTokenTtlSeconds: read.int('ACCESS_TOKEN_TTL_SECONDS', 900, { min: 30, max: 86_400 }),
    session: {
      cookieName: read.string('SESSION_COOKIE_NAME', 'sid'),
      ttlSeconds: read.int('SESSION_TTL_SECONDS', 7 * 24 * 3600, { min: 60 }),
      secureCookie: read.bool('SESSION_COOKIE_SECURE', issuer.startsWith('https://')),
    },
    keys: {
      /** How long a new key is published in JWKS before it signs: resource servers caching JWKS see it first. */
      publishAheadSeconds: read.int('SIGNING_KEY_PUBLISH_AHEAD_SECONDS', 300, { min: 0 }),
      /** Rotate automatically when the active key is this old (0: only by command). */
      rotateEverySeconds: read.int('SIGNING_KEY_ROTATE_EVERY_SECONDS', 0, { min: 0 }),
      /** Optional secret that encrypts private keys at rest (AES-256-GCM); recommended in production. */
      encryptionSecret: read.string('SIGNING_KEY_ENCRYPTION_SECRET'),
    },
    /** Namespace of the rate-limit counters in Redis (tests use their own, so runs never share counters). */
    rateLimitKeyPrefix: read.string('RATE_LIMIT_KEY_PREFIX', 'auth-rl:'),
    rateLimits: {
      loginPerIpPerMinute: read.int('RATE_LIMIT_LOGIN_PER_IP', 30, { min: 1 }),
      loginPerEmailPerMinute: read.int('RATE_LIMIT_LOGIN_PER_EMAIL', 10, { min: 1 }),
      tokenPerClientPerMinute: read.int('RATE_LIMIT_TOKEN_PER_CLIENT', 600, { min: 1 }),
      tokenPerIpPerMinute: read.int('RATE_LIMIT_TOKEN_PER_IP', 1200, { min: 1 }),
      /** Argon2id client-secret checks per IP (unknown client, wrong or not yet verified secret). */
      clientAuthPerIpPerMinute: read.int('RATE_LIMIT_CLIENT_AUTH_PER_IP', 60, { min: 1 }),
      /** Password forgot/reset, invitation accept and email verification, per client IP. */
      accountPerIpPerMinute: read.int('RATE_LIMIT_ACCOUNT_PER_IP', 30, { min: 1 }),
      /** Password-forgot mails per email address (hashed key) per hour. */
      forgotPerEmailPerHour: read.int('RATE_LIMIT_FORGOT_PER_EMAIL', 5, { min: 1 }),
      /** MFA codes (login second step, enable, disable) per client IP and per user. */
      mfaPerIpPerMinute: read.int('RATE_LIMIT_MFA_PER_IP', 30, { min: 1 }),
      mfaPerUserPerMinute: read.int('RATE_LIMIT_MFA_PER_USER', 10, { min: 1 }),
      /** Invitations sent per org admin per hour. */
      invitationsPerUserPerHour: read.int('RATE_LIMIT_INVITATIONS_PER_USER', 100, { min: 1 }),
    },
    mail: {
      /** smtp://[user:password@]host:port; absent: mails are written as .eml files under `dir`. */
      smtpUrl: read.url('SMTP_URL'),
      from: read.string('MAIL_FROM', 'GroupChat <no-reply@groupchat.localhost>'),
      /** Links in mails start here (the web client). */
      publicWebUrl: (read.url('PUBLIC_WEB_URL', 'http://127.0.0.1:8080') ?? '').replace(/\/+$/, ''),
      dir: read.string('MAIL_DIR', `${dataDir}/mail`),
      /** How often an idle sender looks for due mail (new mail is also sent at once after its commit). */
      pollMs: read.int('MAIL_POLL_MS', 1000, { min: 20, max: 60_000 }),
      /** First retry delay after a temporary failure; doubles per attempt, capped at 30 s. */
      retryBaseMs: read.int('MAIL_RETRY_BASE_MS', 2000, { min: 10, max: 30_000 }),
      /** How long a claimed mail is reserved for one sender before another instance may take it. */
      leaseSeconds: read.int('MAIL_LEASE_SECONDS', 60, { min: 1, max: 3600 }),
    },
    demo: {
      seed: read.bool('SEED_DEMO_DATA', databaseUrl === undefined),
      password: read.string('DEMO_PASSWORD', 'correct-horse-battery-staple'),
    },
    declaredClients,
    revocationPollMs: read.int('REVOCATION_POLL_MS', 1000, { min: 100, max: 5000 }),
  };
  if (config.demo.password.length < 8) read.problem('DEMO_PASSWORD must be at least 8 characters');
  return read.finish(config);
}
