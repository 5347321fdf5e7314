import { deriveProfile, type Env, EnvReader, readOperations } from '@groupchat/service-kit';

export type ChatConfig = ReturnType<typeof loadChatConfig>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

function withoutTrailingSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

/**
 * Parsed once at boot; every bad variable is reported together, by name. The seed's names
 * (AUTH_API_URL, SERVICE_CLIENT_ID, SERVICE_CLIENT_SECRET, SERVICE_TOKEN_URL, SERVICE_SCOPE) are kept.
 */
export function loadChatConfig(env: Env = process.env) {
  const read = new EnvReader(env);
  const authApiUrl = withoutTrailingSlash(read.url('AUTH_API_URL', 'http://127.0.0.1:8000'));
  const databaseUrl = read.url('DATABASE_URL');
  const secret = read.required('SERVICE_CLIENT_SECRET');

  const host = read.string('HOST', '127.0.0.1');
  const redisUrl = read.url('REDIS_URL');
  const profile = deriveProfile({ databaseUrl, redisUrl, host, publicUrls: [env.AUTH_ISSUER] });
  const config = {
    port: read.int('PORT', 8001, { min: 0, max: 65_535 }),
    host,
    /** `demo` only for the embedded start on loopback; see deriveProfile. */
    profile,
    operations: readOperations(read, { profile, host }),
    logLevel: read.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    database: databaseUrl
      ? ({
          kind: 'postgres',
          url: databaseUrl,
          poolSize: read.int('DATABASE_POOL_SIZE', 10, { min: 1, max: 200 }),
        } as const)
      : ({ kind: 'pglite', dataDir: read.string('DATA_DIR', './data/chat') } as const),
    redisUrl,
    authApi: {
      /** Base URL chat-api calls (groups, members); may differ from the issuer behind a proxy. */
      url: authApiUrl,
      /** `iss` every user token must carry, byte for byte. */
      issuer: withoutTrailingSlash(read.url('AUTH_ISSUER', authApiUrl)),
      jwksUrl: read.url('AUTH_JWKS_URL', `${authApiUrl}/.well-known/jwks.json`),
      /** The resource-server name that user tokens must list in `aud`. */
      audience: read.string('AUTH_AUDIENCE', 'chat-api'),
      /** Per request to auth-api (connect + headers + body). */
      timeoutMs: read.int('AUTH_API_TIMEOUT_MS', 3_000, { min: 100, max: 60_000 }),
      /** Allowed clock difference between auth-api and us when checking `exp`/`iat`. */
      clockToleranceSeconds: read.int('AUTH_CLOCK_TOLERANCE_SECONDS', 5, { min: 0, max: 300 }),
      /** Oldest `iat` accepted: auth-api's longest token lifetime plus skew. */
      maxTokenAgeSeconds: read.int('AUTH_MAX_TOKEN_AGE_SECONDS', 960, { min: 60, max: 86_400 }),
      /** How often the change feed is read (every change honoured within this, bus or no bus). */
      changeFeedPollMs: read.int('CHANGE_FEED_POLL_MS', 1_000, { min: 100, max: 4_000 }),
    },
    service: {
      clientId: read.string('SERVICE_CLIENT_ID', 'chat-api-service'),
      clientSecret: secret,
      tokenUrl: read.url('SERVICE_TOKEN_URL', `${authApiUrl}/oauth/token`),
      scope: read.string('SERVICE_SCOPE', 'groups:read members:read'),
    },
    membership: {
      /** Staleness bound of a cached group: older entries are served while a background reload runs. */
      ttlMs: read.int('MEMBERSHIP_CACHE_TTL_SECONDS', 60, { min: 1, max: 3_600 }) * 1000,
      maxGroups: read.int('MEMBERSHIP_CACHE_MAX_GROUPS', 10_000, { min: 10 }),
      /** A user missing from a cached member list is re-asked about at most this often (per group and user). */
      recheckMs: read.int('MEMBERSHIP_RECHECK_SECONDS', 5, { min: 0, max: 3_600 }) * 1000,
    },
    limits: {
      /** Rate-limit counters' namespace in Redis (tests use their own). */
      keyPrefix: read.string('RATE_LIMIT_KEY_PREFIX', 'chat-rl:'),
      postsPerUserPerSecond: read.int('RATE_LIMIT_POSTS_PER_SECOND', 20, { min: 10 }),
      postsPerUserPerMinute: read.int('RATE_LIMIT_POSTS_PER_MINUTE', 900, { min: 600 }),
      reactionsPerUserPerMinute: read.int('RATE_LIMIT_REACTIONS_PER_MINUTE', 300, { min: 1 }),
      searchesPerUserPerMinute: read.int('RATE_LIMIT_SEARCHES_PER_MINUTE', 60, { min: 1 }),
      /** 401/403/404 answers and refused subscribes, per user and per address. */
      failuresPerMinute: read.int('RATE_LIMIT_FAILURES_PER_MINUTE', 120, { min: 1 }),
    },
    presence: {
      /** A user stays present this long after their last socket left a group. */
      presenceGraceMs: read.int('PRESENCE_GRACE_MS', 10_000, { min: 0, max: 600_000 }),
      /** An instance's presence entries expire this long after its last heartbeat (crashed instances). */
      presenceTtlMs: read.int('PRESENCE_TTL_MS', 15_000, { min: 1_000, max: 600_000 }),
      presenceHeartbeatMs: read.int('PRESENCE_HEARTBEAT_MS', 5_000, { min: 100, max: 300_000 }),
    },
    ws: {
      /** Client frames per second per connection (a token bucket holding 2 s' worth): over it, 1008. */
      maxFramesPerSecond: read.int('WS_MAX_FRAMES_PER_SECOND', 20, { min: 1 }),
      /** Client frames waiting to be handled on one connection: over it, 1008. */
      maxQueuedFrames: read.int('WS_MAX_QUEUED_FRAMES', 64, { min: 1 }),
      /** WebSocket connections per user on all instances together (shared via Redis when configured; at least 10). */
      maxConnectionsPerUser: read.int('WS_MAX_CONNECTIONS_PER_USER', 20, { min: 10 }),
      authTimeoutMs: read.int('WS_AUTH_TIMEOUT_MS', 10_000, { min: 100, max: 120_000 }),
      pingIntervalMs: read.int('WS_PING_INTERVAL_MS', 30_000, { min: 100, max: 600_000 }),
      /** A socket whose unsent bytes exceed this is a slow consumer and is disconnected. */
      maxBufferedBytes: read.int('WS_MAX_BUFFERED_BYTES', 1024 * 1024, { min: 16 * 1024 }),
      /** …for longer than this (or over 4× the cap at any time). A burst that drains is fine. */
      slowConsumerGraceMs: read.int('WS_SLOW_CONSUMER_GRACE_MS', 2_000, { min: 0, max: 60_000 }),
      maxPayloadBytes: read.int('WS_MAX_PAYLOAD_BYTES', 16 * 1024, { min: 1024 }),
      maxSubscriptions: read.int('WS_MAX_SUBSCRIPTIONS', 200, { min: 1 }),
      /** More missed messages than this on resume: `reset`, the client reloads by REST. */
      resumeMaxGap: read.int('WS_RESUME_MAX_GAP', 500, { min: 1, max: 10_000 }),
    },
  };
  return read.finish(config);
}
