/**
 * auth-api command line: the operator's tool, and the way to create the first (admin) client.
 *
 *   npm run cli -- migrate
 *   npm run cli -- clients create --name "Ops console" --scopes "admin:clients" [--id ops-console]
 *   npm run cli -- clients list [--json]
 *   npm run cli -- clients show <client_id>
 *   npm run cli -- clients rotate <client_id> [--grace 3600]
 *   npm run cli -- clients delete <client_id>
 *   npm run cli -- keys rotate [--immediate]
 *   npm run cli -- keys revoke KID
 *
 * It reads the same environment as the server (DATABASE_URL, or DATA_DIR for PGlite, resolved from the
 * directory npm was started in), opens the database directly and migrates it. With PGlite, stop the
 * server first: an embedded database has one process at a time. Secrets are printed once, on stdout.
 */
import { isAbsolute, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { KNOWN_SCOPES } from '@groupchat/contract';
import {
  ConfigError,
  createBus,
  createLogger,
  dataDirHolder,
  type Env,
  type EventBus,
  HttpProblem,
  MemoryBus,
  MemoryRateLimiter,
  migrateToLatest,
  openDatabase,
} from '@groupchat/service-kit';
import type { Actor } from './clients/index.ts';
import { createClientService } from './clients/index.ts';
import { clientView, summaryView } from './clients/views.ts';
import { type AuthConfig, loadAuthConfig } from './config.ts';
import { createAuthCore } from './core.ts';
import { migrations } from './db/migrations.ts';
import type { AuthDB } from './db/schema.ts';
import { withKeySecret } from './keys/at-rest.ts';

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
}

const USAGE = `usage: npm run cli -- <command>

  migrate                                      apply pending database migrations
  clients create --name <name> --scopes "<scope> …" [--id <client_id>]
                 [--type confidential|public] [--grants "client_credentials"]
                 [--redirect-uris "<uri> …"] [--auth-method none|client_secret_basic|client_secret_post]
                 [--first-party]
                 [--secret-env <VAR>]          register a client; its secret is printed once
                                               (--secret-env: take the secret from that variable)
  clients list [--json]                        list clients (never their secrets)
  clients show <client_id>                     one client, with its secret versions (not the secrets)
  clients rotate <client_id> [--grace <s>]     new secret, printed once; the old one stops at once
                                               or after <s> seconds
  clients delete <client_id>                   delete a client: its secrets stop working at once
  keys revoke KID                              emergency: the key leaves JWKS and signs nothing more at once
  keys rotate [--immediate]                    new signing key: published now, signing after
                                               SIGNING_KEY_PUBLISH_AHEAD_SECONDS (or at once)

scopes: ${KNOWN_SCOPES.join(', ')}
environment: the server's (DATABASE_URL, or DATA_DIR for PGlite; SIGNING_KEY_ENCRYPTION_SECRET, …)`;

const OPERATOR: Actor = { type: 'operator', name: 'cli' };

class UsageError extends Error {}

function authMethod(value: string | undefined) {
  if (value === undefined) return undefined;
  if (value === 'none' || value === 'client_secret_basic' || value === 'client_secret_post') return value;
  throw new UsageError('--auth-method must be none, client_secret_basic or client_secret_post');
}

