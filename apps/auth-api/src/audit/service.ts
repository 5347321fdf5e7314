import type { AuditEventDto, AuditEventsDto } from '@groupchat/contract';
import { problems } from '@groupchat/service-kit';
import { notOrgAdmin } from '../identity/errors.ts';
import { requireOrgMember } from '../identity/service.ts';
import { insufficientScope } from '../principal/errors.ts';
import { isOrgAdmin, isPlatformAdmin, type Principal } from '../principal/principal.ts';
import type { AuditRepository, AuditRow } from './repository.ts';

export interface AuditQuery {
  after?: string | undefined;
  limit?: number | undefined;
  type?: string | undefined;
}

/** Reading the audit log: an org's owners and admins see their org's events, the platform admin all. */
export class AuditService {
  readonly #repository: AuditRepository;

  constructor(repository: AuditRepository) {
    this.#repository = repository;
  }

  async listForOrg(caller: Principal, orgId: string, query: AuditQuery): Promise<AuditEventsDto> {
    const admin = requireOrgMember(caller, orgId);
    if (!isOrgAdmin(admin)) throw notOrgAdmin();
    return this.#page({ orgId: admin.orgId }, query);
  }

  async listAll(caller: Principal, query: AuditQuery): Promise<AuditEventsDto> {
    if (isPlatformAdmin(caller)) return this.#page({}, query);
    if (caller.type === 'service') throw insufficientScope('admin:clients');
    throw problems.forbidden('the platform audit log needs a platform administrator', 'not_platform_admin');
  }

  async #page(scope: { orgId?: string }, query: AuditQuery): Promise<AuditEventsDto> {
    const limit = query.limit ?? 50;
    const rows = await this.#repository.list({
      ...scope,
      afterSeq: query.after === undefined ? 0 : Number(query.after),
      limit: limit + 1,
      type: query.type,
    });
    const page = rows.slice(0, limit);
    return {
      events: page.map(toDto),
      next_cursor: rows.length > limit ? String(page.at(-1)?.seq) : null,
    };
  }
}

function toDto(row: AuditRow): AuditEventDto {
  return {
    id: row.id,
    type: row.type,
    actor: { type: row.actor_type, id: row.actor_id },
    target: { type: row.target_type, id: row.target_id },
    ip: row.ip,
    at: row.at.toISOString(),
    cursor: String(row.seq),
  };
}
