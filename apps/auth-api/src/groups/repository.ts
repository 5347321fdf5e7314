import type { ExpressionBuilder, Kysely } from 'kysely';
import type { AuditWrite } from '../audit/repository.ts';
import type { AuthDB, GroupKind, GroupRole } from '../db/schema.ts';
import { asTx } from '../db/transaction.ts';

export interface GroupRecord {
  id: string;
  orgId: string;
  /** Null for direct conversations. */
  name: string | null;
  kind: GroupKind;
  createdAt: Date;
  memberCount: number;
}

export interface MemberRecord {
  groupId: string;
  userId: string;
  role: GroupRole;
  joinedAt: Date;
  displayName: string;
}

/** Postgres foreign_key_violation: the group (or user) was deleted while we were writing. */
function isForeignKeyViolation(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === '23503';
}

const memberCount = (eb: ExpressionBuilder<AuthDB, 'groups'>) =>
  eb
    .selectFrom('group_members')
    .select((inner) => inner.fn.countAll<number>().as('n'))
    .whereRef('group_members.group_id', '=', 'groups.id')
    .as('member_count');

function toGroup(row: {
  id: string;
  org_id: string;
  name: string | null;
  kind: GroupKind;
  created_at: Date;
  member_count: number | null;
}): GroupRecord {
  return {
    id: row.id,
    orgId: row.org_id,
    name: row.name,
    kind: row.kind,
    createdAt: row.created_at,
    memberCount: Number(row.member_count ?? 0),
  };
}

