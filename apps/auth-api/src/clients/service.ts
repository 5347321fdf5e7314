import {
  Channels,
  CLIENT_ID_PATTERN,
  type ClientChangedEvent,
  GRANT_TYPES,
  KNOWN_SCOPES,
  MAX_GRACE_SECONDS,
  MIN_SUPPLIED_SECRET_LENGTH,
} from '@groupchat/contract';
import { type EventBus, isUniqueViolation, problems, uuidv7 } from '@groupchat/service-kit';
import type { Logger } from 'pino';
import { type AuditEntry, type AuditRepository, type AuditWrite, actorOf } from '../audit/repository.ts';
import { CacheInvalidations, RecordCache, SHARED_RECORD_TTL_MS } from '../cache/record-cache.ts';
import type { DeclaredClient } from '../config.ts';
import type { Argon2idHasher } from '../crypto/argon2id.ts';
import { insufficientScope } from '../principal/errors.ts';
import { isPlatformAdmin, type Principal } from '../principal/principal.ts';
import { PLATFORM_CLIENT_ID } from '../tokens/claims.ts';
import { checkRegistration } from './registration.ts';
import type {
  ClientRecord,
  ClientRepository,
  ClientType,
  ClientWithSecrets,
  SecretVersion,
  TokenEndpointAuthMethod,
} from './repository.ts';
import { generateClientSecret, VerifiedSecretCache } from './secrets.ts';

// client_id: unreserved URI characters only, so it never needs encoding in Basic auth or a path.
const CLIENT_ID_REGEX = new RegExp(CLIENT_ID_PATTERN);

/**
 * Who asks: a principal of the HTTP API (must be a platform admin), or the local operator (the CLI and
 * boot-time configuration), who already holds the database credentials.
 */
export type Actor = Principal | { type: 'operator'; name: string };

export interface NewClient {
  clientId?: string | undefined;
  clientName: string;
  clientSecret?: string | undefined;
  clientType: ClientType;
  allowedScopes: string[];
  grantTypes: string[];
  redirectUris?: string[] | undefined;
  tokenEndpointAuthMethod?: TokenEndpointAuthMethod | undefined;
  firstParty?: boolean | undefined;
}

export interface ClientView extends ClientRecord {
  secrets: SecretVersion[];
}

export interface CreatedClient extends ClientView {
  /** Returned once, at creation; only its Argon2id hash is stored. Null for public clients. */
  clientSecret: string | null;
}

export interface RotatedSecret {
  clientId: string;
  clientSecret: string;
  /** When the secrets it replaces stop working: now, or now + grace. */
  previousSecretsExpireAt: Date;
}

export interface AuthenticateHooks {
  /**
   * Called before an Argon2id verification (a secret this process has not seen succeed yet, an
   * unknown client, a wrong secret): the caller rate-limits that expensive path.
   */
  beforeSlowVerification?: () => Promise<void>;
}

export { SHARED_RECORD_TTL_MS };

/**
 * The OAuth client registry: registration, reading, deletion, secret rotation, and client
 * authentication for the token, introspection and revocation endpoints. Every public method that
 * changes or reveals clients checks access first.
 */
export class ClientService {
  readonly #repository: ClientRepository;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #cache = new VerifiedSecretCache();
  readonly #records: RecordCache<ClientWithSecrets> | null;
  /** When the cached records may answer (null: nothing is cached). */
  readonly #invalidations: CacheInvalidations | null;
  readonly #audit: AuditRepository | undefined;
  /** Shared database: where changes are announced to (and heard from) every other instance. */
  readonly #bus: EventBus | null;
  readonly #hasher: Argon2idHasher;

