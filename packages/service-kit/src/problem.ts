/**
 * RFC 9457 problem details. Services throw HttpProblem (or a subclass); one error handler turns it into
 * `application/problem+json`. `code` is a stable machine-readable identifier clients may switch on.
 */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance?: string;
  [extension: string]: unknown;
}

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
  readonly code: string;
  readonly detail: string;
  readonly headers: Record<string, string>;
  readonly extensions: Record<string, unknown>;

  constructor(
    status: number,
    code: string,
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
  badRequest: (detail: string, code = 'bad_request') => new HttpProblem(400, code, detail),
  unauthorized: (detail: string, headers: Record<string, string>, code = 'unauthorized') =>
    new HttpProblem(401, code, detail, { headers }),
  forbidden: (detail: string, code = 'forbidden', headers: Record<string, string> = {}) =>
    new HttpProblem(403, code, detail, { headers }),
  notFound: (detail: string, code = 'not_found') => new HttpProblem(404, code, detail),
  conflict: (detail: string, code = 'conflict') => new HttpProblem(409, code, detail),
  tooManyRequests: (retryAfterSeconds: number, detail = 'too many requests, slow down') =>
    new HttpProblem(429, 'rate_limited', detail, { headers: { 'retry-after': String(retryAfterSeconds) } }),
  unavailable: (detail: string, code = 'unavailable', retryAfterSeconds = 1) =>
    new HttpProblem(503, code, detail, { headers: { 'retry-after': String(retryAfterSeconds) } }),
};
