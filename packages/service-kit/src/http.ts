import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  ProblemSchema as ContractProblemSchema,
  HealthResponse,
  NotReadyResponse,
  ReadyResponse,
} from '@groupchat/contract';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { Logger } from 'pino';
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import { isDatabaseUnavailable, isUnstorableText } from './db.ts';
import { uuidv7 } from './ids.ts';
import { HttpProblem, statusTitle } from './problem.ts';
import { addressKey } from './profile.ts';

export type HttpServer = FastifyInstance<
  import('node:http').Server,
  IncomingMessage,
  import('node:http').ServerResponse,
  Logger,
  TypeBoxTypeProvider
>;

export interface HttpServerOptions {
  serviceName: string;
  version?: string;
  description?: string;
  logger: Logger;
  /** Checks run by GET /ready; each throws (or rejects) when its dependency is not usable. */
  readinessChecks: Record<string, () => Promise<void>>;
  bodyLimit?: number;
  /** Proxies whose X-Forwarded-For is believed: addresses or CIDRs (TRUST_PROXY); none by default. */
  trustProxy?: boolean | readonly string[];
  /**
   * Where /metrics is served: on the public listener without a secret only when `publicOpen` (the
   * embedded demo); with `token`, on the public listener behind that bearer secret; with `port`, on a
   * listener of its own. Default: public and open (tests that build an app directly).
   */
  metrics?: { publicOpen: boolean; token: string | null; port: number | null; host: string };
  /** Longest path parameter (find-my-way's default is 100); a longer one answers 404. */
  maxParamLength?: number;
  /** OpenAPI security schemes and tags, merged into the generated document. */
  openapi?: {
    securitySchemes?: Record<string, unknown>;
    tags?: { name: string; description?: string }[];
  };
}

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/** The contract's problem schema, registered under `$id: Problem` for `$ref`s in the OpenAPI document. */
export const ProblemSchema = { ...ContractProblemSchema, $id: 'Problem' };

/**
 * The Fastify instance both services start from: request ids, one JSON log line per request,
 * problem+json errors from a single handler, Prometheus metrics, health and readiness, OpenAPI.
 */
