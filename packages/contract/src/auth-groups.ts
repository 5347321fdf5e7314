import { type Static, Type } from 'typebox';
import { Timestamp, Uuid, uuid } from './common.ts';

/**
 * auth-api groups and members. chat-api reads GroupSchema, MemberListResponse and MembershipSchema
 * (validating what it receives), so a change here breaks it at typecheck.
 */

export const GroupRoles = ['owner', 'admin', 'member'] as const;
export type GroupRole = (typeof GroupRoles)[number];
function groupRole(options: { default?: string; description?: string } = {}) {
  return Type.Union([Type.Literal('owner'), Type.Literal('admin'), Type.Literal('member')], options);
}
export const GroupRoleSchema = groupRole();

export const GroupKindSchema = Type.Union([Type.Literal('group'), Type.Literal('direct')], {
  description: '`direct`: a one-to-one conversation (no name, exactly its two users)',
});

export const GroupSchema = Type.Object({
  id: Uuid,
  name: Type.Union([Type.String(), Type.Null()], { description: 'null for direct conversations' }),
  kind: GroupKindSchema,
  org_id: Uuid,
  created_at: Timestamp,
  member_count: Type.Integer({ minimum: 0 }),
});
export type Group = Static<typeof GroupSchema>;

export const MemberSchema = Type.Object({
  user_id: Uuid,
  role: GroupRoleSchema,
  joined_at: Timestamp,
  display_name: Type.String({ description: 'the member’s display name, for listing' }),
});
export type Member = Static<typeof MemberSchema>;

export const MembershipSchema = Type.Object(
  { group_id: Uuid, user_id: Uuid, role: GroupRoleSchema, org_id: Uuid, joined_at: Timestamp },
  { description: 'one membership, with the group’s organization (what a resource server checks)' },
);
export type Membership = Static<typeof MembershipSchema>;

export const GroupParams = Type.Object({ group_id: Uuid });
export const MemberParams = Type.Object({ group_id: Uuid, user_id: Uuid });

export const CreateGroupBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, pattern: '\\S' }),
    org_id: Type.Optional(
      uuid({
        description: 'required for services (client-credentials tokens); a user may only name their own org',
      }),
    ),
  },
  { additionalProperties: false },
);
export type CreateGroupBody = Static<typeof CreateGroupBody>;

export const ListGroupsQuery = Type.Object(
  {
    org_id: Type.Optional(
      uuid({ description: 'required for services; a user always gets their own groups' }),
    ),
    member_id: Type.Optional(
      uuid({
        description:
          'services only (and with members:read too): only the groups of org_id that this user is a member of',
      }),
    ),
  },
  { additionalProperties: false },
);
export type ListGroupsQuery = Static<typeof ListGroupsQuery>;

export const AddMemberBody = Type.Object(
  {
    user_id: Uuid,
    role: Type.Optional(groupRole({ default: 'member', description: 'default member' })),
  },
  { additionalProperties: false },
);
export type AddMemberBody = Static<typeof AddMemberBody>;

export const GroupListResponse = Type.Object({ groups: Type.Array(GroupSchema) });
export type GroupListResponse = Static<typeof GroupListResponse>;
export const MemberListResponse = Type.Object({ members: Type.Array(MemberSchema) });
export type MemberListResponse = Static<typeof MemberListResponse>;

export const OpenDirectBody = Type.Object(
  { user_id: uuid({ description: 'the other user, in the caller’s organization' }) },
  { additionalProperties: false },
);
