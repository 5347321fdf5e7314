import type { User as OrgUser } from '@groupchat/contract';
import { type FormEvent, useCallback, useEffect, useId, useMemo, useState } from 'react';
import { AccountsApi, type AuditEventDto, type InvitationDto } from '../../api/accounts.ts';
import { describeError } from '../../api/http.ts';
import { useChatStore, useSessionStore } from '../../state/hooks.ts';
import { ErrorText } from '../ErrorText.tsx';
import './account.css';

const AUDIT_TYPES = [
  'user.login_succeeded',
  'user.login_failed',
  'user.created',
  'user.password_reset',
  'user.password_changed',
  'user.mfa_enabled',
  'user.mfa_disabled',
  'invitation.created',
  'invitation.accepted',
  'invitation.revoked',
  'group.created',
  'group.deleted',
  'member.added',
  'member.removed',
  'session.ended',
];

/** For the organization's owners and admins: members and roles, invitations, the audit log. */
export function OrgAdmin() {
  const session = useSessionStore();
  const { user } = useChatStore();
  const api = useMemo(() => new AccountsApi(session), [session]);
  const [members, setMembers] = useState<OrgUser[]>([]);
  const [invitations, setInvitations] = useState<InvitationDto[]>([]);
  const [error, setError] = useState<string | null>(null);

  const reload = useCallback(async () => {
    try {
      const [m, i] = await Promise.all([api.members(user.org_id), api.invitations(user.org_id)]);
      setMembers(m);
      setInvitations(i);
    } catch (err) {
      setError(describeError(err));
    }
  }, [api, user.org_id]);

  useEffect(() => {
    void reload();
  }, [reload]);

  return (
    <div className="account-page" data-testid="org-admin">
      <ErrorText id="org-admin-err" message={error} testId="org-admin-error" />
      <section aria-labelledby="members-title">
        <h2 id="members-title">Members</h2>
        <table data-testid="org-members">
          <thead>
            <tr>
              <th>Name</th>
              <th>Email</th>
              <th>Role</th>
            </tr>
          </thead>
          <tbody>
            {members.map((m) => (
              <tr key={m.id} data-testid="org-member">
                <td>{m.display_name}</td>
                <td>{m.email}</td>
                <td>{m.role}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <Invitations api={api} orgId={user.org_id} invitations={invitations} onChange={reload} />
      <AuditLog api={api} orgId={user.org_id} />
    </div>
  );
}

function Invitations({
  api,
  orgId,
  invitations,
  onChange,
}: {
  api: AccountsApi;
  orgId: string;
  invitations: InvitationDto[];
  onChange: () => Promise<void>;
}) {
  const id = useId();
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<'member' | 'admin'>('member');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.invite(orgId, email.trim(), role);
      setEmail('');
      await onChange();
    } catch (err) {
      setError(describeError(err));
    }
    setBusy(false);
  }

  async function revoke(invitationId: string) {
    setError(null);
    try {
      await api.revokeInvitation(orgId, invitationId);
      await onChange();
    } catch (err) {
      setError(describeError(err));
    }
  }

  return (
    <section aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Invitations</h2>
      <form className="inline-form" onSubmit={onSubmit} data-testid="invite-form">
        <label>
          Email
          <input
            type="email"
            required
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            data-testid="invite-email"
          />
        </label>
        <label>
          Role
          <select
            value={role}
            onChange={(e) => setRole(e.target.value as 'member' | 'admin')}
            data-testid="invite-role"
          >
            <option value="member">member</option>
            <option value="admin">admin</option>
          </select>
        </label>
        <button type="submit" className="primary" disabled={busy} data-testid="invite-submit">
          {busy ? 'Inviting…' : 'Invite'}
        </button>
      </form>
      <ErrorText id={`${id}-err`} message={error} testId="invite-error" />
      <table data-testid="invitations">
        <thead>
          <tr>
            <th>Email</th>
            <th>Role</th>
            <th>Status</th>
            <th>Expires</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {invitations.map((i) => (
            <tr key={i.id} data-testid="invitation" data-email={i.email}>
              <td>{i.email}</td>
              <td>{i.role}</td>
              <td>
                <span className="status-pill" data-status={i.status} data-testid="invitation-status">
                  {i.status}
                </span>
              </td>
              <td>{new Date(i.expires_at).toLocaleDateString()}</td>
              <td>
                {i.status === 'pending' && (
                  <button
                    type="button"
                    className="secondary small"
                    onClick={() => void revoke(i.id)}
                    data-testid="invitation-revoke"
                  >
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function AuditLog({ api, orgId }: { api: AccountsApi; orgId: string }) {
  const [type, setType] = useState('');
  const [events, setEvents] = useState<AuditEventDto[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(
    async (after: string | null, replace: boolean) => {
      try {
        const page = await api.auditEvents(orgId, { after, type, limit: 20 });
        setEvents((old) => (replace ? page.events : [...old, ...page.events]));
        setNext(page.next_cursor);
      } catch (err) {
        setError(describeError(err));
      }
    },
    [api, orgId, type],
  );

  useEffect(() => {
    void load(null, true);
  }, [load]);

  return (
    <section aria-labelledby="audit-title" data-testid="audit-log">
      <h2 id="audit-title">Audit log</h2>
      <div className="inline-form">
        <label>
          Type
          <select value={type} onChange={(e) => setType(e.target.value)} data-testid="audit-type">
            <option value="">all events</option>
            {AUDIT_TYPES.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </label>
      </div>
      <ErrorText id="audit-err" message={error} testId="audit-error" />
      <table>
        <thead>
          <tr>
            <th>When</th>
            <th>Event</th>
            <th>Actor</th>
            <th>Target</th>
            <th>Address</th>
          </tr>
        </thead>
        <tbody>
          {events.map((e) => (
            <tr key={e.id} data-testid="audit-event" data-type={e.type}>
              <td>{new Date(e.at).toLocaleString()}</td>
              <td>{e.type}</td>
              <td>
                {e.actor.type} <code>{e.actor.id?.slice(0, 8)}</code>
              </td>
              <td>
                {e.target.type} <code>{e.target.id?.slice(0, 8)}</code>
              </td>
              <td>{e.ip}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {next && (
        <button
          type="button"
          className="secondary small"
          onClick={() => void load(next, false)}
          data-testid="audit-more"
        >
          Next page
        </button>
      )}
    </section>
  );
}
