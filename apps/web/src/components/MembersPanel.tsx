import type { Member } from '@groupchat/contract';
import { type FormEvent, useCallback, useEffect, useId, useState } from 'react';
import { describeError } from '../api/http.ts';
import { navigate } from '../route.ts';
import { displayName } from '../state/chat.ts';
import { useChat, useChatStore } from '../state/hooks.ts';
import { ErrorText } from './ErrorText.tsx';

export function MembersPanel({ id, groupId, onClose }: { id: string; groupId: string; onClose(): void }) {
  const store = useChatStore();
  const formId = useId();
  const people = useChat((s) => s.people);
  const directory = useChat((s) => s.directory);
  const online = useChat((s) => s.presence[groupId]);
  const kind = useChat((s) => s.groups.find((g) => g.id === groupId)?.kind);
  const [members, setMembers] = useState<Member[] | null>(null);
  const [listError, setListError] = useState<string | null>(null);
  const [who, setWho] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [added, setAdded] = useState<string | null>(null);

  const reload = useCallback(async () => {
    try {
      setMembers(await store.listMembers(groupId));
      setListError(null);
    } catch (err) {
      setListError(describeError(err));
    }
  }, [store, groupId]);

  useEffect(() => {
    void reload();
  }, [reload]);

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setAdded(null);
    try {
      const member = await store.addMember(groupId, who);
      setAdded(`${displayName(store.getSnapshot().people, member.user_id ?? who)} was added.`);
      setWho('');
      await reload();
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  }

  async function openDirect(userId: string) {
    try {
      const group = await store.openDirect(userId);
      onClose();
      navigate({ name: 'group', groupId: group.id });
    } catch (err) {
      setError(describeError(err));
    }
  }

  const memberIds = new Set(members?.map((m) => m.user_id));
  const candidates = directory?.filter((u) => !memberIds.has(u.id)) ?? [];

  return (
    <div className="members-panel" id={id} data-testid="members-panel">
      <div className="members-header">
        <h3>Members</h3>
        <button type="button" className="link small" onClick={onClose}>
          Close
        </button>
      </div>
      <ErrorText message={listError} testId="members-error" />
      {members === null && !listError && <p className="muted small-text">Loading…</p>}
      {members && (
        <ul className="members" data-testid="member-list">
          {members.map((m) => (
            <li
              key={m.user_id}
              data-testid="member"
              data-user-id={m.user_id}
              data-online={online?.includes(m.user_id) ? 'true' : 'false'}
            >
              <span>
                <span
                  className={online?.includes(m.user_id) ? 'presence-dot online' : 'presence-dot'}
                  title={online?.includes(m.user_id) ? 'online' : 'offline'}
                  data-testid="presence-dot"
                />
                {m.user_id === store.user.id
                  ? `${store.user.display_name} (you)`
                  : displayName(people, m.user_id)}
              </span>
              <span className="muted small-text">{m.role}</span>
              {m.user_id !== store.user.id && (
                <button
                  type="button"
                  className="link small"
                  onClick={() => void openDirect(m.user_id)}
                  data-testid="message-member"
                >
                  Message
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {kind !== 'direct' && (
        <form className="add-member" onSubmit={onSubmit} data-testid="add-member-form">
          <label htmlFor={`${formId}-who`}>Add a member of your organization</label>
          <div className="inline-form">
            <input
              id={`${formId}-who`}
              value={who}
              onChange={(e) => setWho(e.target.value)}
              placeholder={directory ? 'Email or user id' : 'User id (or email)'}
              list={candidates.length ? `${formId}-people` : undefined}
              autoComplete="off"
              required
              data-testid="add-member-input"
            />
            <button type="submit" className="primary small" disabled={busy} data-testid="add-member-submit">
              {busy ? 'Adding…' : 'Add'}
            </button>
          </div>
          {candidates.length > 0 && (
            <datalist id={`${formId}-people`}>
              {candidates.map((u) => (
                <option key={u.id} value={u.email ?? u.id}>
                  {u.display_name ?? u.email ?? u.id}
                </option>
              ))}
            </datalist>
          )}
          {!directory && (
            <p className="hint">
              Ask your colleague for their user id (in their account menu, top right), or try their email.
            </p>
          )}
          <ErrorText message={error} testId="add-member-error" />
          {added && (
            <p className="success-text" role="status" data-testid="add-member-ok">
              {added}
            </p>
          )}
        </form>
      )}
    </div>
  );
}