/** Runs one command; returns the process exit code (0 ok, 1 failed, 2 usage or configuration). */
export async function runCli(
  argv: readonly string[],
  env: Env = process.env,
  io: CliIo = consoleIo,
): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    io.err(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { positionals, values } = parsed;
  const [group, command, ...rest] = positionals;
  if (values.help || group === undefined || group === 'help') {
    io.out(USAGE);
    return group === undefined && !values.help ? 2 : 0;
  }
  const known = [
    'migrate',
    'clients create',
    'clients list',
    'clients show',
    'clients rotate',
    'clients delete',
    'keys rotate',
    'keys revoke',
  ];
  const commandName = group === 'migrate' ? 'migrate' : `${group} ${command ?? ''}`.trim();
  if (!known.includes(commandName)) {
    io.err(`unknown command: ${positionals.join(' ')}\n\n${USAGE}`);
    return 2;
  }
  let config: AuthConfig;
  try {
    config = withResolvedDataDir(loadAuthConfig(env), env);
  } catch (error) {
    if (error instanceof ConfigError) {
      io.err(`auth-api cli: ${error.message}`);
      return 2;
    }
    throw error;
  }
  if (config.database.kind === 'pglite' && config.database.dataDir) {
    const holder = dataDirHolder(config.database.dataDir);
    if (holder !== null) {
      io.err(
        `auth-api cli: ${config.database.dataDir} is in use by a running server (pid ${holder}); stop it first`,
      );
      return 1;
    }
    io.err(`database: PGlite at ${config.database.dataDir}`);
  }
  const logger = createLogger('auth-cli', env.LOG_LEVEL === undefined ? 'warn' : config.logLevel);
  const database = await openDatabase<AuthDB>(config.database);
  let cliBus: EventBus | undefined;
  try {
    const applied = await migrateToLatest(database.db, migrations);
    if (group === 'migrate') {
      io.out(applied.length > 0 ? `applied: ${applied.join(', ')}` : 'the database is up to date');
      return 0;
    }
    const core = createAuthCore({
      config: withKeySecret(config),
      db: database.db,
      bus: new MemoryBus(),
      rateLimiter: new MemoryRateLimiter(),
      logger,
    });
    // With Redis configured, running auth-api instances cache client records: tell them of our changes.
    if (config.redisUrl && config.database.kind === 'postgres') {
      cliBus = createBus(config.redisUrl);
    }
    const clients = createClientService({
      db: database.db,
      hasher: core.hasher,
      logger,
      ...(cliBus ? { bus: cliBus } : {}),
    });
    switch (commandName) {
      case 'clients create': {
        if (!values.name) throw new UsageError('clients create needs --name');
        if (values.scopes === undefined) throw new UsageError('clients create needs --scopes (may be "")');
        let secret: string | undefined;
        if (values['secret-env']) {
          secret = env[values['secret-env']];
          if (!secret) throw new UsageError(`the variable ${values['secret-env']} is empty`);
        }
        const type = values.type ?? 'confidential';
        if (type !== 'confidential' && type !== 'public')
          throw new UsageError('--type must be confidential or public');
        const created = await clients.create(OPERATOR, {
          clientId: values.id,
          clientName: values.name,
          clientSecret: secret,
          clientType: type,
          allowedScopes: words(values.scopes),
          grantTypes: words(values.grants ?? (type === 'public' ? '' : 'client_credentials')),
          redirectUris: words(values['redirect-uris'] ?? ''),
          tokenEndpointAuthMethod: authMethod(values['auth-method']),
          firstParty: values['first-party'] ?? false,
        });
        io.out(
          JSON.stringify(
            {
              client_id: created.clientId,
              ...(created.clientSecret !== null && secret === undefined
                ? { client_secret: created.clientSecret }
                : {}),
              client_name: created.clientName,
              client_type: created.clientType,
              allowed_scopes: created.allowedScopes,
              grant_types: created.grantTypes,
              redirect_uris: created.redirectUris,
              token_endpoint_auth_method: created.tokenEndpointAuthMethod,
              first_party: created.firstParty,
            },
            null,
            2,
          ),
        );
        if (created.clientSecret !== null && secret === undefined)
          io.err('store client_secret now: it is not shown again (only its hash is kept)');
        return 0;
      }
      case 'clients list': {
        const list = await clients.list(OPERATOR);
        if (values.json) {
          io.out(JSON.stringify(list.map(summaryView), null, 2));
        } else {
          io.out(table(list.map(summaryView)));
        }
        return 0;
      }
      case 'clients show': {
        const clientId = only(rest, 'clients show <client_id>');
        io.out(JSON.stringify(clientView(await clients.get(OPERATOR, clientId)), null, 2));
        return 0;
      }
      case 'clients rotate': {
        const clientId = only(rest, 'clients rotate <client_id>');
        const grace = values.grace === undefined ? 0 : Number(values.grace);
        if (!Number.isInteger(grace) || grace < 0)
          throw new UsageError('--grace must be a number of seconds');
        const rotated = await clients.rotateSecret(OPERATOR, clientId, grace);
        io.out(
          JSON.stringify(
            {
              client_id: rotated.clientId,
              client_secret: rotated.clientSecret,
              previous_secrets_expire_at: rotated.previousSecretsExpireAt.toISOString(),
            },
            null,
            2,
          ),
        );
        io.err('store client_secret now: it is not shown again (only its hash is kept)');
        return 0;
      }
      case 'clients delete': {
        const clientId = only(rest, 'clients delete <client_id>');
        await clients.delete(OPERATOR, clientId);
        io.out(`deleted ${clientId}`);
        return 0;
      }
      case 'keys rotate': {
        await core.keys.refresh();
        const { kid, activatesAt } = await core.keys.rotate({ immediate: values.immediate === true });
        io.out(
          JSON.stringify(
            { kid, published_at: new Date().toISOString(), signs_from: activatesAt.toISOString() },
            null,
            2,
          ),
        );
        if (values.immediate !== true)
          io.err(
            `the new key is in JWKS now and signs from ${activatesAt.toISOString()}; running instances pick it up within 30 s`,
          );
        return 0;
      }
      case 'keys revoke': {
        const kid = positionals[2];
        if (!kid) throw new UsageError('keys revoke needs the key id (kid)');
        let result: { replacedBy: string | null };
        try {
          result = await core.keys.revoke(kid);
        } catch (error) {
          io.err(`auth-api cli: ${(error as Error).message}`);
          return 1;
        }
        io.out(JSON.stringify({ revoked: kid, signing_now: result.replacedBy }, null, 2));
        io.err('running instances and chat-api stop trusting it within a few seconds (change feed)');
        return 0;
      }
      default:
        throw new UsageError(`unknown command: ${positionals.join(' ')}`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`${error.message}\n\n${USAGE}`);
      return 2;
    }
    if (error instanceof HttpProblem) {
      io.err(`error: ${error.detail}`);
      return 1;
    }
    throw error;
  } finally {
    await cliBus?.close();
    await database.close();
  }
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      name: { type: 'string' },
      scopes: { type: 'string' },
      id: { type: 'string' },
      type: { type: 'string' },
      grants: { type: 'string' },
      'redirect-uris': { type: 'string' },
      'auth-method': { type: 'string' },
      'first-party': { type: 'boolean' },
      'secret-env': { type: 'string' },
      grace: { type: 'string' },
      immediate: { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

/** A relative DATA_DIR means relative to where the operator ran npm (INIT_CWD), like the launcher. */
function withResolvedDataDir(config: AuthConfig, env: Env): AuthConfig {
  if (config.database.kind !== 'pglite' || !config.database.dataDir || isAbsolute(config.database.dataDir))
    return config;
  const base = env.INIT_CWD ?? process.cwd();
  return { ...config, database: { kind: 'pglite', dataDir: resolve(base, config.database.dataDir) } };
}

function words(value: string): string[] {
  return value.split(/[\s,]+/).filter(Boolean);
}

function only(rest: string[], usage: string): string {
  if (rest.length !== 1 || !rest[0]) throw new UsageError(`usage: ${usage}`);
  return rest[0];
}

function table(rows: ReturnType<typeof summaryView>[]): string {
  if (rows.length === 0) return '(no clients)';
  const lines = rows.map((row) => [
    row.client_id,
    row.client_name,
    row.client_type,
    row.allowed_scopes.join(' ') || '-',
    row.grant_types.join(' ') || '-',
    row.created_at,
  ]);
  const header = ['CLIENT_ID', 'NAME', 'TYPE', 'SCOPES', 'GRANTS', 'CREATED'];
  const widths = header.map((title, i) => Math.max(title.length, ...lines.map((line) => line[i]!.length)));
  const format = (cells: string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [format(header), ...lines.map(format)].join('\n');
}

const consoleIo: CliIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

if (import.meta.main) {
  process.exitCode = await runCli(process.argv.slice(2));
}
