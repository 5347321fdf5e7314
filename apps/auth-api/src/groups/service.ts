import type {
  Group as GroupDto,
  Member as MemberDto,
  Membership as MembershipDto,
} from '@groupchat/contract';
import { uuidv7 } from '@groupchat/service-kit';
import { type AuditEntry, type AuditRepository, type AuditWrite, actorOf } from '../audit/repository.ts';
import type { GroupRole } from '../db/schema.ts';
import { orgNotFound } from '../identity/errors.ts';
import type { OrgRepository } from '../orgs/repository.ts';
import { isOrgAdmin, type Principal, type UserPrincipal } from '../principal/principal.ts';
import type { PrincipalResolver } from '../principal/resolver.ts';
import type { UserRepository } from '../users/repository.ts';
import type { GroupCache, Membership } from './cache.ts';
import {
  alreadyMember,
  directGroupClosed,
  directPeerIsSelf,
  groupNotFound,
  memberIdForServices,
  memberNotFound,
  notGroupManager,
  notGroupMember,
  orgIdRequired,
  userNotFound,
  usersOnly,
} from './errors.ts';
import type { MembershipEvents } from './events.ts';
import type { GroupRecord, GroupRepository, MemberRecord } from './repository.ts';

export interface GroupServiceDeps {
  groups: GroupRepository;
  users: UserRepository;
  orgs: OrgRepository;
  /** Scope checks for service principals (users' rights come from roles and membership, checked here). */
  scopes: Pick<PrincipalResolver, 'requireScope'>;
  events: MembershipEvents;
  audit: AuditRepository;
  /** Groups and memberships for the read paths; told of every change here after its commit. */
  cache: GroupCache;
}

/**
 * Groups and their members, for two kinds of caller:
 * - a user acts inside their own organization: another org's group is 404 (as if it did not exist), a
 *   group of their org they may not see or change is 403;
 * - a service acts on any organization, exactly as far as its scopes allow (groups:read, groups:write,
 *   members:read); a missing scope is 403 before anything about the target is revealed.
 * Access is always decided before the data is touched; events go out only after the commit.
 */
export class GroupService {
  readonly #groups: GroupRepository;
  readonly #users: UserRepository;
  readonly #orgs: OrgRepository;
  readonly #scopes: Pick<PrincipalResolver, 'requireScope'>;
  readonly #events: MembershipEvents;
  readonly #audit: AuditRepository;
  readonly #cache: GroupCache;

  constructor(deps: GroupServiceDeps) {
    this.#groups = deps.groups;
    this.#users = deps.users;
    this.#orgs = deps.orgs;
    this.#scopes = deps.scopes;
    this.#events = deps.events;
    this.#audit = deps.audit;
    this.#cache = deps.cache;
  }

