/**
 * Property-based test support shared by both services' fuzz suites (apps/<app>/test/fuzz): request
 * bodies generated from the JSON schemas the services publish in their OpenAPI documents, and the checks
 * every answer to such a body must pass. Test code only: nothing in src/ imports it.
 *
 * The values are "near valid" on purpose: a body that is garbage from its first byte only ever reaches
 * the JSON parser, so most generated bodies keep the schema's shape and break one thing at a time (a
 * type, a bound, a format, a missing or an extra member), with real ids of the test's data mixed in so
 * that some reach the handlers and the database.
 */
import { isProblemCode, OAuthErrorCodes } from '@groupchat/contract';
import fc from 'fast-check';
import { type Kysely, type RawBuilder, sql } from 'kysely';

export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  format?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
}

/** Values the test knows are meaningful for a member name (real ids, a real token, …). */
export type Samples = Record<string, readonly unknown[]>;

/** Strings that have broken parsers and validators before. */
const NASTY_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  '\udfff\ud800',
  '%',
  '%F0%9F',
  '\\',
  '"',
  "'; DROP TABLE users; --",
  '__proto__',
  'constructor',
  '<script>alert(1)</script>',
  '\u202e\u0301',
  '𝔘𝔫𝔦𝔠𝔬𝔡𝔢',
  '00000000-0000-0000-0000-000000000000',
  'FFFFFFFF-FFFF-7FFF-BFFF-FFFFFFFFFFFF',
  '1e309',
  'NaN',
  '-0',
  'a'.repeat(5_000),
];

const NASTY_NUMBERS = [0, -0, -1, 1, 0.5, 2 ** 31, 2 ** 53 + 2, -(2 ** 63), 1e308, Number.MIN_VALUE];

/** Anything JSON can carry, small: the "wrong type" alternative of every member. */
const anyJson = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.constantFrom(...NASTY_NUMBERS),
  fc.constantFrom(...NASTY_STRINGS),
  fc.array(fc.oneof(fc.integer(), fc.string()), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.integer(), fc.string()), { maxKeys: 3 }),
);

function types(schema: JsonSchema): string[] {
  if (Array.isArray(schema.type)) return schema.type;
  if (schema.type) return [schema.type];
  if (schema.properties) return ['object'];
  return [];
}

function stringFor(schema: JsonSchema): fc.Arbitrary<string> {
  const min = schema.minLength ?? 0;
  const max = Math.min(schema.maxLength ?? 300, 6_000);
  const options: fc.Arbitrary<string>[] = [
    fc.string({ minLength: min, maxLength: Math.min(max, min + 20) }),
    fc.string({ unit: 'grapheme', minLength: Math.max(0, min - 1), maxLength: Math.min(max + 1, min + 10) }),
    fc.constantFrom(...NASTY_STRINGS),
  ];
  // Just inside and just outside the bounds.
  if (min > 0) options.push(fc.constantFrom('x'.repeat(min), 'x'.repeat(min - 1), ' '.repeat(min)));
  if (schema.maxLength !== undefined && schema.maxLength <= 6_000)
    options.push(fc.constantFrom('y'.repeat(schema.maxLength), 'y'.repeat(schema.maxLength + 1)));
  if (schema.format === 'uuid')
    options.push(
      fc.uuid(),
      fc.uuid().map((id) => id.toUpperCase()),
    );
  if (schema.format === 'email')
    options.push(
      fc.emailAddress(),
      fc.emailAddress().map((e) => e.toUpperCase()),
      fc.constant('a@b'),
    );
  if (schema.format === 'uri' || schema.format === 'url')
    options.push(fc.webUrl(), fc.constantFrom('javascript:alert(1)', 'http://', 'http://127.0.0.1:9/cb'));
  return fc.oneof(...options);
}

/**
 * A value for `schema`: mostly of its shape (bounds hit from both sides), sometimes of another type.
 * `name` picks the test's samples for that member (e.g. `user_id` → real user ids).
 */
export function valueFor(
  schema: JsonSchema,
  samples: Samples = {},
  name?: string,
  depth = 0,
): fc.Arbitrary<unknown> {
  const known = name !== undefined ? samples[name] : undefined;
  const shaped = shapedValue(schema, samples, depth);
  const options: { weight: number; arbitrary: fc.Arbitrary<unknown> }[] = [
    { weight: 6, arbitrary: shaped },
    { weight: 1, arbitrary: anyJson },
  ];
  if (known && known.length > 0) options.push({ weight: 4, arbitrary: fc.constantFrom(...known) });
  return fc.oneof(...options);
}

