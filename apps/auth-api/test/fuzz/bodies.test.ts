/**
 * Property-based tests over every request body auth-api documents (its OpenAPI document, so a new
 * endpoint is fuzzed without touching this file): JSON bodies of the APIs and the form bodies of
 * /oauth/*, near-valid and broken, with and without credentials. For every one: never a 5xx; every
 * error problem+json with a code of the catalogue (RFC 6749 bodies on /oauth/*); and a refused request
 * leaves everything stored as it was.
 */
import {
  checkApiAnswer,
  checkOAuthAnswer,
  type DocumentedBody,
  documentedBodies,
  FUZZ_RUNS,
  type FuzzResponse,
  jsonBodyFor,
  jsonContentTypes,
  pathFor,
  type Samples,
  send,
  valueFor,
} from '@groupchat/testkit/fuzz';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { AUTHORIZATION_PARAMETERS } from '../../src/authorize/request.ts';
import { DEMO, startFuzzAuthApi, storedState } from './helpers.ts';

const api = await startFuzzAuthApi();
afterAll(() => api.close());

const document = (await (await fetch(`${api.url}/docs/json`)).json()) as Parameters<
  typeof documentedBodies
>[0];
const bodies = documentedBodies(document);

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

/** Real values for members and path parameters, so that some requests get past validation. */
const samples: Samples = {
  org_id: [api.ids.bobOrg],
  group_id: [api.ids.general],
  user_id: [api.ids.carol, api.ids.mallory, api.ids.bob],
  client_id: [DEMO.serviceClientId, 'fuzz-client'],
  invitation_id: [],
  email: [DEMO.users.carol, DEMO.users.bob, 'new.person@acme.example', 'BOB@ACME.EXAMPLE'],
  // Never Bob's real password: a fuzzed body must not change it (the run goes on with his token).
  password: ['correct-horse-battery-staple', 'short', 'a-long-enough-password'],
  current_password: ['wrong-password-123'],
  new_password: ['another-long-password'],
  role: ['member', 'admin', 'owner', 'platform_admin'],
  grant_type: ['client_credentials', 'authorization_code', 'refresh_token', 'password', ''],
  scope: ['groups:read', 'groups:read members:read', 'admin:clients', 'openid', 'nonsense', ''],
  resource: ['chat-api', 'auth-api', 'http://evil.example'],
  token: ['not-a-token', api.tokens.bob],
  token_type_hint: ['access_token', 'refresh_token', 'nope'],
  client_secret: [DEMO.serviceClientSecret, 'wrong'],
  code: ['000000', '123456', 'AAAA-BBBB'],
  redirect_uri: ['http://127.0.0.1:9/cb', 'javascript:alert(1)'],
};

/** Path parameters: the rotation endpoint must not rotate the demo service's secret the oauth runs use. */
const pathSamples: Samples = { ...samples, client_id: ['fuzz-client', 'groupchat-web'] };

/** Who calls: Bob (an org owner), the platform admin, nobody, or someone with a bad token. */
const bearer = fc.constantFrom(
  `Bearer ${api.tokens.bob}`,
  `Bearer ${api.tokens.admin}`,
  '',
  'Bearer not-a-token',
  'Basic Og==',
);

/** Client authentication of /oauth/*: right, wrong, malformed, none. */
const clientAuth = fc.constantFrom(
  basic(DEMO.serviceClientId, DEMO.serviceClientSecret),
  basic(DEMO.serviceClientId, 'wrong'),
  basic('nobody', 'x'),
  'Basic !!!',
  'Basic Og==',
  `Bearer ${api.tokens.bob}`,
  '',
);

const FORM_BREAKERS = ['%', '%zz', '%F0%9F', '&&&', '=', 'a=1&a=2', '\u0000=\u0000', '+'.repeat(50)];

