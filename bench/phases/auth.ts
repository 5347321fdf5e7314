/**
 * Phases 1–3, auth-api alone: token issuance against oidc-provider, group read with a service Bearer,
 * login against the Argon2id hash rate. Each runs on a fresh auth-api process (same database), so a
 * --cpu-prof profile covers one benchmark.
 */
import { randomBytes } from 'node:crypto';
import { basicAuthorization, clientCredentialsToken, groupsOf, login } from '../lib/api.ts';
import { type HttpLoadInput, type HttpLoadResult, runHttpLoad } from '../lib/autocannon.ts';
import { type BenchContext, type PhaseOutcome, watchPids, withServer } from '../lib/context.ts';
import { formatCores, serverCpuMicrosPer } from '../lib/cpu.ts';
import { freePort } from '../lib/processes.ts';
import {
  DEMO_PASSWORD,
  PEER_CLIENT_ID,
  PEER_RESOURCE,
  SERVICE_CLIENT_ID,
  startAuthApi,
  startOidcProvider,
} from '../lib/services.ts';
import { fmtInt, fmtMs, fmtRatio, type Row } from '../lib/table.ts';

export const TARGETS = {
  tokenRatio: 4,
  tokenP99Ms: 10,
  /** Share of the raw ES256 signing rate (one core) the token endpoint reaches. */
  tokenShareOfEs256: 0.5,
  groupReadPerSec: 15_000,
  /** Login req/s ÷ the concurrent Argon2id rate: the request path adds little to the one hash. */
  loginShareOfHashRate: 0.8,
};

const SERVICE_SCOPE = 'groups:read members:read';
const FORM = 'application/x-www-form-urlencoded';

function shape(r: HttpLoadResult): string {
  return `${fmtInt(r.reqPerSec)} req/s, p50 ${fmtMs(r.latencyMs.p50)}, p99 ${fmtMs(r.latencyMs.p99)}`;
}

/** Server CPU time per answered request, and the rate one dedicated core would allow at that cost. */
export function cpuPerRequest(r: HttpLoadResult): string {
  const micros = serverCpuMicrosPer(r.cpuCores, r.reqPerSec);
  return micros > 0
    ? `server CPU ${fmtInt(micros)} µs per request (≈ ${fmtInt(1e6 / micros)}/s per core)`
    : '';
}

/** Load shape, and anything but the expected status, under a row. */
export function loadNotes(label: string, r: HttpLoadResult): string[] {
  const notes = [
    `${label}: ${r.connections} connections, ${r.durationSeconds} s, ${fmtInt(r.requests)} responses, max ${fmtMs(r.latencyMs.max)}`,
    `${label}: ${formatCores(r.cpuCores)}; ${cpuPerRequest(r)}`,
  ];
  if (r.unexpected > 0 || r.errors > 0)
    notes.push(
      `${label}: UNEXPECTED ${fmtInt(r.unexpected)} responses (${JSON.stringify(r.statusCounts)}), ${r.errors} errors, ${r.timeouts} timeouts`,
    );
  return notes;
}

async function ourTokenRun(
  ctx: BenchContext,
  storage: 'postgres' | 'pglite',
  load: Omit<HttpLoadInput, 'title' | 'url' | 'watch' | 'variants'>,
): Promise<HttpLoadResult> {
  const { settings } = ctx;
  const body = new URLSearchParams({ grant_type: 'client_credentials', scope: SERVICE_SCOPE }).toString();
  const server = await startAuthApi(settings, `auth-api.token-${storage}`, storage);
  return withServer(ctx, server, async (server) => {
    await clientCredentialsToken(
      `${server.url}/oauth/token`,
      SERVICE_CLIENT_ID,
      settings.serviceClientSecret,
      {
        grant_type: 'client_credentials',
        scope: SERVICE_SCOPE,
      },
    );
    return runHttpLoad({
      ...load,
      title: `token/auth-api-${storage}`,
      url: server.url,
      watch: watchPids(ctx, server),
      variants: [
        {
          path: '/oauth/token',
          headers: {
            authorization: basicAuthorization(SERVICE_CLIENT_ID, settings.serviceClientSecret),
            'content-type': FORM,
          },
          body,
        },
      ],
    });
  });
}