function shapedValue(schema: JsonSchema, samples: Samples, depth: number): fc.Arbitrary<unknown> {
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives && alternatives.length > 0)
    return fc.oneof(...alternatives.map((s) => valueFor(s, samples, undefined, depth + 1)));
  if (schema.allOf && schema.allOf.length > 0)
    return valueFor(Object.assign({}, ...schema.allOf) as JsonSchema, samples, undefined, depth + 1);
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum && schema.enum.length > 0)
    return fc.oneof(fc.constantFrom(...schema.enum), fc.string({ maxLength: 12 }));
  const kinds = types(schema);
  if (kinds.length === 0 || depth > 4) return anyJson;
  return fc.oneof(...kinds.map((kind) => ofType(kind, schema, samples, depth)));
}

function ofType(kind: string, schema: JsonSchema, samples: Samples, depth: number): fc.Arbitrary<unknown> {
  switch (kind) {
    case 'string':
      return stringFor(schema);
    case 'integer':
    case 'number': {
      const min = schema.minimum ?? -1_000;
      const max = schema.maximum ?? 1_000_000;
      const edges = [min - 1, min, max, max + 1];
      return fc.oneof(
        fc.integer({ min: Math.max(min, -1e9), max: Math.min(max, 1e9) }),
        fc.constantFrom(...edges, ...NASTY_NUMBERS),
        fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }),
      );
    }
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array': {
      const item = schema.items ? valueFor(schema.items, samples, undefined, depth + 1) : anyJson;
      const maxLength = Math.min((schema.maxItems ?? 5) + 1, 60);
      return fc.array(item, { maxLength });
    }
    case 'object': {
      const properties = schema.properties ?? {};
      const members = Object.fromEntries(
        Object.entries(properties).map(([key, member]) => [key, valueFor(member, samples, key, depth + 1)]),
      );
      // Every member optional here: a missing required one is a case of its own.
      const record = fc.record(members, { requiredKeys: [] });
      const withRequired = fc.record(members, {
        requiredKeys: (schema.required ?? []).filter((key) => key in members),
      });
      const extra = fc.dictionary(fc.constantFrom('extra', '__proto__', 'constructor', 'id', ''), anyJson, {
        maxKeys: 2,
      });
      return fc.oneof(
        { weight: 3, arbitrary: withRequired },
        { weight: 2, arbitrary: record },
        { weight: 1, arbitrary: fc.tuple(withRequired, extra).map(([body, more]) => ({ ...more, ...body })) },
      );
    }
    default:
      return anyJson;
  }
}

/** A request body as sent: JSON text of a schema-shaped value, or text that is not valid JSON at all. */
export function jsonBodyFor(schema: JsonSchema, samples: Samples = {}): fc.Arbitrary<string> {
  const shaped = valueFor(schema, samples).map((value) => JSON.stringify(value) ?? 'null');
  return fc.oneof(
    { weight: 12, arbitrary: shaped },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value) ?? 'null') },
    // Broken JSON: cut short, doubled, deeply nested, BOM, NUL, a lone number beyond any range.
    { weight: 1, arbitrary: shaped.chain((text) => fc.nat(text.length).map((n) => text.slice(0, n))) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '',
        ' ',
        '{',
        '{"a":}',
        'nul',
        '\u0000',
        '\ufeff{}',
        '[]',
        '"just a string"',
        '1e999999',
        '{"__proto__":{"polluted":true}}',
        `${'['.repeat(5_000)}${']'.repeat(5_000)}`,
        `{"a":${'{"a":'.repeat(500)}1${'}'.repeat(501)}`,
      ),
    },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  );
}

/** The content types a JSON body is sent with: mostly JSON, sometimes one the route does not take. */
export const jsonContentTypes = fc.oneof(
  { weight: 8, arbitrary: fc.constant('application/json') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'application/json; charset=utf-8',
      'APPLICATION/JSON',
      'application/json; charset=latin1',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/problem+json',
      '',
    ),
  },
);

export interface FuzzResponse {
  status: number;
  headers: Headers;
  text: string;
}