export async function createHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const app = Fastify({
    loggerInstance: options.logger,
    // One line per request, written by the onResponse hook below, instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'request_id' }),
    requestIdHeader: 'x-request-id',
    genReqId: (req) => {
      const incoming = req.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID_PATTERN.test(incoming) ? incoming : uuidv7();
    },
    bodyLimit: options.bodyLimit ?? 64 * 1024,
    ...(options.maxParamLength ? { routerOptions: { maxParamLength: options.maxParamLength } } : {}),
    trustProxy:
      typeof options.trustProxy === 'boolean'
        ? options.trustProxy
        : options.trustProxy && options.trustProxy.length > 0
          ? [...options.trustProxy]
          : false,
    forceCloseConnections: true,
    return503OnClosing: true,
    // Errors Fastify raises before routing (a path with broken percent-encoding, a bad content type):
    // the same problem+json as everything else, not Fastify's own {"error","code"} JSON.
    frameworkErrors: (error, request, reply) => {
      const problem =
        error.code === 'FST_ERR_BAD_URL'
          ? new HttpProblem(400, 'bad_url', 'the request path is not valid percent-encoding')
          : error;
      sendProblem(problem, request, reply);
    },
    ajv: {
      customOptions: { removeAdditional: true, coerceTypes: 'array', useDefaults: true, allErrors: false },
    },
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as HttpServer;

  // Fastify validates the header it reads with requestIdHeader only loosely; genReqId above is only
  // called when the header is absent, so re-check what arrived before echoing it back.
  app.addHook('onRequest', async (request) => {
    if (!REQUEST_ID_PATTERN.test(request.id)) (request as { id: string }).id = uuidv7();
  });
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  // The subject of per-address limits: the real client address (request.ip: X-Forwarded-For only from a
  // TRUST_PROXY peer), IPv6 per /64.
  app.decorateRequest('clientKey', {
    getter(this: FastifyRequest) {
      return addressKey(this.ip);
    },
  });

  const registry = new Registry();
  registry.setDefaultLabels({ service: options.serviceName });
  collectDefaultMetrics({ register: registry });
  const httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  app.decorate('metrics', registry);

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    httpDuration.observe(
      { method: request.method, route, status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    const level = reply.statusCode >= 500 ? 'error' : 'info';
    request.log[level](
      {
        event: 'http_request',
        method: request.method,
        route,
        path: request.url.split('?')[0],
        status: reply.statusCode,
        duration_ms: Math.round(reply.elapsedTime * 100) / 100,
      },
      'request completed',
    );
  });

  app.setErrorHandler((error: FastifyError, request, reply) => sendProblem(error, request, reply));
  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      new HttpProblem(404, 'route_not_found', `no route for ${request.method} ${request.url.split('?')[0]}`),
      request,
      reply,
    ),
  );

  app.addSchema(ProblemSchema);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: options.serviceName,
        version: options.version ?? '0.1.0',
        ...(options.description ? { description: options.description } : {}),
      },
      components: { securitySchemes: (options.openapi?.securitySchemes ?? {}) as never },
      tags: options.openapi?.tags ?? [],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.get(
    '/health',
    {
      schema: {
        tags: ['operations'],
        summary: 'Liveness: 200 while the process runs',
        response: { 200: HealthResponse },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/ready',
    {
      schema: {
        tags: ['operations'],
        summary: 'Readiness: 200 when every dependency is usable, else 503 naming what is not',
        response: { 200: ReadyResponse, 503: NotReadyResponse },
      },
    },
    async (_request, reply) => {
      const entries = await Promise.all(
        Object.entries(options.readinessChecks).map(async ([name, check]) => {
          try {
            await withTimeout(check(), 2_000);
            return [name, 'ok'] as const;
          } catch (error) {
            // The public answer names the dependency only: hosts and error texts are for the log.
            app.log.warn(
              { event: 'readiness_check_failed', check: name, error: (error as Error)?.message },
              'readiness check failed',
            );
            return [name, 'unavailable'] as const;
          }
        }),
      );
      const checks = Object.fromEntries(entries);
      const failing = entries.filter(([, state]) => state !== 'ok').map(([name]) => name);
      if (failing.length === 0) return { status: 'ready' as const, checks };
      return reply
        .code(503)
        .type('application/problem+json')
        .send({
          ...new HttpProblem(503, 'not_ready', `not ready: ${failing.join(', ')}`).toBody(),
          checks,
        });
    },
  );

  const metrics = options.metrics ?? { publicOpen: true, token: null, port: null, host: '127.0.0.1' };
  if (metrics.publicOpen || metrics.token) {
    const expected = metrics.token ? Buffer.from(`Bearer ${metrics.token}`) : null;
    app.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
      if (expected) {
        const given = Buffer.from(request.headers.authorization ?? '');
        if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
          throw new HttpProblem(401, 'metrics_unauthorized', 'metrics need the configured bearer secret', {
            headers: { 'www-authenticate': 'Bearer realm="metrics"' },
          });
        }
      }
      reply.type(registry.contentType);
      return registry.metrics();
    });
  }
  if (metrics.port !== null) {
    // A listener of its own (METRICS_PORT), for the scraper on the private network; nothing else on it.
    let server: Server | null = null;
    app.addHook('onListen', async () => {
      server = createServer((req, res) => {
        if ((req.url ?? '').split('?')[0] !== '/metrics') {
          res.writeHead(404).end();
          return;
        }
        registry.metrics().then(
          (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
          () => res.writeHead(500).end(),
        );
      });
      await new Promise<void>((resolveListen, reject) => {
        server!.once('error', reject);
        server!.listen(metrics.port!, metrics.host, () => resolveListen());
      });
      const address = server.address();
      app.log.info(
        { event: 'metrics_listening', port: typeof address === 'object' && address ? address.port : null },
        'metrics listener up',
      );
    });
    app.addHook('onClose', async () => {
      if (server) await new Promise((r) => server!.close(r));
    });
    app.decorate('metricsAddress', () => {
      const address = server?.address();
      return typeof address === 'object' && address ? address.port : null;
    });
  }

  return app;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The client address as a limit subject (IPv6 per /64). */
    readonly clientKey: string;
  }
  interface FastifyInstance {
    metrics: Registry;
    /** The port of the separate metrics listener (METRICS_PORT), once listening. */
    metricsAddress?: () => number | null;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Turns any error into a problem+json reply; never leaks a stack or an internal message. */
export function toProblem(error: unknown): HttpProblem {
  if (error instanceof HttpProblem) return error;
  const fastifyError = error as FastifyError & { validationContext?: string };
  if (fastifyError?.validation) {
    return new HttpProblem(400, 'validation_failed', fastifyError.message);
  }
  switch (fastifyError?.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new HttpProblem(415, 'unsupported_media_type', 'the request body must be application/json');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new HttpProblem(413, 'body_too_large', 'the request body is too large');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new HttpProblem(400, 'empty_body', 'the request body is empty but its content type is JSON');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new HttpProblem(400, 'malformed_body', 'the request body is not valid JSON');
    default:
      break;
  }
  if (error instanceof SyntaxError)
    return new HttpProblem(400, 'malformed_body', 'the request body is not valid JSON');
  if (isUnstorableText(error))
    return new HttpProblem(400, 'validation_failed', 'text values must not contain NUL (U+0000) characters');
  if (isDatabaseUnavailable(error)) {
    return new HttpProblem(503, 'database_unavailable', 'the database is unavailable, retry shortly', {
      headers: { 'retry-after': '1' },
    });
  }
  const status = fastifyError?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new HttpProblem(status, 'request_error', fastifyError.message || statusTitle(status));
  }
  return new HttpProblem(500, 'internal_error', 'an unexpected error occurred; it has been logged');
}

export function sendProblem(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const problem = toProblem(error);
  if (problem.status === 503) {
    // A dependency that is down is expected and already reported by /ready: one line, no stack per request.
    request.log.warn(
      { event: 'dependency_unavailable', code: problem.code, error: (error as Error)?.message },
      'dependency unavailable',
    );
  } else if (problem.status >= 500) {
    request.log.error({ err: error, event: 'request_failed', code: problem.code }, 'request failed');
  }
  return reply
    .code(problem.status)
    .headers(problem.headers)
    .type('application/problem+json')
    .send(problem.toBody());
}
