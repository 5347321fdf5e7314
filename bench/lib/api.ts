/**
 * The few contract calls the orchestrator makes to set a benchmark up (log in, get a service token,
 * create groups) and the Prometheus snapshots it takes around a phase. Never on a measured path.
 */
import { DEMO_PASSWORD, METRICS_TOKEN } from './services.ts';

export class ApiError extends Error {
  readonly status: number;
  constructor(message: string, status: number) {
    super(message);
    this.status = status;
  }
}

async function call(
  method: string,
  url: string,
  init: { token?: string; json?: unknown; form?: Record<string, string>; basic?: [string, string] } = {},
): Promise<unknown> {
  const headers: Record<string, string> = {};
  let body: string | undefined;
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  if (init.basic) headers.authorization = basicAuthorization(...init.basic);
  if (init.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(init.json);
  }
  if (init.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(init.form).toString();
  }
  const response = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(15_000) });
  const text = await response.text();
  if (!response.ok)
    throw new ApiError(
      `${method} ${new URL(url).pathname}: ${response.status} ${text.slice(0, 300)}`,
      response.status,
    );
  return text ? JSON.parse(text) : null;
}

export interface LoggedIn {
  token: string;
  userId: string;
  orgId: string;
}

export async function login(authUrl: string, email: string): Promise<LoggedIn> {
  const body = (await call('POST', `${authUrl}/api/auth/login`, {
    json: { email, password: DEMO_PASSWORD },
  })) as {
    access_token: string;
    user: { id: string; org_id: string };
  };
  return { token: body.access_token, userId: body.user.id, orgId: body.user.org_id };
}

export function basicAuthorization(clientId: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

export async function clientCredentialsToken(
  tokenUrl: string,
  clientId: string,
  secret: string,
  form: Record<string, string>,
): Promise<string> {
  const body = (await call('POST', tokenUrl, { basic: [clientId, secret], form })) as {
    access_token: string;
  };
  return body.access_token;
}

export async function groupsOf(authUrl: string, token: string): Promise<{ id: string; name: string }[]> {
  const body = (await call('GET', `${authUrl}/api/auth/groups`, { token })) as {
    groups: { id: string; name: string }[];
  };
  return body.groups;
}

export async function createGroup(authUrl: string, token: string, name: string): Promise<string> {
  const body = (await call('POST', `${authUrl}/api/auth/groups`, { token, json: { name } })) as {
    id?: string;
    group?: { id: string };
  };
  const id = body.id ?? body.group?.id;
  if (!id) throw new Error(`POST /api/auth/groups answered without an id: ${JSON.stringify(body)}`);
  return id;
}

export async function addMember(
  authUrl: string,
  token: string,
  groupId: string,
  userId: string,
): Promise<void> {
  await call('POST', `${authUrl}/api/auth/groups/${groupId}/members`, { token, json: { user_id: userId } });
}

/** Runs `work` over `items` with at most `limit` in flight. */
export async function inParallel<T, R>(
  items: T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}

// ---- Prometheus ----

export type MetricSnapshot = Map<string, number>;

/** Every sample of a Prometheus text exposition, keyed by `name{labels}`. */
export async function scrapeMetrics(baseUrl: string): Promise<MetricSnapshot> {
  const response = await fetch(`${baseUrl}/metrics`, {
    headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    signal: AbortSignal.timeout(10_000),
  });
  if (!response.ok) throw new Error(`GET ${baseUrl}/metrics: ${response.status}`);
  const snapshot: MetricSnapshot = new Map();
  for (const line of (await response.text()).split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    const value = Number(line.slice(space + 1));
    if (Number.isFinite(value)) snapshot.set(line.slice(0, space), value);
  }
  return snapshot;
}

export function labelsOf(key: string): Record<string, string> {
  const labels: Record<string, string> = {};
  const open = key.indexOf('{');
  if (open < 0) return labels;
  for (const match of key.slice(open + 1, -1).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
    labels[match[1]!] = match[2]!;
  return labels;
}

export function metricName(key: string): string {
  const open = key.indexOf('{');
  return open < 0 ? key : key.slice(0, open);
}

/** after − before for every sample whose name passes `filter`, dropping zeros. */
export function metricDelta(
  before: MetricSnapshot,
  after: MetricSnapshot,
  filter: (name: string) => boolean,
): Map<string, number> {
  const delta = new Map<string, number>();
  for (const [key, value] of after) {
    if (!filter(metricName(key))) continue;
    const change = value - (before.get(key) ?? 0);
    if (change !== 0) delta.set(key, change);
  }
  return delta;
}

/** auth-api requests by `METHOD route` between two snapshots (all statuses). */
export function requestsByRoute(before: MetricSnapshot, after: MetricSnapshot): Record<string, number> {
  const byRoute: Record<string, number> = {};
  for (const [key, change] of metricDelta(
    before,
    after,
    (n) => n === 'http_request_duration_seconds_count',
  )) {
    const labels = labelsOf(key);
    const route = `${labels.method ?? '?'} ${labels.route ?? '?'}`;
    byRoute[route] = (byRoute[route] ?? 0) + change;
  }
  return byRoute;
}