/** Sends a request and reads the whole answer (no JSON parsing: the checks below do that). */
export async function send(
  url: string,
  init: { method: string; headers?: Record<string, string>; body?: string },
): Promise<FuzzResponse> {
  const headers = Object.fromEntries(Object.entries(init.headers ?? {}).filter(([, value]) => value !== ''));
  const response = await fetch(url, {
    method: init.method,
    headers,
    ...(init.body !== undefined ? { body: init.body } : {}),
    redirect: 'manual',
    signal: AbortSignal.timeout(15_000),
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

function parse(response: FuzzResponse, what: string): Record<string, unknown> {
  try {
    const value = JSON.parse(response.text) as unknown;
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new Error(
    `${what}: ${response.status} with a body that is not a JSON object: ${response.text.slice(0, 300)}`,
  );
}

/** Never a 5xx; every error an RFC 9457 problem with a code of the one catalogue. */
export function checkApiAnswer(response: FuzzResponse, what: string): void {
  if (response.status >= 500)
    throw new Error(`${what}: ${response.status} (a 5xx for a bad request): ${response.text.slice(0, 500)}`);
  if (response.status < 400) return;
  const type = response.headers.get('content-type') ?? '';
  if (!type.startsWith('application/problem+json'))
    throw new Error(
      `${what}: ${response.status} as "${type}", not problem+json: ${response.text.slice(0, 300)}`,
    );
  const body = parse(response, what);
  const wellFormed =
    typeof body.type === 'string' &&
    typeof body.title === 'string' &&
    typeof body.detail === 'string' &&
    body.status === response.status &&
    isProblemCode(body.code);
  if (!wellFormed) throw new Error(`${what}: malformed problem ${response.text.slice(0, 300)}`);
  if (response.status === 429 && !response.headers.get('retry-after'))
    throw new Error(`${what}: 429 without Retry-After`);
}

/** /oauth/* answers: never a 5xx; every error an RFC 6749 §5.2 body as application/json. */
export function checkOAuthAnswer(response: FuzzResponse, what: string): void {
  if (response.status >= 500)
    throw new Error(`${what}: ${response.status} (a 5xx for a bad request): ${response.text.slice(0, 500)}`);
  if (response.status < 400) return;
  const type = response.headers.get('content-type') ?? '';
  if (!type.startsWith('application/json'))
    throw new Error(
      `${what}: ${response.status} as "${type}", not application/json: ${response.text.slice(0, 300)}`,
    );
  const body = parse(response, what);
  if (!(OAuthErrorCodes as readonly unknown[]).includes(body.error))
    throw new Error(`${what}: not an RFC 6749 error body: ${response.text.slice(0, 300)}`);
  if (body.error_description !== undefined && typeof body.error_description !== 'string')
    throw new Error(`${what}: error_description is not a string`);
}

export interface DocumentedBody {
  method: string;
  /** OpenAPI path, `{param}` placeholders. */
  path: string;
  contentType: string;
  schema: JsonSchema;
}

/** Every operation of an OpenAPI document that takes a request body, with its schema. */
export function documentedBodies(document: {
  paths: Record<
    string,
    Record<string, { requestBody?: { content?: Record<string, { schema?: JsonSchema }> } }>
  >;
}): DocumentedBody[] {
  const bodies: DocumentedBody[] = [];
  for (const [path, operations] of Object.entries(document.paths))
    for (const [method, operation] of Object.entries(operations))
      for (const [contentType, media] of Object.entries(operation.requestBody?.content ?? {}))
        bodies.push({ method: method.toUpperCase(), path, contentType, schema: media.schema ?? {} });
  return bodies;
}

/** Fills `{name}` placeholders with generated values (real ids, random ids, garbage). */
export function pathFor(path: string, samples: Samples): fc.Arbitrary<string> {
  const names = [...path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]!);
  if (names.length === 0) return fc.constant(path);
  const value = (name: string) => {
    const known = samples[name] ?? [];
    return fc.oneof(
      {
        weight: known.length > 0 ? 8 : 0,
        arbitrary: known.length > 0 ? fc.constantFrom(...known) : fc.uuid(),
      },
      { weight: 2, arbitrary: fc.uuid() },
      { weight: 1, arbitrary: fc.constantFrom('x', '%F0%9F', '..', '%00', 'a'.repeat(300), ' ') },
    );
  };
  return fc
    .tuple(...names.map((name) => value(name)))
    .map((values) =>
      names.reduce(
        (url, name, i) =>
          url.replace(
            `{${name}}`,
            /^%|^\.\.$/.test(String(values[i])) ? String(values[i]) : encodeURIComponent(String(values[i])),
          ),
        path,
      ),
    );
}

/** `count:md5` of every row of `table` (optionally filtered), as a select-list expression. */
export function tableDigest(table: string, where: RawBuilder<unknown> = sql``): RawBuilder<unknown> {
  return sql`(SELECT count(*)::text || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '')
               FROM ${sql.table(table)} t ${where})`;
}

/**
 * What is stored, table by table, in one round trip (a snapshot around every generated request):
 * equal before and after means the request stored and changed nothing (an edit changes a digest, not
 * a count). `extra` adds named expressions for tables read another way.
 */
export async function storedDigests(
  // biome-ignore lint/suspicious/noExplicitAny: any service's database
  db: Kysely<any>,
  tables: readonly string[],
  extra: Record<string, RawBuilder<unknown>> = {},
): Promise<Record<string, string>> {
  const columns = [
    ...tables.map((table) => sql`${tableDigest(table)} AS ${sql.ref(table)}`),
    ...Object.entries(extra).map(([name, expression]) => sql`${expression} AS ${sql.ref(name)}`),
  ];
  const { rows } = await sql<Record<string, string>>`SELECT ${sql.join(columns)}`.execute(db);
  return rows[0]!;
}

/** Runs per property: enough to find the bugs of a shape, few enough to stay at a few seconds each. */
export const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 80);
