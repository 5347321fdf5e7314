/**
 * The auth-api the fuzz suites run against: a real one (PGlite, or PostgreSQL on TEST_DATABASE_URL)
 * with the demo data, its limits raised so that generated bodies reach validation and the handlers
 * instead of stopping at 429, and a snapshot of everything it stores.
 */

import { DEMO, startTestAuthApi, type TestAuthApi } from '@groupchat/testkit/auth-api';
import { storedDigests, tableDigest } from '@groupchat/testkit/fuzz';
import { sql } from 'kysely';

export { DEMO };

/** Every limit far out of the way (the limits have tests of their own, test/hardening and oauth). */
const UNLIMITED = Object.fromEntries(
  [
    'LOGIN_PER_IP',
    'LOGIN_PER_EMAIL',
    'TOKEN_PER_CLIENT',
    'TOKEN_PER_IP',
    'CLIENT_AUTH_PER_IP',
    'REGISTER_PER_IP',
    'REGISTER_PER_EMAIL',
    'AUTHORIZE_PER_IP',
    'CONNECTED_APPS_PER_USER',
    'ACCOUNT_PER_IP',
    'FORGOT_PER_EMAIL',
    'MFA_PER_IP',
    'MFA_PER_USER',
    'INVITATIONS_PER_USER',
  ].map((name) => [`RATE_LIMIT_${name}`, '1000000']),
);

export interface FuzzAuthApi {
  auth: TestAuthApi;
  url: string;
  tokens: { bob: string; admin: string };
  ids: { bobOrg: string; bob: string; carol: string; mallory: string; general: string };
  close(): Promise<void>;
}

async function login(url: string, email: string) {
  const response = await fetch(`${url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: DEMO.password }),
  });
  if (response.status !== 200) throw new Error(`login ${email}: ${response.status}`);
  return (await response.json()) as { access_token: string; user: { id: string; org_id: string } };
}

export async function startFuzzAuthApi(): Promise<FuzzAuthApi> {
  const auth = await startTestAuthApi({ env: UNLIMITED });
  const [bob, carol, mallory, admin] = await Promise.all(
    [DEMO.users.bob, DEMO.users.carol, DEMO.users.mallory, DEMO.users.admin].map((email) =>
      login(auth.url, email),
    ),
  );
  const groups = (await (
    await fetch(`${auth.url}/api/auth/groups`, { headers: { authorization: `Bearer ${bob!.access_token}` } })
  ).json()) as { groups: { id: string; name: string }[] };
  return {
    auth,
    url: auth.url,
    tokens: { bob: bob!.access_token, admin: admin!.access_token },
    ids: {
      bobOrg: bob!.user.org_id,
      bob: bob!.user.id,
      carol: carol!.user.id,
      mallory: mallory!.user.id,
      general: groups.groups.find((g) => g.name === 'general')!.id,
    },
    close: () => auth.close(),
  };
}

const FULLY_COMPARED = [
  'orgs',
  'users',
  'sessions',
  'groups',
  'group_members',
  'signing_keys',
  'oauth_clients',
  'oauth_client_secrets',
  'revocations',
  'oauth_consents',
  'oauth_grants',
  'oauth_authorization_codes',
  'oauth_refresh_tokens',
  'account_tokens',
  'invitations',
  'totp_credentials',
  'recovery_codes',
  'mfa_challenges',
];

/**
 * What a request could have stored, table by table, in one round trip: a digest of every row. Three
 * tables are read by what a request writes, not by what background work changes: the mail outbox by
 * its rows (delivery attempts and `sent_at` are the sender's, after the request), the change feed by
 * its newest id (expired rows are pruned in the background), and the audit log without `*_failed`
 * events, which the contract has a refused login or code write on purpose (`user.login_failed`).
 */
export function storedState(auth: TestAuthApi): Promise<Record<string, string>> {
  return storedDigests(auth.running.core.db, FULLY_COMPARED, {
    mail_outbox: sql`(SELECT count(*)::text || ':' || coalesce(md5(string_agg(id || kind || to_address, '|' ORDER BY id)), '')
                      FROM mail_outbox)`,
    change_feed: sql`(SELECT coalesce(max(id), 0)::text FROM change_feed)`,
    audit_events: tableDigest('audit_events', sql`WHERE type NOT LIKE '%\\_failed' ESCAPE '\\'`),
  });
}
