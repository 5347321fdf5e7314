import { hrefFor } from '../route.ts';
import { groupLabel, unreadCount } from '../state/chat.ts';
import { useChat, useChatStore } from '../state/hooks.ts';
import { ErrorText } from './ErrorText.tsx';
import { SearchBox } from './SearchBox.tsx';

export function GroupList({ activeGroupId }: { activeGroupId: string | null }) {
  const store = useChatStore();
  const groups = useChat((s) => s.groups);
  const status = useChat((s) => s.groupsStatus);
  const error = useChat((s) => s.groupsError);
  // Re-render on new messages and read marks, which change the unread counts.
  useChat((s) => s.rooms);
  useChat((s) => s.readState);
  useChat((s) => s.directPeers);
  useChat((s) => s.people);
  const state = store.getSnapshot();

  return (
    <nav className="group-list" aria-labelledby="groups-heading" data-testid="group-list">
      <div className="group-list-header">
        <h2 id="groups-heading">Groups</h2>
        <a className="button primary small" href={hrefFor({ name: 'new-group' })} data-testid="new-group">
          New group
        </a>
      </div>
      <SearchBox />
      {status === 'loading' && <p className="muted pad">Loading groups…</p>}
      <ErrorText message={error} testId="groups-error" />
      {error && (
        <button type="button" className="secondary small pad" onClick={() => void store.loadGroups()}>
          Try again
        </button>
      )}
      {status === 'ready' && groups.length === 0 && (
        <p className="muted pad" data-testid="no-groups">
          You are not in any group yet. Create one to start chatting.
        </p>
      )}
      <ul>
        {groups.map((group) => {
          const unread =
            group.id === activeGroupId
              ? { count: 0, more: false, mentions: 0 }
              : unreadCount(state, group.id, store.user.id);
          const label = unread.count > 0 ? `${unread.count}${unread.more ? '+' : ''}` : '';
          return (
            <li key={group.id}>
              <a
                href={hrefFor({ name: 'group', groupId: group.id })}
                className={group.id === activeGroupId ? 'group-item active' : 'group-item'}
                aria-current={group.id === activeGroupId ? 'page' : undefined}
                data-testid="group-item"
                data-group-id={group.id}
                data-unread={unread.count}
                data-mentions={unread.mentions}
                data-kind={group.kind}
              >
                <span className="group-name">{groupLabel(state, group)}</span>
                {typeof group.member_count === 'number' && (
                  <span className="muted small-text">
                    {group.member_count} {group.member_count === 1 ? 'member' : 'members'}
                  </span>
                )}
                {unread.mentions > 0 && (
                  <span className="mention-badge" data-testid="mention-badge">
                    @{unread.mentions}
                    <span className="visually-hidden"> mentions</span>
                  </span>
                )}
                {label && (
                  <span className="unread" data-testid="unread-badge">
                    {label}
                    <span className="visually-hidden"> unread</span>
                  </span>
                )}
              </a>
            </li>
          );
        })}
      </ul>
    </nav>
  );
}