export function createGroupRepository(db: Kysely<AuthDB>) {
  const groupColumns = [
    'groups.id',
    'groups.org_id',
    'groups.name',
    'groups.kind',
    'groups.created_at',
  ] as const;
  /** Members with the display name their clients show. */
  const selectMembers = () =>
    db
      .selectFrom('group_members')
      .innerJoin('users', 'users.id', 'group_members.user_id')
      .select([
        'group_members.group_id',
        'group_members.user_id',
        'group_members.role',
        'group_members.joined_at',
        'users.display_name',
      ]);

  return {
    async findById(id: string): Promise<GroupRecord | undefined> {
      const row = await db
        .selectFrom('groups')
        .select(groupColumns)
        .select(memberCount)
        .where('groups.id', '=', id)
        .executeTakeFirst();
      return row ? toGroup(row) : undefined;
    },

    async listByOrg(orgId: string): Promise<GroupRecord[]> {
      const rows = await db
        .selectFrom('groups')
        .select(groupColumns)
        .select(memberCount)
        .where('groups.org_id', '=', orgId)
        .orderBy('groups.created_at')
        .orderBy('groups.id')
        .execute();
      return rows.map(toGroup);
    },

    /** The groups the user is a member of. */
    async listForUser(userId: string): Promise<GroupRecord[]> {
      const rows = await db
        .selectFrom('groups')
        .innerJoin('group_members as mine', 'mine.group_id', 'groups.id')
        .select(groupColumns)
        .select(memberCount)
        .where('mine.user_id', '=', userId)
        .orderBy('groups.created_at')
        .orderBy('groups.id')
        .execute();
      return rows.map(toGroup);
    },

    async findMember(groupId: string, userId: string): Promise<MemberRecord | undefined> {
      const row = await selectMembers()
        .where('group_members.group_id', '=', groupId)
        .where('group_members.user_id', '=', userId)
        .executeTakeFirst();
      return row ? toMember(row) : undefined;
    },

    async listMembers(groupId: string): Promise<MemberRecord[]> {
      const rows = await selectMembers()
        .where('group_members.group_id', '=', groupId)
        .orderBy('group_members.joined_at')
        .orderBy('group_members.user_id')
        .execute();
      return rows.map(toMember);
    },

    /** The group and, when a user created it, its owner membership: both or neither. */
    async create(
      group: { id: string; orgId: string; name: string },
      owner: { userId: string } | null,
      audit?: AuditWrite,
    ): Promise<{ group: GroupRecord; owner: { joinedAt: Date } | null }> {
      return db.transaction().execute(async (trx) => {
        await audit?.(asTx(trx));
        const row = await trx
          .insertInto('groups')
          .values({ id: group.id, org_id: group.orgId, name: group.name, created_by: owner?.userId ?? null })
          .returning(['id', 'org_id', 'name', 'kind', 'created_at'])
          .executeTakeFirstOrThrow();
        if (!owner) return { group: toGroup({ ...row, member_count: 0 }), owner: null };
        const member = await trx
          .insertInto('group_members')
          .values({ group_id: group.id, user_id: owner.userId, role: 'owner' })
          .returning(['joined_at'])
          .executeTakeFirstOrThrow();
        return { group: toGroup({ ...row, member_count: 1 }), owner: { joinedAt: member.joined_at } };
      });
    },

    /**
     * The direct conversation of two users of `orgId`: created with both as members, or the existing
     * one for that pair (either order). The pair's unique constraint settles concurrent creations: the
     * loser's insert does nothing and it reads the winner's row. A member who had left is added back.
     * `added` lists the memberships this call created (for membership events).
     */
    async findOrCreateDirect(input: {
      id: string;
      orgId: string;
      creatorId: string;
      peerId: string;
    }): Promise<{ group: GroupRecord; created: boolean; added: { userId: string; joinedAt: Date }[] }> {
      const [low, high] = [input.creatorId, input.peerId].sort() as [string, string];
      return db.transaction().execute(async (trx) => {
        const inserted = await trx
          .insertInto('groups')
          .values({
            id: input.id,
            org_id: input.orgId,
            name: null,
            kind: 'direct',
            created_by: input.creatorId,
            direct_low: low,
            direct_high: high,
          })
          .onConflict((oc) => oc.columns(['direct_low', 'direct_high']).doNothing())
          .returning('id')
          .executeTakeFirst();
        const groupId =
          inserted?.id ??
          (
            await trx
              .selectFrom('groups')
              .select('id')
              .where('direct_low', '=', low)
              .where('direct_high', '=', high)
              .executeTakeFirstOrThrow()
          ).id;
        const added = await trx
          .insertInto('group_members')
          .values(
            [low, high].map((userId) => ({ group_id: groupId, user_id: userId, role: 'member' as const })),
          )
          .onConflict((oc) => oc.columns(['group_id', 'user_id']).doNothing())
          .returning(['user_id', 'joined_at'])
          .execute();
        const row = await trx
          .selectFrom('groups')
          .select(groupColumns)
          .select(memberCount)
          .where('groups.id', '=', groupId)
          .executeTakeFirstOrThrow();
        return {
          group: toGroup(row),
          created: inserted !== undefined,
          added: added.map((m) => ({ userId: m.user_id, joinedAt: m.joined_at })),
        };
      });
    },

    /**
     * `added` with the membership, `exists` when the user is already a member (the primary key decides,
     * so two concurrent adds cannot both succeed), `gone` when the group or user vanished meanwhile.
     */
    async addMember(
      member: {
        groupId: string;
        userId: string;
        role: GroupRole;
      },
      audit?: AuditWrite,
    ): Promise<{ status: 'added'; joinedAt: Date } | { status: 'exists' } | { status: 'gone' }> {
      try {
        return await db.transaction().execute(async (trx) => {
          const row = await trx
            .insertInto('group_members')
            .values({ group_id: member.groupId, user_id: member.userId, role: member.role })
            .onConflict((oc) => oc.columns(['group_id', 'user_id']).doNothing())
            .returning(['joined_at'])
            .executeTakeFirst();
          if (!row) return { status: 'exists' as const };
          await audit?.(asTx(trx));
          return { status: 'added' as const, joinedAt: row.joined_at };
        });
      } catch (error) {
        if (isForeignKeyViolation(error)) return { status: 'gone' };
        throw error;
      }
    },

    /** True when a membership was removed. */
    async removeMember(groupId: string, userId: string, audit?: AuditWrite): Promise<boolean> {
      return db.transaction().execute(async (trx) => {
        const result = await trx
          .deleteFrom('group_members')
          .where('group_id', '=', groupId)
          .where('user_id', '=', userId)
          .executeTakeFirst();
        const removed = Number(result.numDeletedRows) > 0;
        if (removed) await audit?.(asTx(trx));
        return removed;
      });
    },

    /** Deletes the group (its memberships cascade); returns who its members were, or null if it was gone. */
    async delete(groupId: string, audit?: AuditWrite): Promise<string[] | null> {
      return db.transaction().execute(async (trx) => {
        // Locking the group row blocks concurrent member inserts (their foreign-key check needs a
        // share lock on it), so the list read next is exactly who the cascade removes.
        const group = await trx
          .selectFrom('groups')
          .select('id')
          .where('id', '=', groupId)
          .forUpdate()
          .executeTakeFirst();
        if (!group) return null;
        const members = await trx
          .selectFrom('group_members')
          .select('user_id')
          .where('group_id', '=', groupId)
          .execute();
        await trx.deleteFrom('groups').where('id', '=', groupId).execute();
        await audit?.(asTx(trx));
        return members.map((m) => m.user_id);
      });
    },
  };
}

function toMember(row: {
  group_id: string;
  user_id: string;
  role: GroupRole;
  joined_at: Date;
  display_name: string;
}): MemberRecord {
  return {
    groupId: row.group_id,
    userId: row.user_id,
    role: row.role,
    joinedAt: row.joined_at,
    displayName: row.display_name,
  };
}

export type GroupRepository = ReturnType<typeof createGroupRepository>;