/** A form body: documented members with generated values (strings), duplicated or broken sometimes. */
function formBodyFor(body: DocumentedBody): fc.Arbitrary<string> {
  const members = Object.entries(body.schema.properties ?? {});
  const value = (name: string) =>
    fc.oneof(
      {
        weight: 3,
        arbitrary: valueFor({ type: 'string' }, samples, name).map((v) =>
          typeof v === 'string' ? v : JSON.stringify(v),
        ),
      },
      { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
    );
  const pairs = fc
    .array(
      fc.oneof(
        {
          weight: 6,
          arbitrary: members.length > 0 ? fc.constantFrom(...members.map(([name]) => name)) : fc.string(),
        },
        { weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
      ),
      { maxLength: members.length + 3 },
    )
    .chain((names) => fc.tuple(...names.map((name) => value(name).map((v) => [name, v] as const))));
  const encoded = pairs.map((list) => new URLSearchParams(list.map(([k, v]) => [k, v])).toString());
  return fc.oneof(
    { weight: 8, arbitrary: encoded },
    {
      weight: 1,
      arbitrary: fc.tuple(encoded, fc.constantFrom(...FORM_BREAKERS)).map(([a, b]) => `${a}&${b}`),
    },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v) ?? '') },
  );
}

const formContentTypes = fc.oneof(
  { weight: 8, arbitrary: fc.constant('application/x-www-form-urlencoded') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'application/x-www-form-urlencoded; charset=utf-8',
      'application/json',
      'text/plain',
      'multipart/form-data; boundary=x',
      '',
    ),
  },
);

