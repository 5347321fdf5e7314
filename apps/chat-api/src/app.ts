import websocket from '@fastify/websocket';
import { CloseCodes } from '@groupchat/contract';
import {
  createHttpServer,
  createRateLimiter,
  type Database,
  type EventBus,
  type ExpiringSets,
  type HttpServer,
  MemoryExpiringSets,
  type RateLimiter,
  uuidv7,
} from '@groupchat/service-kit';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram } from 'prom-client';
import { Agent, type Dispatcher } from 'undici';
import { ChangeFeedConsumer } from './auth/change-feed.ts';
import { RevokedTokens } from './auth/revocations.ts';
import { UserTokenVerifier } from './auth/user-token-verifier.ts';
import type { ChatConfig } from './config.ts';
import type { ChatDB } from './db/schema.ts';
import { GroupDirectory } from './groups/group-directory.ts';
import { UserGroups } from './groups/user-groups.ts';
import { ChatLimits } from './limits.ts';
import { ConnectionSlots } from './live/connection-slots.ts';
import { LiveHub } from './live/hub.ts';
import { presenceRoutes } from './live/presence-routes.ts';
import { LiveSignals } from './live/signals.ts';
import { liveRoutes } from './live/ws-routes.ts';
import { MessageRepository } from './messages/repository.ts';
import { messageRoutes } from './messages/routes.ts';
import { MessageService } from './messages/service.ts';
import { ReadStateRepository } from './read-state/repository.ts';
import { readStateRoutes } from './read-state/routes.ts';
import { ReadStateService } from './read-state/service.ts';
import { SearchRepository } from './search/repository.ts';
import { searchRoutes } from './search/routes.ts';
import { SearchService } from './search/service.ts';
import { AuthApiClient } from './service-auth/auth-api-client.ts';
import { ServiceTokenManager } from './service-auth/token-manager.ts';

export { type ChatConfig, loadChatConfig } from './config.ts';

export interface ChatApiDeps {
  config: ChatConfig;
  logger: Logger;
  /** Migrated chat database (messages). Owned by the caller. */
  database: Database<ChatDB>;
  /** Membership and revocation events from auth-api; fan-out between chat-api instances. Owned by the caller. */
  bus: EventBus;
  /** HTTP client pool for auth-api; one with keep-alive is created (and closed) when absent. */
  dispatcher?: Dispatcher;
  /** Distinguishes this instance on the bus. */
  instanceId?: string;
  /** Counters of the limits; one on REDIS_URL (or in memory) is created (and closed) when absent. */
  rateLimiter?: RateLimiter;
  /**
   * State shared by the instances that expires by itself (presence): Redis when configured. Owned by
   * the caller; an in-memory one (this instance alone) is created when absent.
   */
  sharedState?: ExpiringSets;
}

export interface ChatApi {
  app: HttpServer;
  tokens: ServiceTokenManager;
  groups: GroupDirectory;
  verifier: UserTokenVerifier;
  revocations: RevokedTokens;
  changes: ChangeFeedConsumer;
  hub: LiveHub;
  signals: LiveSignals;
  /** Stops the HTTP server and everything buildApp started (not the database or bus it was given). */
  close(): Promise<void>;
}

