import { uuidv7 } from '@groupchat/service-kit';
import type { Kysely } from 'kysely';
import type { Argon2idHasher } from '../crypto/argon2id.ts';
import type { AuthDB, GroupRole, UserRole } from '../db/schema.ts';

/** The contract's demo data. Emails are the logins; the password is DEMO_PASSWORD. */
export const DEMO_USERS = {
  bob: { email: 'bob@acme.example', displayName: 'Bob', org: 'Acme', role: 'owner' },
  carol: { email: 'carol@acme.example', displayName: 'Carol', org: 'Acme', role: 'member' },
  mallory: { email: 'mallory@globex.example', displayName: 'Mallory', org: 'Globex', role: 'owner' },
  admin: {
    email: 'admin@platform.example',
    displayName: 'Platform Admin',
    org: 'Platform',
    role: 'platform_admin',
  },
} as const satisfies Record<string, { email: string; displayName: string; org: string; role: UserRole }>;

const DEMO_GROUPS: {
  org: string;
  name: string;
  members: { user: keyof typeof DEMO_USERS; role: GroupRole }[];
}[] = [
  {
    org: 'Acme',
    name: 'general',
    members: [
      { user: 'bob', role: 'owner' },
      { user: 'carol', role: 'member' },
    ],
  },
];

/**
 * Seeds the demo organizations, users and groups. Idempotent: what exists (by email, by org and
 * group name) is left as it is, so a restart never duplicates or resets anything.
 */
export async function seedDemoData(
  db: Kysely<AuthDB>,
  passwords: Argon2idHasher,
  password: string,
): Promise<{ created: number }> {
  let created = 0;
  const passwordHash = await passwords.hash(password);
  const orgIds = new Map<string, string>();
  const userIds = new Map<string, string>();
  await db.transaction().execute(async (trx) => {
    for (const [key, demo] of Object.entries(DEMO_USERS)) {
      const existing = await trx
        .selectFrom('users')
        .select(['id', 'org_id'])
        .where('email', '=', demo.email)
        .executeTakeFirst();
      if (existing) {
        orgIds.set(demo.org, existing.org_id);
        userIds.set(key, existing.id);
        continue;
      }
      let orgId = orgIds.get(demo.org);
      if (!orgId) {
        orgId = uuidv7();
        await trx.insertInto('orgs').values({ id: orgId, name: demo.org }).execute();
        orgIds.set(demo.org, orgId);
      }
      const id = uuidv7();
      await trx
        .insertInto('users')
        .values({
          id,
          org_id: orgId,
          email: demo.email,
          password_hash: passwordHash,
          display_name: demo.displayName,
          role: demo.role,
          // Demo addresses are fictional: nothing to prove, and no banner asking to.
          email_verified: true,
        })
        .execute();
      userIds.set(key, id);
      created += 1;
    }
    for (const group of DEMO_GROUPS) {
      const orgId = orgIds.get(group.org)!;
      const existing = await trx
        .selectFrom('groups')
        .select('id')
        .where('org_id', '=', orgId)
        .where('name', '=', group.name)
        .executeTakeFirst();
      if (existing) continue;
      const groupId = uuidv7();
      const owner = group.members.find((m) => m.role === 'owner');
      await trx
        .insertInto('groups')
        .values({
          id: groupId,
          org_id: orgId,
          name: group.name,
          created_by: owner ? userIds.get(owner.user)! : null,
        })
        .execute();
      await trx
        .insertInto('group_members')
        .values(
          group.members.map((m) => ({ group_id: groupId, user_id: userIds.get(m.user)!, role: m.role })),
        )
        .execute();
      created += 1;
    }
  });
  return { created };
}
