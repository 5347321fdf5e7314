import { KNOWN_SCOPES } from '@groupchat/contract';
import { deriveProfile, type Env, EnvReader, readOperations } from '@groupchat/service-kit';

/** The demo password of the embedded start; refused anywhere else (see `profile`). */
export const DEFAULT_DEMO_PASSWORD = 'correct-horse-battery-staple';

/**
 * A client declared in configuration, so a fresh start already knows it (no CLI step needed):
 * chat-api-service from SERVICE_CLIENT_*, and apps from OAUTH_CLIENTS (a JSON array).
 */
export interface DeclaredClient {
  clientId: string;
  clientName: string;
  /** Null for a public client. */
  secret: string | null;
  scopes: string[];
  clientType?: 'confidential' | 'public';
  grantTypes?: string[];
  redirectUris?: string[];
  tokenEndpointAuthMethod?: 'none' | 'client_secret_basic' | 'client_secret_post';
  firstParty?: boolean;
}

/**
 * OAUTH_CLIENTS: `[{client_id, client_name, client_type?, allowed_scopes, grant_types?, redirect_uris?,
 * token_endpoint_auth_method?, first_party?, client_secret_env?}]`. A secret is never written in the
 * JSON itself: `client_secret_env` names the variable that holds it. Registration rules (redirect URIs,
 * auth method, grants) are checked when the clients are ensured at boot, by the same code as the API.
 */
function declaredApps(read: EnvReader, env: Env): DeclaredClient[] {
  const raw = read.string('OAUTH_CLIENTS');
  if (raw === undefined || raw.trim() === '') return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    read.problem('OAUTH_CLIENTS must be a JSON array of clients');
    return [];
  }
  if (!Array.isArray(parsed)) {
    read.problem('OAUTH_CLIENTS must be a JSON array of clients');
    return [];
  }
  const out: DeclaredClient[] = [];
  for (const [index, item] of parsed.entries()) {
    const c = item as Record<string, unknown>;
    const where = `OAUTH_CLIENTS[${index}]`;
    const strings = (value: unknown) =>
      Array.isArray(value) && value.every((v) => typeof v === 'string') ? (value as string[]) : null;
    if (typeof c?.client_id !== 'string' || typeof c.client_name !== 'string') {
      read.problem(`${where} needs client_id and client_name (strings)`);
      continue;
    }
    const scopes = strings(c.allowed_scopes ?? []);
    const grants = strings(c.grant_types ?? ['authorization_code', 'refresh_token']);
    const redirects = strings(c.redirect_uris ?? []);
    if (!scopes || !grants || !redirects) {
      read.problem(`${where}: allowed_scopes, grant_types and redirect_uris are arrays of strings`);
      continue;
    }
    const clientType = c.client_type ?? 'confidential';
    if (clientType !== 'confidential' && clientType !== 'public') {
      read.problem(`${where}.client_type must be confidential or public`);
      continue;
    }
    let secret: string | null = null;
    if (clientType === 'confidential') {
      const name = c.client_secret_env;
      secret = typeof name === 'string' ? (env[name] ?? null) : null;
      if (!secret || secret.length < 32) {
        read.problem(
          `${where} is confidential: client_secret_env must name a variable holding a secret of 32+ characters`,
        );
        continue;
      }
    }
    const method = c.token_endpoint_auth_method;
    if (
      method !== undefined &&
      method !== 'none' &&
      method !== 'client_secret_basic' &&
      method !== 'client_secret_post'
    ) {
      read.problem(
        `${where}.token_endpoint_auth_method is not none, client_secret_basic or client_secret_post`,
      );
      continue;
    }
    out.push({
      clientId: c.client_id,
      clientName: c.client_name,
      secret,
      scopes,
      clientType,
      grantTypes: grants,
      redirectUris: redirects,
      ...(method !== undefined ? { tokenEndpointAuthMethod: method } : {}),
      firstParty: c.first_party === true,
    });
  }
  return out;
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
  declaredClients.push(...declaredApps(read, env));
  for (const client of declaredClients) {
    for (const scope of client.scopes) {
      if (!(KNOWN_SCOPES as readonly string[]).includes(scope))
        read.problem(`declared client ${client.clientId} has unknown scope "${scope}"`);
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
    /** The authorization-code flow (contract Part 2): codes live 60 s, refresh tokens 30 days. */
    authorization: {
      codeTtlSeconds: read.int('AUTHORIZATION_CODE_TTL_SECONDS', 60, { min: 5, max: 600 }),
      refreshTokenTtlSeconds: read.int('REFRESH_TOKEN_TTL_SECONDS', 30 * 24 * 3600, { min: 60 }),
    },
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
      /** Pages and forms of /oauth/authorize per IP (the sign-in form also counts as a login). */
      authorizePerIpPerMinute: read.int('RATE_LIMIT_AUTHORIZE_PER_IP', 300, { min: 1 }),
      connectedAppChangesPerUserPerMinute: read.int('RATE_LIMIT_CONNECTED_APPS_PER_USER', 30, { min: 1 }),
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
    /** Argon2id work at once: new-password hashes (register, user creation) get their own few slots and a
     * bounded queue, so a flood of registrations can never take the threads logins verify on. */
    argon2: {
      maxConcurrentHashes: read.int('ARGON2_MAX_CONCURRENT_HASHES', 2, { min: 1, max: 64 }),
      maxQueuedHashes: read.int('ARGON2_MAX_QUEUED_HASHES', 32, { min: 0, max: 10_000 }),
      maxConcurrentVerifies: read.int('ARGON2_MAX_CONCURRENT_VERIFIES', 4, { min: 1, max: 64 }),
    },
    mail: {
      /** smtp://[user:password@]host:port; absent: mails are written as .eml files under `dir`. */
      smtpUrl: read.url('SMTP_URL'),
      from: read.string('MAIL_FROM', 'GroupChat <no-reply@groupchat.localhost>'),
      /** Links in mails start here (the web client). */
      publicWebUrl: webUrl,
      dir: read.string('MAIL_DIR', `${dataDir}/mail`),
      /** How often an idle sender looks for due mail (new mail is also sent at once after its commit). */
      pollMs: read.int('MAIL_POLL_MS', 1000, { min: 20, max: 60_000 }),
      /** First retry delay after a temporary failure; doubles per attempt, capped at 30 s. */
      retryBaseMs: read.int('MAIL_RETRY_BASE_MS', 2000, { min: 10, max: 30_000 }),
      /** How long a claimed mail is reserved for one sender before another instance may take it. */
      leaseSeconds: read.int('MAIL_LEASE_SECONDS', 60, { min: 1, max: 3600 }),
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