/** Wires chat-api from explicit dependencies: no globals, nothing started behind the caller's back. */
export async function buildApp(deps: ChatApiDeps): Promise<ChatApi> {
  const { config, logger, database, bus } = deps;
  const ownDispatcher = deps.dispatcher === undefined;
  // Keep-alive connections to auth-api: the token endpoint, group lookups and JWKS share them.
  const dispatcher =
    deps.dispatcher ??
    new Agent({ keepAliveTimeout: 30_000, connections: 32, connect: { timeout: config.authApi.timeoutMs } });

  const tokens = new ServiceTokenManager({
    tokenUrl: config.service.tokenUrl,
    clientId: config.service.clientId,
    clientSecret: config.service.clientSecret,
    scope: config.service.scope,
    dispatcher,
    logger: logger.child({ component: 'service-token' }),
    timeoutMs: config.authApi.timeoutMs,
  });

  let exchanges: Counter<'endpoint' | 'outcome'> | null = null;
  const authApi = new AuthApiClient({
    baseUrl: config.authApi.url,
    dispatcher,
    tokens,
    logger: logger.child({ component: 'auth-api-client' }),
    timeoutMs: config.authApi.timeoutMs,
    onExchange: (endpoint, outcome) => exchanges?.inc({ endpoint, outcome }),
  });

  const groups = new GroupDirectory({
    client: authApi,
    bus,
    logger: logger.child({ component: 'groups' }),
    ttlMs: config.membership.ttlMs,
    maxGroups: config.membership.maxGroups,
    recheckMs: config.membership.recheckMs,
  });

  const revocations = new RevokedTokens({ bus, logger: logger.child({ component: 'revocations' }) });
  const verifier = new UserTokenVerifier({
    jwksUrl: config.authApi.jwksUrl,
    issuer: config.authApi.issuer,
    audience: config.authApi.audience,
    clockToleranceSeconds: config.authApi.clockToleranceSeconds,
    dispatcher,
    revocations,
    logger: logger.child({ component: 'token-verifier' }),
    timeoutMs: config.authApi.timeoutMs,
    maxTokenAgeSeconds: config.authApi.maxTokenAgeSeconds,
  });
  const changes = new ChangeFeedConsumer({
    client: authApi,
    revocations,
    groups,
    logger: logger.child({ component: 'change-feed' }),
    pollMs: config.authApi.changeFeedPollMs,
    onKeyRemoved: () => verifier.reloadKeys(),
  });

  const ownLimiter = deps.rateLimiter === undefined;
  const rateLimiter = deps.rateLimiter ?? createRateLimiter(config.redisUrl, config.limits.keyPrefix);
  const limits = new ChatLimits(rateLimiter, config);

  // Sizes of the group-commit batches (messages per statement, so per transaction and WAL flush);
  // registered once the HTTP server (and its registry) exists.
  let commitBatches: Histogram | null = null;
  const repo = new MessageRepository(database.db, {
    groupCommit: {
      // PostgreSQL: a second batch is built and sent while the first one waits for its WAL flush
      // (measured: 2 beats 1 and 4 on the send benchmarks; 4 splits a hot group into small batches
      // queued on its counter row). PGlite has one connection: a second one would only wait.
      maxInFlight: database.target.kind === 'postgres' ? 2 : 1,
      onBatch: (size) => commitBatches?.observe(size),
    },
  });
  const instanceId = deps.instanceId ?? uuidv7();
  const hub = new LiveHub({
    repo,
    bus,
    logger: logger.child({ component: 'live' }),
    instanceId,
    resumeMaxGap: config.ws.resumeMaxGap,
    maxBufferedBytes: config.ws.maxBufferedBytes,
  });
  const messages = new MessageService({
    repo,
    groups,
    logger: logger.child({ component: 'messages' }),
    onEvents: (events) => hub.announce(events),
  });

  groups.onAccessLost(({ groupId, userId, status }) => hub.accessLost(groupId, userId, status));
  revocations.onRevoked((revoked) => {
    const closed =
      revoked.jti !== undefined
        ? hub.disconnect((user) => user.tokenId === revoked.jti, CloseCodes.unauthorized, 'token revoked')
        : hub.disconnect((user) => user.sessionId === revoked.sid, CloseCodes.unauthorized, 'session ended');
    if (closed > 0)
      logger.info(
        { event: 'live_connections_revoked', count: closed },
        'closed connections of a revoked token or session',
      );
  });

  // Presence and connections per user, across instances (Redis when configured).
  const sharedState = deps.sharedState ?? new MemoryExpiringSets();
  const signals = new LiveSignals({
    hub,
    bus,
    store: sharedState,
    instanceId,
    logger: logger.child({ component: 'signals' }),
    ...config.presence,
  });

  const userGroups = new UserGroups({ authApi, bus, logger: logger.child({ component: 'user-groups' }) });
  const readState = new ReadStateService({
    repo: new ReadStateRepository(database.db),
    groups,
    userGroups,
    toUser: (userId, frame) => signals.toUser(userId, frame),
    logger: logger.child({ component: 'read-state' }),
  });

  await groups.start();
  await revocations.start();
  await changes.start();
  await hub.start();
  await signals.start();
  await userGroups.start();

  const app = await createHttpServer({
    serviceName: 'chat-api',
    description:
      'Group messages for the members of a group, by REST and WebSocket. Users authenticate with the access token from auth-api login (Authorization: Bearer). A client-credentials (service) token is not a user and is refused with 401.',
    logger,
    trustProxy: config.operations.trustProxy,
    metrics: config.operations.metrics,
    // A reaction's emoji is a path parameter: 64 characters, percent-encoded, take up to 768.
    maxParamLength: 1024,
    readinessChecks: {
      database: () => database.ping(),
      service_token: async () => {
        await tokens.getToken();
      },
      auth_api: async () => {
        // Reachable, and accepting our token: what every uncached membership check needs.
        const { status } = await authApi.get('/api/auth/me', 'me');
        if (status !== 200) throw new Error(`GET /api/auth/me answered ${status}`);
      },
      signing_keys: () => verifier.checkKeys(),
      ...(bus.kind === 'redis'
        ? {
            bus: async () => {
              if (!bus.healthy()) throw new Error('redis not connected');
            },
          }
        : {}),
    },
    openapi: {
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            'User access token (RFC 9068) from auth-api POST /api/auth/login; aud must include chat-api',
        },
      },
      tags: [
        { name: 'messages', description: 'Group messages (REST)' },
        { name: 'live', description: 'Live delivery (WebSocket), typing and presence' },
        { name: 'read state', description: 'Read markers, unread and mention counts, receipts' },
        { name: 'search', description: 'Full-text search over the caller’s messages' },
        { name: 'operations', description: 'Health, readiness, metrics' },
      ],
    },
  });

  exchanges = new Counter({
    name: 'chat_auth_api_requests_total',
    help: 'HTTP exchanges with auth-api group/member endpoints by endpoint and status (or error)',
    labelNames: ['endpoint', 'outcome'] as const,
    registers: [app.metrics],
  });
  commitBatches = new Histogram({
    name: 'chat_message_commit_batch_size',
    help: 'New messages per group-commit statement (one transaction, one WAL flush each); _count is the number of statements',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    registers: [app.metrics],
  });
  new Gauge({
    name: 'chat_ws_connections',
    help: 'Authenticated WebSocket connections on this instance',
    registers: [app.metrics],
    collect() {
      this.set(hub.connectionCount);
    },
  });
  // The membership cache's and the live hub's own tallies (kept as plain fields on the hot path), read
  // at scrape time: how often a group check is answered from memory, and what live delivery does.
  const tallies: [string, string, () => number][] = [
    [
      'chat_membership_cache_hits_total',
      'Group checks answered from the membership cache',
      () => groups.stats.hits,
    ],
    [
      'chat_membership_loads_total',
      'Group checks that asked auth-api (cache miss)',
      () => groups.stats.loads,
    ],
    ['chat_membership_rechecks_total', 'Cached groups re-read from auth-api', () => groups.stats.rechecks],
    ['chat_membership_events_total', 'Membership events applied from the bus', () => groups.stats.events],
    [
      'chat_live_frames_delivered_total',
      'Change-log events written to subscribed sockets',
      () => hub.stats.delivered,
    ],
    [
      'chat_live_gap_fills_total',
      'Replays from the change log to close a gap in live delivery',
      () => hub.stats.gapFills,
    ],
    [
      'chat_live_resets_total',
      'Subscriptions told to resume because their gap was too large',
      () => hub.stats.resets,
    ],
    ['chat_live_bus_events_total', 'Change-log events received from the bus', () => hub.stats.busIn],
  ];
  for (const [name, help, read] of tallies)
    new Counter({
      name,
      help,
      registers: [app.metrics],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  new Gauge({
    name: 'chat_service_token_requests',
    help: 'Requests made to the token endpoint since start',
    registers: [app.metrics],
    collect() {
      this.set(tokens.requestCount);
    },
  });

  await app.register(websocket, {
    options: { maxPayload: config.ws.maxPayloadBytes },
    // On shutdown, tell clients it is a restart (1001), not an error: they reconnect and resume.
    preClose(done) {
      for (const client of this.websocketServer.clients)
        client.close(CloseCodes.goingAway, 'server shutting down');
      this.websocketServer.close();
      done();
    },
  });
  await messageRoutes(app, { service: messages, verifier, limits });
  await readStateRoutes(app, { service: readState, verifier });
  await searchRoutes(app, {
    service: new SearchService({ repo: new SearchRepository(database.db), groups, userGroups }),
    verifier,
    limits,
  });
  await presenceRoutes(app, { presence: signals.presence, groups, verifier });
  await liveRoutes(app, {
    hub,
    signals,
    groups,
    verifier,
    limits,
    slots: new ConnectionSlots({
      store: sharedState,
      instanceId,
      maxPerUser: config.ws.maxConnectionsPerUser,
      // Refreshed every heartbeat: a slot outlives two missed ones, then its dead instance frees it.
      ttlMs: Math.max(1_000, 3 * config.ws.pingIntervalMs),
      logger: logger.child({ component: 'connection-slots' }),
    }),
    config: config.ws,
    clockToleranceSeconds: config.authApi.clockToleranceSeconds,
    logger: logger.child({ component: 'live' }),
  });

  app.addHook('onClose', async () => {
    userGroups.stop();
    signals.stop();
    hub.stop();
    groups.stop();
    revocations.stop();
    changes.stop();
    if (ownDispatcher) await dispatcher.close();
    if (ownLimiter) await rateLimiter.close();
  });

  return { app, tokens, groups, verifier, revocations, changes, hub, signals, close: () => app.close() };
}