export async function tokenIssuance(ctx: BenchContext): Promise<PhaseOutcome> {
  const { plan, settings } = ctx;
  const load = {
    method: 'POST' as const,
    connections: plan.connections.token,
    durationSeconds: plan.durationSeconds,
    warmupSeconds: plan.warmupSeconds,
    expectStatus: [200],
  };
  // What chat-api sends: client_secret_basic, the grant and its scopes; on both storage modes.
  const onPostgres = await ourTokenRun(ctx, 'postgres', load);
  const onPglite = await ourTokenRun(ctx, 'pglite', load);

  // The same request plus the resource indicator that selects oidc-provider's JWT format.
  const peerSecret = randomBytes(32).toString('base64url');
  const peerBody = new URLSearchParams({
    grant_type: 'client_credentials',
    scope: SERVICE_SCOPE,
    resource: PEER_RESOURCE,
  }).toString();
  const peerServer = await startOidcProvider(settings, 'oidc-provider.token', await freePort(), peerSecret);
  const peer = await withServer(ctx, peerServer, async (server) => {
    await clientCredentialsToken(`${server.url}/token`, PEER_CLIENT_ID, peerSecret, {
      grant_type: 'client_credentials',
      scope: SERVICE_SCOPE,
      resource: PEER_RESOURCE,
    });
    return runHttpLoad({
      ...load,
      title: 'token/oidc-provider',
      url: server.url,
      watch: watchPids(ctx, server),
      variants: [
        {
          path: '/token',
          headers: { authorization: basicAuthorization(PEER_CLIENT_ID, peerSecret), 'content-type': FORM },
          body: peerBody,
        },
      ],
    });
  });

  const sign = ctx.ceilings.es256?.opsPerSec;
  const row = (label: string, ours: HttpLoadResult): Row => {
    const ratio = peer.reqPerSec > 0 ? ours.reqPerSec / peer.reqPerSec : 0;
    const ofCeiling = sign ? ours.reqPerSec / sign : 0;
    const met =
      ratio >= TARGETS.tokenRatio &&
      ours.latencyMs.p99 <= TARGETS.tokenP99Ms &&
      ofCeiling >= TARGETS.tokenShareOfEs256 &&
      ours.unexpected === 0 &&
      peer.unexpected === 0;
    return {
      benchmark: `1 token issuance (client_credentials, ES256 JWT), ${label}`,
      result: `auth-api ${shape(ours)}`,
      baseline:
        `oidc-provider ${fmtInt(peer.reqPerSec)} req/s, p99 ${fmtMs(peer.latencyMs.p99)}: ratio ${fmtRatio(ratio)}` +
        (sign ? `; ES256 ceiling ${fmtInt(sign)}/s: ${ofCeiling.toFixed(2)} of it` : ''),
      target: `≥ ${TARGETS.tokenRatio}× oidc-provider, p99 ≤ ${TARGETS.tokenP99Ms} ms, ≥ ${TARGETS.tokenShareOfEs256} of the ES256 ceiling`,
      verdict: met ? 'met' : 'MISSED',
      notes: loadNotes('auth-api', ours),
    };
  };
  const rows: Row[] = [row('PostgreSQL + Redis', onPostgres), row('embedded (PGlite)', onPglite)];
  rows[rows.length - 1]!.notes!.push(...loadNotes('oidc-provider', peer));
  return {
    rows,
    data: {
      authApi: onPostgres,
      authApiPglite: onPglite,
      oidcProvider: peer,
      ratio: peer.reqPerSec > 0 ? onPostgres.reqPerSec / peer.reqPerSec : 0,
      ratioPglite: peer.reqPerSec > 0 ? onPglite.reqPerSec / peer.reqPerSec : 0,
    },
  };
}

export async function groupRead(ctx: BenchContext): Promise<PhaseOutcome> {
  const { plan, settings } = ctx;
  const result = await withServer(
    ctx,
    await startAuthApi(settings, 'auth-api.group-read'),
    async (server) => {
      const serviceToken = await clientCredentialsToken(
        `${server.url}/oauth/token`,
        SERVICE_CLIENT_ID,
        settings.serviceClientSecret,
        { grant_type: 'client_credentials', scope: SERVICE_SCOPE },
      );
      const bob = await login(server.url, 'bob@acme.example');
      const general = (await groupsOf(server.url, bob.token)).find((g) => g.name === 'general');
      if (!general) throw new Error('bob has no group "general" (demo data)');
      return runHttpLoad({
        title: 'group-read',
        url: server.url,
        watch: watchPids(ctx, server),
        method: 'GET',
        connections: plan.connections.groupRead,
        durationSeconds: plan.durationSeconds,
        warmupSeconds: plan.warmupSeconds,
        variants: [
          { path: `/api/auth/groups/${general.id}`, headers: { authorization: `Bearer ${serviceToken}` } },
        ],
        expectStatus: [200],
      });
    },
  );
  return {
    rows: [
      {
        benchmark: '2 group read, service Bearer (GET /api/auth/groups/{id})',
        result: shape(result),
        baseline: '',
        target: `≥ ${fmtInt(TARGETS.groupReadPerSec)} req/s`,
        verdict: result.reqPerSec >= TARGETS.groupReadPerSec && result.unexpected === 0 ? 'met' : 'MISSED',
        notes: loadNotes('auth-api', result),
      },
    ],
    data: { groupRead: result },
  };
}

export async function loginRate(ctx: BenchContext): Promise<PhaseOutcome> {
  const { plan, settings } = ctx;
  const result = await withServer(ctx, await startAuthApi(settings, 'auth-api.login'), async (server) => {
    await login(server.url, 'bob@acme.example');
    return runHttpLoad({
      title: 'login',
      url: server.url,
      watch: watchPids(ctx, server),
      method: 'POST',
      connections: plan.connections.login,
      durationSeconds: plan.durationSeconds,
      warmupSeconds: plan.warmupSeconds,
      variants: [
        {
          path: '/api/auth/login',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email: 'bob@acme.example', password: DEMO_PASSWORD }),
        },
      ],
      expectStatus: [200],
    });
  });
  const argon2 = ctx.ceilings.argon2;
  const baseline = argon2
    ? `Argon2id ${fmtInt(argon2.concurrentPerSec)} verifications/s (${argon2.concurrency} in flight, ` +
      `${argon2.cpuMsPerHashConcurrent.toFixed(1)} ms CPU each; ${fmtInt(argon2.sequentialPerSec)}/s one at a time); ` +
      `login = ${fmtRatio(result.reqPerSec / argon2.concurrentPerSec)} of it`
    : 'Argon2id rate not measured';
  return {
    rows: [
      {
        benchmark: '3 login (POST /api/auth/login)',
        result: shape(result),
        baseline,
        target: `≥ ${TARGETS.loginShareOfHashRate}× the hash rate (one Argon2id per login)`,
        verdict:
          argon2 &&
          result.unexpected === 0 &&
          result.reqPerSec >= TARGETS.loginShareOfHashRate * argon2.concurrentPerSec
            ? 'met'
            : 'MISSED',
        notes: loadNotes('auth-api', result),
      },
    ],
    data: { login: result },
  };
}