  constructor(options: {
    repository: ClientRepository;
    /** The process's one Argon2id hasher: client secrets share its bound with passwords. */
    hasher: Argon2idHasher;
    logger: Logger;
    now?: () => number;
    /**
     * This process is the only writer of the database (PGlite): client records may be cached in
     * memory and invalidated by our own writes. Otherwise (PostgreSQL, several instances) every
     * authentication reads the client from the database.
     */
    exclusiveDatabase?: boolean;
    /** Where client.created / secret_rotated / deleted are recorded, in the change's transaction. */
    audit?: AuditRepository;
    /**
     * A shared database (PostgreSQL) with a bus that reaches every instance (Redis): records are
     * cached too, every committed change is announced on the bus and every instance that hears it
     * forgets its copies; while the bus is down every authentication reads the database again.
     */
    bus?: EventBus | undefined;
  }) {
    this.#audit = options.audit;
    this.#repository = options.repository;
    this.#hasher = options.hasher;
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
    const shared = !options.exclusiveDatabase && options.bus !== undefined;
    this.#bus = shared ? options.bus! : null;
    const records = options.exclusiveDatabase
      ? new RecordCache<ClientWithSecrets>()
      : shared
        ? new RecordCache<ClientWithSecrets>({ ttlMs: SHARED_RECORD_TTL_MS, now: this.#now })
        : null;
    this.#records = records;
    this.#invalidations = records
      ? new CacheInvalidations({
          bus: this.#bus,
          channel: Channels.oauthClients,
          logger: this.#logger,
          // Client changes are rare: any announcement forgets every record.
          onMessage: () => records.invalidate(),
          reset: () => records.invalidate(),
        })
      : null;
  }

  /** Whether cached records may answer now (shared database: only while the bus carries changes). */
  #cacheUsable(): boolean {
    return this.#invalidations?.usable() ?? false;
  }

  /** After a committed change to a client: forget our copies and tell every other instance. */
  async #changed(clientId: string): Promise<void> {
    this.#records?.invalidate();
    if (!this.#bus) return;
    const event: ClientChangedEvent = { type: 'client_changed', client_id: clientId };
    try {
      await this.#bus.publish(Channels.oauthClients, event);
    } catch (error) {
      // Other instances fall back on the TTL (SHARED_RECORD_TTL_MS) for this change.
      this.#logger.warn(
        { err: error, event: 'client_change_publish_failed', client_id: clientId },
        'client change not announced on the bus',
      );
    }
  }

  // ---------------------------------------------------------------- administration

