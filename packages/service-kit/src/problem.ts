import { type ProblemBody, type ProblemCode, ProblemSchema } from '@groupchat/contract';
import { Type } from 'typebox';

/**
 * RFC 9457 problem details. Services throw HttpProblem (or a subclass); one error handler turns it into
 * `application/problem+json`. `code` is a stable machine-readable identifier clients may switch on; it
 * is typed by the contract's one catalogue (ProblemCatalogue), so both services use the same codes.
 */
export type { ProblemBody, ProblemCode };

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

export function statusTitle(status: number): string {
  return TITLES[status] ?? 'Error';
}

export class HttpProblem extends Error {
  readonly status: number;
  readonly code: ProblemCode;
  readonly detail: string;
  readonly headers: Record<string, string>;
  readonly extensions: Record<string, unknown>;

  constructor(
    status: number,
    code: ProblemCode,
    detail: string,
    options: { headers?: Record<string, string>; extensions?: Record<string, unknown> } = {},
  ) {
    super(detail);
    this.name = 'HttpProblem';
    this.status = status;
    this.code = code;
    this.detail = detail;
    this.headers = options.headers ?? {};
    this.extensions = options.extensions ?? {};
  }

  toBody(instance?: string): ProblemBody {
    return {
      type: `https://docs.groupchat.dev/problems/${this.code}`,
      title: statusTitle(this.status),
      status: this.status,
      detail: this.detail,
      code: this.code,
      ...(instance ? { instance } : {}),
      ...this.extensions,
    };
  }
}

export const problems = {
  badRequest: (detail: string, code: ProblemCode = 'validation_failed') => new HttpProblem(400, code, detail),
  forbidden: (detail: string, code: ProblemCode, headers: Record<string, string> = {}) =>
    new HttpProblem(403, code, detail, { headers }),
  notFound: (detail: string, code: ProblemCode) => new HttpProblem(404, code, detail),
  conflict: (detail: string, code: ProblemCode) => new HttpProblem(409, code, detail),
  tooManyRequests: (retryAfterSeconds: number, detail = 'too many requests, slow down') =>
    new HttpProblem(429, 'rate_limited', detail, { headers: { 'retry-after': String(retryAfterSeconds) } }),
  unavailable: (detail: string, code: ProblemCode, retryAfterSeconds = 1) =>
    new HttpProblem(503, code, detail, { headers: { 'retry-after': String(retryAfterSeconds) } }),
};

type ProblemStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 426 | 429 | 500 | 503;
const DEFAULT_DESCRIPTIONS: Record<ProblemStatus, string> = {
  400: 'a body, query or path parameter failed validation',
  401: 'no or bad credentials (see WWW-Authenticate)',
  403: 'authenticated, but not allowed',
  404: 'no such resource (also: another organization’s)',
  409: 'conflicts with existing data',
  413: 'the body is too large',
  415: 'the body is not application/json',
  426: 'upgrade required',
  429: 'rate limited (see Retry-After)',
  500: 'unexpected error',
  503: 'a dependency is unavailable; retry after Retry-After seconds',
};

/**
 * The one way routes declare their error answers: each status maps to the contract's problem schema
 * (extension members kept), with a description for the OpenAPI document. Give statuses, or a map of
 * status to description.
 */
export function problemResponses<const S extends ProblemStatus>(
  ...statuses: (S | { [K in S]?: string })[]
): Record<S, typeof ProblemSchema> {
  const out: Record<number, typeof ProblemSchema> = {};
  for (const entry of statuses) {
    const pairs: [number, string][] =
      typeof entry === 'number'
        ? [[entry, DEFAULT_DESCRIPTIONS[entry]]]
        : (Object.entries(entry) as [string, string][]).map(([status, text]) => [Number(status), text]);
    for (const [status, description] of pairs)
      out[status] = Type.Object(ProblemSchema.properties, { additionalProperties: true, description });
  }
  return out as Record<S, typeof ProblemSchema>;
}
