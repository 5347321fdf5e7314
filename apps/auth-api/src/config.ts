import { KNOWN_SCOPES } from '@groupchat/contract';
import { deriveProfile, type Env, EnvReader, readOperations } from '@groupchat/service-kit';

/** The demo password of the embedded start; refused anywhere else (see `profile`). */
export const DEFAULT_DEMO_PASSWORD = 'correct-horse-battery-staple';

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
  const host = read.string('HOST', '127.0.0.1');
  const redisUrl = read.url('REDIS_URL');
  const webUrl = (read.url('PUBLIC_WEB_URL', 'http://127.0.0.1:8080') ?? '').replace(/\/+$/, '');
  const profile = deriveProfile({ databaseUrl, redisUrl, host, publicUrls: [issuer, env.PUBLIC_WEB_URL] });
  const operations = readOperations(read, { profile, host });
  const secureCookie = read.bool('SESSION_COOKIE_SECURE', issuer.startsWith('https://'));
  const encryptionSecret = read.string('SIGNING_KEY_ENCRYPTION_SECRET');
  if (profile === 'production' && encryptionSecret === undefined)
    read.problem(
      'SIGNING_KEY_ENCRYPTION_SECRET is required outside the embedded demo start (it encrypts the private signing keys at rest)',
    );
  if (encryptionSecret !== undefined && encryptionSecret.length < 32)
    read.problem('SIGNING_KEY_ENCRYPTION_SECRET must be at least 32 characters');
  const config = {
    port,
    host,
    issuer,
    /** `demo` only for the embedded start on loopback; see deriveProfile. */
    profile,
    operations,
    logLevel: read.oneOf('LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
    database: databaseUrl
      ? ({
          kind: 'postgres',
          url: databaseUrl,
          poolSize: read.int('DATABASE_POOL_SIZE', 10, { min: 1, max: 200 }),
        } as const)
      : ({ kind: 'pglite', dataDir: dataDir as string | null } as const),
    redisUrl,
    /** Public URL of the web client (links in mails, the default allowed origin). */
    webUrl,
    /** Origins whose cookie-authenticated writes are accepted (Fetch-metadata CSRF defence): by default
     * the issuer and the web client only. */
    allowedOrigins: read.list('ALLOWED_ORIGINS', [...new Set([issuer, webUrl])]),
    accessTokenTtlSeconds: read.int('ACCESS_TOKEN_TTL_SECONDS', 900, { min: 30, max: 86_400 }),
    session: {
      // `__Host-`: the browser keeps it only when Secure, Path=/ and without Domain, so no sibling
      // subdomain or plain-HTTP page can plant or shadow it.
      cookieName: read.string('SESSION_COOKIE_NAME', secureCookie ? '__Host-sid' : 'sid'),
      ttlSeconds: read.int('SESSION_TTL_SECONDS', 7 * 24 * 3600, { min: 60 }),
      secureCookie,
    },
    keys: {
      /** How long a new key is published in JWKS before it signs: resource servers caching JWKS see it first. */
      publishAheadSeconds: read.int('SIGNING_KEY_PUBLISH_AHEAD_SECONDS', 300, { min: 0 }),
      /** Rotate automatically when the active key is this old (0: only by command). */
      rotateEverySeconds: read.int('SIGNING_KEY_ROTATE_EVERY_SECONDS', 0, { min: 0 }),
      /** Secret the key-encryption key is derived from (required in production; generated in the demo). */
      encryptionSecret,
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
      registerPerIpPerHour: read.int('RATE_LIMIT_REGISTER_PER_IP', 20, { min: 1 }),
      registerPerEmailPerHour: read.int('RATE_LIMIT_REGISTER_PER_EMAIL', 5, { min: 1 }),
      passwordPerIpPerHour: read.int('RATE_LIMIT_PASSWORD_PER_IP', 30, { min: 1 }),
      passwordPerEmailPerHour: read.int('RATE_LIMIT_PASSWORD_PER_EMAIL', 5, { min: 1 }),
      invitationAcceptPerIpPerHour: read.int('RATE_LIMIT_INVITATION_ACCEPT_PER_IP', 30, { min: 1 }),
      mfaCodesPerUserPerMinute: read.int('RATE_LIMIT_MFA_PER_USER', 5, { min: 1 }),
      mfaCodesPerIpPerMinute: read.int('RATE_LIMIT_MFA_PER_IP', 30, { min: 1 }),
    },
    /** Argon2id work at once: new-password hashes (register, user creation) get their own few slots and a
     * bounded queue, so a flood of registrations can never take the threads logins verify on. */
    argon2: {
      maxConcurrentHashes: read.int('ARGON2_MAX_CONCURRENT_HASHES', 2, { min: 1, max: 64 }),
      maxQueuedHashes: read.int('ARGON2_MAX_QUEUED_HASHES', 32, { min: 0, max: 10_000 }),
      maxConcurrentVerifies: read.int('ARGON2_MAX_CONCURRENT_VERIFIES', 4, { min: 1, max: 64 }),
    },
    demo: {
      // Outside the embedded demo start nothing is seeded unless asked.
      seed: read.bool('SEED_DEMO_DATA', profile === 'demo'),
      password: read.string('DEMO_PASSWORD', DEFAULT_DEMO_PASSWORD),
    },
    declaredClients,
    revocationPollMs: read.int('REVOCATION_POLL_MS', 1000, { min: 100, max: 5000 }),
  };
  if (config.demo.password.length < 8) read.problem('DEMO_PASSWORD must be at least 8 characters');
  if (profile === 'production' && config.demo.seed && config.demo.password === DEFAULT_DEMO_PASSWORD)
    read.problem(
      'SEED_DEMO_DATA outside the embedded demo start needs a DEMO_PASSWORD of your own (the default one is public)',
    );
  if (config.session.cookieName.startsWith('__Host-') && !secureCookie)
    read.problem('SESSION_COOKIE_NAME with the __Host- prefix needs SESSION_COOKIE_SECURE=true');
  return read.finish(config);
}