  /** The audit write for a client change (platform events: no org). */
  #audited(
    actor: Actor,
    type: AuditEntry['type'],
    clientId: string,
    ip: string | null,
  ): AuditWrite | undefined {
    const audit = this.#audit;
    if (!audit) return undefined;
    const who = actor.type === 'operator' ? { type: 'system' as const, id: actor.name } : actorOf(actor);
    return (trx) =>
      audit.record(trx, { orgId: null, type, actor: who, target: { type: 'client', id: clientId }, ip });
  }

  async create(actor: Actor, input: NewClient, ip: string | null = null): Promise<CreatedClient> {
    this.assertAdmin(actor);
    const clientId = input.clientId ?? uuidv7();
    if (!CLIENT_ID_REGEX.test(clientId))
      throw problems.badRequest(
        'client_id must be 3 to 128 letters, digits, ".", "_", "~" or "-"',
        'invalid_client_id',
      );
    if (clientId === PLATFORM_CLIENT_ID)
      throw problems.conflict(
        `client_id "${clientId}" is reserved for the platform's own web client`,
        'client_id_taken',
      );
    const fields = checkRegistration(input);
    const { allowedScopes, grantTypes } = fields;
    let clientSecret: string | null = null;
    if (input.clientType === 'public') {
      if (input.clientSecret !== undefined)
        throw problems.badRequest('a public client has no secret', 'public_client_secret');
    } else {
      if (input.clientSecret !== undefined && input.clientSecret.length < MIN_SUPPLIED_SECRET_LENGTH)
        throw problems.badRequest(
          `client_secret must be at least ${MIN_SUPPLIED_SECRET_LENGTH} characters; omit it to have one generated`,
          'weak_client_secret',
        );
      clientSecret = input.clientSecret ?? generateClientSecret();
    }
    const now = new Date(this.#now());
    const secretRow = clientSecret ? { id: uuidv7(), hash: await this.#hasher.hash(clientSecret) } : null;
    let record: ClientRecord;
    try {
      record = await this.#repository.insert(
        { clientId, ...fields },
        secretRow,
        now,
        this.#audited(actor, 'client.created', clientId, ip),
      );
    } catch (error) {
      if (isUniqueViolation(error))
        throw problems.conflict(`client_id "${clientId}" is already taken`, 'client_id_taken');
      throw error;
    }
    await this.#changed(clientId);
    // We hashed it a moment ago: this process need not pay Argon2id again to recognise it.
    if (secretRow && clientSecret) this.#cache.remember(secretRow.id, this.#cache.digest(clientSecret));
    this.#logger.info(
      {
        event: 'oauth_client_created',
        client_id: clientId,
        scopes: allowedScopes,
        grant_types: grantTypes,
        redirect_uris: fields.redirectUris,
        first_party: fields.firstParty,
        actor: describeActor(actor),
      },
      'OAuth client created',
    );
    return {
      ...record,
      secrets: secretRow ? [{ id: secretRow.id, createdAt: now, expiresAt: null }] : [],
      clientSecret,
    };
  }

  async list(actor: Actor): Promise<ClientRecord[]> {
    this.assertAdmin(actor);
    return this.#repository.list();
  }

  async get(actor: Actor, clientId: string): Promise<ClientView> {
    this.assertAdmin(actor);
    const record = await this.#repository.find(clientId);
    if (!record) throw notFound(clientId);
    return { ...record, secrets: await this.#repository.secretVersions(clientId, new Date(this.#now())) };
  }

  async delete(actor: Actor, clientId: string, ip: string | null = null): Promise<void> {
    this.assertAdmin(actor);
    const deleted = await this.#repository.delete(
      clientId,
      this.#audited(actor, 'client.deleted', clientId, ip),
    );
    await this.#changed(clientId);
    if (!deleted) throw notFound(clientId);
    this.#logger.info(
      { event: 'oauth_client_deleted', client_id: clientId, actor: describeActor(actor) },
      'OAuth client deleted',
    );
  }

  /**
   * A new secret, returned once. The secrets it replaces stop working at once, or after
   * `graceSeconds` so that every instance of the client can pick up the new one first.
   */
  async rotateSecret(
    actor: Actor,
    clientId: string,
    graceSeconds = 0,
    ip: string | null = null,
  ): Promise<RotatedSecret> {
    this.assertAdmin(actor);
    if (!Number.isInteger(graceSeconds) || graceSeconds < 0 || graceSeconds > MAX_GRACE_SECONDS)
      throw problems.badRequest(
        `grace_seconds must be an integer from 0 to ${MAX_GRACE_SECONDS}`,
        'invalid_grace',
      );
    const record = await this.#repository.find(clientId);
    if (!record) throw notFound(clientId);
    if (record.clientType !== 'confidential')
      throw problems.badRequest('a public client has no secret to rotate', 'public_client_secret');
    const clientSecret = generateClientSecret();
    const expireAt = await this.#replaceSecret(
      clientId,
      clientSecret,
      graceSeconds,
      this.#audited(actor, 'client.secret_rotated', clientId, ip),
    );
    this.#logger.info(
      {
        event: 'oauth_client_secret_rotated',
        client_id: clientId,
        grace_seconds: graceSeconds,
        previous_secrets_expire_at: expireAt.toISOString(),
        actor: describeActor(actor),
      },
      'OAuth client secret rotated',
    );
    return { clientId, clientSecret, previousSecretsExpireAt: expireAt };
  }

  /**
   * Creates or updates the clients declared in configuration (chat-api-service from
   * SERVICE_CLIENT_SECRET). Idempotent across restarts and concurrent starts; configuration is the
   * source of truth: name and scopes are set from it, and when the configured secret no longer matches
   * the client's current secret, it replaces it at once.
   */
  async ensureDeclared(declared: readonly DeclaredClient[]): Promise<void> {
    const actor: Actor = { type: 'operator', name: 'configuration' };
    for (const client of declared) {
      const clientType = client.clientType ?? 'confidential';
      const fields = checkRegistration({
        clientName: client.clientName,
        clientType,
        allowedScopes: client.scopes,
        grantTypes: client.grantTypes ?? ['client_credentials'],
        redirectUris: client.redirectUris,
        tokenEndpointAuthMethod: client.tokenEndpointAuthMethod,
        firstParty: client.firstParty,
      });
      let existing = await this.#lookup(client.clientId);
      if (!existing) {
        try {
          await this.create(actor, {
            clientId: client.clientId,
            ...(client.secret !== null ? { clientSecret: client.secret } : {}),
            ...fields,
          });
          continue;
        } catch (error) {
          // Another instance created it between our read and our insert: update it like an existing one.
          if ((error as { code?: string }).code !== 'client_id_taken') throw error;
          existing = await this.#lookup(client.clientId);
          if (!existing) continue;
        }
      }
      if (
        existing.clientName !== fields.clientName ||
        existing.clientType !== fields.clientType ||
        !sameSet(existing.allowedScopes, fields.allowedScopes) ||
        !sameSet(existing.grantTypes, fields.grantTypes) ||
        !sameList(existing.redirectUris, fields.redirectUris) ||
        existing.tokenEndpointAuthMethod !== fields.tokenEndpointAuthMethod ||
        existing.firstParty !== fields.firstParty
      ) {
        await this.#repository.update(client.clientId, fields, new Date(this.#now()));
        await this.#changed(client.clientId);
        this.#logger.info(
          { event: 'oauth_client_updated', client_id: client.clientId, scopes: fields.allowedScopes },
          'declared OAuth client updated from configuration',
        );
      }
      if (client.secret === null) continue;
      const digest = this.#cache.digest(client.secret);
      let current = false;
      for (const secret of existing.secrets) {
        if (secret.expiresAt !== null) continue;
        if (await this.#cache.verify(this.#hasher, secret.id, secret.hash, client.secret, digest))
          current = true;
      }
      if (!current) {
        await this.#replaceSecret(client.clientId, client.secret, 0);
        this.#logger.info(
          { event: 'oauth_client_secret_replaced', client_id: client.clientId },
          'declared OAuth client secret replaced from configuration',
        );
      }
    }
  }

  async deleteExpiredSecrets(): Promise<number> {
    const purged = await this.#repository.deleteExpiredSecrets(new Date(this.#now()));
    // Expired secrets are refused by the clock already: forgetting our copies is enough.
    this.#records?.invalidate();
    return purged;
  }

  // ---------------------------------------------------------------- authentication

  /**
   * The client when `secret` is one of its current secrets, answered from memory alone, or undefined
   * when memory cannot tell (record not cached, secret not verified here yet, a wrong secret): then
   * the caller goes through `authenticate`. The token endpoint's hot path: no storage round trip.
   */
  authenticateFromMemory(clientId: string, secret: string): ClientRecord | undefined {
    if (!this.#cacheUsable()) return undefined;
    const cached = this.#records!.peek(clientId);
    if (!cached || cached.clientType !== 'confidential') return undefined;
    const digest = this.#cache.digest(secret);
    const now = this.#now();
    for (const row of cached.secrets) {
      if (row.expiresAt !== null && row.expiresAt.getTime() <= now) continue;
      if (this.#cache.matches(row.id, digest)) return stripSecrets(cached);
    }
    return undefined;
  }

  /**
   * The client when `secret` is one of its current secrets, else null. Records come from memory when
   * this process may trust it (PGlite: the only writer, invalidated by its own writes; PostgreSQL:
   * invalidated by every instance's announcements on the bus, read again while the bus is down), else
   * from the database (one indexed query). The Argon2id verification is paid once per (secret row,
   * presented value) per process; after that a success costs one HMAC and a constant-time comparison.
   */
  async authenticate(
    clientId: string,
    secret: string,
    hooks: AuthenticateHooks = {},
  ): Promise<ClientRecord | null> {
    const found = await this.#lookup(clientId);
    const digest = this.#cache.digest(secret);
    if (found && found.clientType === 'confidential') {
      for (const row of found.secrets) if (this.#cache.matches(row.id, digest)) return stripSecrets(found);
    }
    await hooks.beforeSlowVerification?.();
    if (found?.clientType !== 'confidential' || found.secrets.length === 0) {
      // Same work as a wrong secret, so timing does not tell which client ids exist.
      await this.#burn(secret);
      return null;
    }
    for (const row of found.secrets) {
      if (await this.#cache.verify(this.#hasher, row.id, row.hash, secret, digest))
        return stripSecrets(found);
    }
    return null;
  }

  /**
   * The registered client, without authenticating it: for the authorization endpoint (which must
   * check client_id and redirect_uri before anything else) and for public clients at the token
   * endpoint (`none`: the client_id is all they present). Same cached read as authentication.
   */
  async find(clientId: string): Promise<ClientRecord | undefined> {
    const found = await this.#lookup(clientId);
    return found ? stripSecrets(found) : undefined;
  }

  /** For introspection: whether the client still exists (no access check: it reveals nothing). */
  async exists(clientId: string): Promise<boolean> {
    return (await this.#lookup(clientId)) !== undefined;
  }

  // ---------------------------------------------------------------- internals

  /** The client with the secrets valid now: from the database, or the exclusive-database cache. */
  async #lookup(clientId: string): Promise<ClientWithSecrets | undefined> {
    const load = () => this.#repository.findWithSecrets(clientId);
    const record = this.#cacheUsable() ? await this.#records!.get(clientId, load) : await load();
    if (!record) return undefined;
    const now = this.#now();
    return {
      ...record,
      secrets: record.secrets.filter(
        (secret) => secret.expiresAt === null || secret.expiresAt.getTime() > now,
      ),
    };
  }

  async #replaceSecret(
    clientId: string,
    clientSecret: string,
    graceSeconds: number,
    audit?: AuditWrite,
  ): Promise<Date> {
    const nowMs = this.#now();
    const expireAt = new Date(nowMs + graceSeconds * 1000);
    const row = { id: uuidv7(), hash: await this.#hasher.hash(clientSecret) };
    const done = await this.#repository.addSecretAndExpireOthers(
      clientId,
      row,
      new Date(nowMs),
      expireAt,
      audit,
    );
    await this.#changed(clientId);
    if (!done) throw notFound(clientId);
    this.#cache.remember(row.id, this.#cache.digest(clientSecret));
    return expireAt;
  }

  async #burn(secret: string): Promise<void> {
    await this.#hasher.verifyOrBurn(undefined, secret);
  }

  /** Platform admins (and the local operator) only; a client token without admin:clients gets 403 insufficient_scope. */
  assertAdmin(actor: Actor): void {
    if (actor.type === 'operator') return;
    if (isPlatformAdmin(actor)) return;
    if (actor.type === 'service') throw insufficientScope('admin:clients');
    throw problems.forbidden('managing OAuth clients needs a platform administrator', 'not_platform_admin');
  }
}

function stripSecrets(client: ClientRecord & { secrets?: unknown }): ClientRecord {
  const { secrets: _secrets, ...record } = client;
  return record;
}

function notFound(clientId: string) {
  return problems.notFound(`no OAuth client "${clientId}"`, 'client_not_found');
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((item, index) => b[index] === item);
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((item) => b.includes(item));
}

function describeActor(actor: Actor): string {
  switch (actor.type) {
    case 'operator':
      return `operator:${actor.name}`;
    case 'service':
      return `client:${actor.clientId}`;
    default:
      return `user:${actor.userId}`;
  }
}