  /** The audit write for a change, run by the repository inside the change's transaction. */
  #audited(
    caller: Principal,
    orgId: string,
    type: AuditEntry['type'],
    target: AuditEntry['target'],
    ip: string | null,
  ): AuditWrite {
    return (trx) => this.#audit.record(trx, { orgId, type, actor: actorOf(caller), target, ip });
  }

  async create(
    caller: Principal,
    input: { name: string; org_id?: string | undefined },
    ip: string | null = null,
  ): Promise<GroupDto> {
    const name = input.name.trim();
    this.#scopes.requireScope(caller, 'groups:write');
    const id = uuidv7();
    if (caller.type === 'service') {
      if (!input.org_id) throw orgIdRequired();
      const org = await this.#orgs.findById(input.org_id);
      if (!org) throw orgNotFound();
      // A service-created group starts empty; members are added with POST …/members.
      const { group } = await this.#groups.create(
        { id, orgId: org.id, name },
        null,
        this.#audited(caller, org.id, 'group.created', { type: 'group', id }, ip),
      );
      return toGroupDto(group);
    }
    if (input.org_id !== undefined && input.org_id.toLowerCase() !== caller.orgId) throw orgNotFound();
    const { group } = await this.#groups.create(
      { id, orgId: caller.orgId, name },
      { userId: caller.userId },
      this.#audited(caller, caller.orgId, 'group.created', { type: 'group', id }, ip),
    );
    await this.#events.memberAdded(group, caller.userId, 'owner');
    return toGroupDto(group);
  }

  /**
   * The caller's direct conversation with `user_id` (same organization only: anyone else is 404, as if
   * they did not exist). `created` tells 201 from 200.
   */
  async openDirect(
    caller: Principal,
    input: { user_id: string },
  ): Promise<{ group: GroupDto; created: boolean }> {
    if (caller.type === 'service') throw usersOnly();
    const peerId = input.user_id.toLowerCase();
    if (peerId === caller.userId) throw directPeerIsSelf();
    const peer = await this.#users.findInOrg(peerId, caller.orgId);
    if (!peer) throw userNotFound();
    const result = await this.#groups.findOrCreateDirect({
      id: uuidv7(),
      orgId: caller.orgId,
      creatorId: caller.userId,
      peerId: peer.id,
    });
    if (result.added.length > 0)
      this.#cache.changed(result.group.id, { userIds: result.added.map((m) => m.userId) });
    for (const member of result.added) await this.#events.memberAdded(result.group, member.userId, 'member');
    return { group: toGroupDto(result.group), created: result.created };
  }

  async list(
    caller: Principal,
    query: { org_id?: string | undefined; member_id?: string | undefined },
  ): Promise<GroupDto[]> {
    this.#scopes.requireScope(caller, 'groups:read');
    if (caller.type === 'service') {
      if (!query.org_id) throw orgIdRequired();
      const orgId = query.org_id.toLowerCase();
      if (!(await this.#orgs.findById(orgId))) throw orgNotFound();
      if (query.member_id === undefined) return (await this.#groups.listByOrg(orgId)).map(toGroupDto);
      // One user's groups (a resource server listing them for that user, without the user's own token):
      // a membership question, so members:read as well. A user of another organization has none here.
      this.#scopes.requireScope(caller, 'members:read');
      const mine = await this.#groups.listForUser(query.member_id.toLowerCase());
      return mine.filter((group) => group.orgId === orgId).map(toGroupDto);
    }
    if (query.member_id !== undefined) throw memberIdForServices();
    if (query.org_id !== undefined && query.org_id.toLowerCase() !== caller.orgId) throw orgNotFound();
    return (await this.#groups.listForUser(caller.userId)).map(toGroupDto);
  }

  async get(caller: Principal, groupId: string): Promise<GroupDto> {
    return toGroupDto(await this.#visibleGroup(caller, groupId, 'groups:read'));
  }

  async listMembers(caller: Principal, groupId: string): Promise<MemberDto[]> {
    const group = await this.#visibleGroup(caller, groupId, 'members:read');
    return (await this.#groups.listMembers(group.id)).map(toMemberDto);
  }

  /** What a resource server asks on every message: is this user a member, and of which org's group. */
  async getMember(caller: Principal, groupId: string, userId: string): Promise<MembershipDto> {
    const group = await this.#visibleGroup(caller, groupId, 'members:read');
    // Always from the database, never the cache: a resource server that missed a member_removed
    // catches up from the change feed and asks again here; a cached copy on an instance that lost the
    // same bus message would re-confirm the member and defeat that catch-up.
    const member = await this.#groups.findMember(group.id, userId);
    if (!member) throw memberNotFound();
    return {
      group_id: group.id,
      user_id: member.userId,
      role: member.role,
      org_id: group.orgId,
      joined_at: member.joinedAt.toISOString(),
    };
  }

  async addMember(
    caller: Principal,
    groupId: string,
    input: { user_id: string; role?: GroupRole | undefined },
    ip: string | null = null,
  ): Promise<MemberDto> {
    const group = await this.#manageableGroup(caller, groupId);
    // A direct conversation is between its two users for good: no one else joins it.
    if (group.kind === 'direct') throw directGroupClosed();
    const user = await this.#users.findInOrg(input.user_id, group.orgId);
    if (!user) throw userNotFound();
    const role = input.role ?? 'member';
    const result = await this.#groups.addMember(
      { groupId: group.id, userId: user.id, role },
      this.#audited(caller, group.orgId, 'member.added', { type: 'user', id: user.id }, ip),
    );
    if (result.status === 'gone') {
      this.#cache.changed(group.id, { allMembers: true });
      throw groupNotFound();
    }
    if (result.status === 'exists') throw alreadyMember();
    this.#cache.changed(group.id, { userIds: [user.id] });
    await this.#events.memberAdded(group, user.id, role);
    return {
      user_id: user.id,
      role,
      joined_at: result.joinedAt.toISOString(),
      display_name: user.displayName,
    };
  }

  /** The group's owner, an admin of its org, or the member themself (leaving); services: groups:write. */
  async removeMember(
    caller: Principal,
    groupId: string,
    userId: string,
    ip: string | null = null,
  ): Promise<void> {
    const target = userId.toLowerCase();
    this.#scopes.requireScope(caller, 'groups:write');
    const group =
      caller.type === 'user' && caller.userId === target
        ? await this.#sameOrgGroup(caller, groupId)
        : await this.#manageableGroup(caller, groupId);
    const audit = this.#audited(caller, group.orgId, 'member.removed', { type: 'user', id: target }, ip);
    if (!(await this.#groups.removeMember(group.id, target, audit))) throw memberNotFound();
    this.#cache.changed(group.id, { userIds: [target] });
    await this.#events.memberRemoved(group, target);
  }

  /** Not in the contract's table; the group's owner or an org admin (services: groups:write). */
  async delete(caller: Principal, groupId: string, ip: string | null = null): Promise<void> {
    const group = await this.#manageableGroup(caller, groupId);
    const members = await this.#groups.delete(
      group.id,
      this.#audited(caller, group.orgId, 'group.deleted', { type: 'group', id: group.id }, ip),
    );
    this.#cache.changed(group.id, { allMembers: true });
    if (members === null) throw groupNotFound();
    // Resource servers that only track member_removed still drop every member of a deleted group.
    for (const userId of members) await this.#events.memberRemoved(group, userId);
    await this.#events.groupDeleted(group);
  }

  /** Readable: a service with `scope`, or a user who is a member of the group. */
  async #visibleGroup(caller: Principal, groupId: string, scope: string): Promise<GroupRecord> {
    this.#scopes.requireScope(caller, scope);
    if (caller.type === 'service') return this.#existingGroup(groupId);
    const group = await this.#sameOrgGroup(caller, groupId);
    if (!(await this.#membership(group, caller))) throw notGroupMember();
    return group;
  }

  /** Membership may be changed by a service with groups:write, the group's owner, or an org owner/admin. */
  async #manageableGroup(caller: Principal, groupId: string): Promise<GroupRecord> {
    this.#scopes.requireScope(caller, 'groups:write');
    if (caller.type === 'service') return this.#existingGroup(groupId);
    const group = await this.#sameOrgGroup(caller, groupId);
    if (isOrgAdmin(caller)) return group;
    if ((await this.#membership(group, caller))?.role !== 'owner') throw notGroupManager();
    return group;
  }

  async #sameOrgGroup(caller: UserPrincipal, groupId: string): Promise<GroupRecord> {
    const group = await this.#group(groupId);
    if (!group || group.orgId !== caller.orgId) throw groupNotFound();
    return group;
  }

  async #existingGroup(groupId: string): Promise<GroupRecord> {
    const group = await this.#group(groupId);
    if (!group) throw groupNotFound();
    return group;
  }

  #membership(group: GroupRecord, caller: UserPrincipal): Promise<Membership | undefined> {
    return this.#member(group.id, caller.userId);
  }

  /** The group, from the cache (read from the database on a miss). */
  #group(groupId: string): Promise<GroupRecord | undefined> {
    return this.#cache.group(groupId, () => this.#groups.findById(groupId));
  }

  /** One membership, from the cache (read from the database on a miss). */
  #member(groupId: string, userId: string): Promise<Membership | undefined> {
    return this.#cache.membership(groupId, userId, async () => {
      const member = await this.#groups.findMember(groupId, userId);
      return member && { userId: member.userId, role: member.role, joinedAt: member.joinedAt };
    });
  }
}

function toGroupDto(group: GroupRecord): GroupDto {
  return {
    id: group.id,
    name: group.name,
    kind: group.kind,
    org_id: group.orgId,
    created_at: group.createdAt.toISOString(),
    member_count: group.memberCount,
  };
}

function toMemberDto(member: MemberRecord): MemberDto {
  return {
    user_id: member.userId,
    role: member.role,
    joined_at: member.joinedAt.toISOString(),
    display_name: member.displayName,
  };
}
