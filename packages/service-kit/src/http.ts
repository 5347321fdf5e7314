import type { IncomingMessage } from 'node:http';
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
import { isDatabaseUnavailable } from './db.ts';
import { uuidv7 } from './ids.ts';
import { HttpProblem, statusTitle } from './problem.ts';

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
  /** Longest path parameter (find-my-way's default is 100); a longer one answers 404. */
  maxParamLength?: number;
  trustProxy?: boolean;
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
    trustProxy: options.trustProxy ?? false,
    forceCloseConnections: true,
    return503OnClosing: true,
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
            return [name, `unavailable: ${(error as Error).message ?? 'unknown'}`] as const;
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

  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    reply.type(registry.contentType);
    return registry.metrics();
  });

  return app;
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Registry;
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