interface Sent {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

function requestsFor(body: DocumentedBody): fc.Arbitrary<Sent> {
  const oauth = body.path.startsWith('/oauth/');
  const form = body.contentType.startsWith('application/x-www-form-urlencoded');
  return fc
    .record({
      path: pathFor(body.path, pathSamples),
      text: form ? formBodyFor(body) : jsonBodyFor(body.schema, samples),
      type: form ? formContentTypes : jsonContentTypes,
      authorization: oauth
        ? clientAuth
        : body.path.startsWith('/admin/')
          ? fc.constant(`Bearer ${api.tokens.admin}`)
          : bearer,
    })
    .map(({ path, text, type, authorization }) => ({
      method: body.method,
      url: `${api.url}${path}`,
      headers: { 'content-type': type, authorization },
      body: text,
    }));
}

/** Sends one generated request and checks the answer and what is stored. */
/**
 * A snapshot once what the previous request started has landed: an accepted request may finish after
 * its answer (password/forgot answers 202 at once whether or not the email exists, and writes the reset
 * token and its mail afterwards), which must not be blamed on the next, refused one.
 */
let previousAccepted = false;
async function settledState(): Promise<Record<string, string>> {
  let state = await storedState(api.auth);
  if (!previousAccepted) return state;
  for (let i = 0; i < 40; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const again = await storedState(api.auth);
    if (JSON.stringify(again) === JSON.stringify(state)) return state;
    state = again;
  }
  return state;
}

async function exercise(sent: Sent, oauth: boolean): Promise<FuzzResponse> {
  const before = await settledState();
  const response = await send(sent.url, sent);
  previousAccepted = response.status < 400;
  const what = `${sent.method} ${sent.url.slice(api.url.length)} [${sent.headers['content-type']}] ${sent.body.slice(0, 200)}`;
  // /oauth/userinfo is a protected resource (RFC 6750), not the authorization server: problem+json.
  if (oauth && !sent.url.includes('/oauth/userinfo')) checkOAuthAnswer(response, what);
  else checkApiAnswer(response, what);
  if (response.status >= 400)
    expect(await storedState(api.auth), `${what} → ${response.status} changed data`).toEqual(before);
  return response;
}

it('documents the bodies of the contract’s endpoints (what the properties below run over)', () => {
  const documented = new Set(bodies.map((b) => `${b.method} ${b.path}`));
  for (const expected of [
    'POST /api/auth/register',
    'POST /api/auth/login',
    'POST /api/auth/orgs/{org_id}/users',
    'POST /api/auth/groups',
    'POST /api/auth/groups/{group_id}/members',
    'POST /api/auth/invitations/accept',
    'POST /api/auth/password/reset',
    'POST /api/auth/login/mfa',
    'POST /admin/oauth/clients',
    'POST /oauth/token',
    'POST /oauth/introspect',
    'POST /oauth/revoke',
  ])
    expect(documented, expected).toContain(expected);
});

it('the snapshot sees what a request stores (so an unchanged one means something)', async () => {
  const before = await storedState(api.auth);
  const created = await send(`${api.url}/api/auth/groups`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${api.tokens.bob}` },
    body: JSON.stringify({ name: 'snapshot check' }),
  });
  expect(created.status).toBe(201);
  const after = await storedState(api.auth);
  expect(after.groups).not.toBe(before.groups);
  expect(after.group_members).not.toBe(before.group_members);
});

describe('every documented body: never a 5xx, always the right error body, nothing stored when refused', () => {
  for (const body of bodies) {
    const oauth = body.path.startsWith('/oauth/');
    it(`${body.method} ${body.path} (${body.contentType})`, async () => {
      const statuses = new Map<number, number>();
      await fc.assert(
        fc.asyncProperty(requestsFor(body), async (sent) => {
          const response = await exercise(sent, oauth);
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        }),
        { numRuns: FUZZ_RUNS, endOnFailure: true },
      );
      // The generator reached validation at least: not every request stopped at authentication.
      expect(
        [...statuses.keys()].some((status) => status !== 401 && status !== 415),
        JSON.stringify([...statuses]),
      ).toBe(true);
    }, 60_000);
  }
});

describe('the sign-in forms of the authorization endpoint (HTML): never a 5xx, nothing stored when refused', () => {
  const csrf = 'c'.repeat(43);
  for (const path of ['/oauth/authorize/login', '/oauth/authorize/mfa', '/oauth/authorize/consent']) {
    it(`POST ${path}`, async () => {
      const members = {
        properties: Object.fromEntries(
          ['email', 'password', 'mfa_token', 'code', 'decision', ...AUTHORIZATION_PARAMETERS].map((name) => [
            name,
            { type: 'string' },
          ]),
        ),
      };
      const arbitrary = fc.record({
        text: formBodyFor({
          method: 'POST',
          path,
          contentType: 'application/x-www-form-urlencoded',
          schema: members,
        }),
        withCsrf: fc.boolean(),
        type: formContentTypes,
        origin: fc.constantFrom(api.url, 'https://evil.example', ''),
      });
      await fc.assert(
        fc.asyncProperty(arbitrary, async ({ text, withCsrf, type, origin }) => {
          const before = await settledState();
          const body = withCsrf ? `${text}&csrf_token=${csrf}` : text;
          const response = await send(`${api.url}${path}`, {
            method: 'POST',
            headers: { 'content-type': type, origin, cookie: withCsrf ? `oauth_csrf=${csrf}` : '' },
            body,
          });
          previousAccepted = response.status < 400;
          const what = `POST ${path} [${type}] ${body.slice(0, 200)}`;
          const contentType = response.headers.get('content-type') ?? '';
          // Pages for the browser, or problem+json for what never was a form of ours (CSRF, media type).
          if (contentType.startsWith('text/html')) expect(response.status, what).toBeLessThan(500);
          else checkApiAnswer(response, what);
          if (response.status >= 400) expect(await storedState(api.auth), what).toEqual(before);
        }),
        { numRuns: FUZZ_RUNS, endOnFailure: true },
      );
    }, 60_000);
  }
});

describe('found by fuzzing (kept as fixed cases)', () => {
  it('a NUL character in a JSON body is a 400 problem, not a 500 (PostgreSQL text cannot hold it)', async () => {
    const before = await storedState(api.auth);
    const response = await send(`${api.url}/api/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        email: 'nul@example.org',
        password: 'a-long-enough-password',
        display_name: 'Nul',
        org_name: 'a\u0000b',
      }),
    });
    checkApiAnswer(response, 'register with NUL');
    expect(response.status).toBe(400);
    expect(JSON.parse(response.text)).toMatchObject({ code: 'validation_failed' });
    expect(await storedState(api.auth)).toEqual(before);
  });

  it('a NUL character in an /oauth/* parameter is invalid_request, not server_error', async () => {
    const response = await send(`${api.url}/oauth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'token=x&client_id=%00',
    });
    checkOAuthAnswer(response, 'revoke with NUL');
    expect(JSON.parse(response.text)).toMatchObject({ error: 'invalid_request' });
    expect(response.status).toBe(400);
  });

  it('the sign-in form answers a body of the wrong type or broken JSON with a 4xx page, not a 500', async () => {
    for (const [type, body, status] of [
      ['multipart/form-data; boundary=x', 'true', 415],
      ['application/json', '[]&csrf_token=x', 400],
    ] as const) {
      const response = await send(`${api.url}/oauth/authorize/login`, {
        method: 'POST',
        headers: { 'content-type': type, origin: api.url },
        body,
      });
      expect(response.status, type).toBe(status);
      expect(response.headers.get('content-type'), type).toContain('text/html');
    }
  });
});
