import { useEffect, useState } from 'react';
import { hrefFor, useRoute } from '../route.ts';
import { unreadCount } from '../state/chat.ts';
import { useChat, useChatStore, useSessionStore } from '../state/hooks.ts';
import { AccountLinks, AccountSettings } from './account/AccountSettings.tsx';
import { EmailBanner } from './account/EmailBanner.tsx';
import { OrgAdmin } from './account/OrgAdmin.tsx';
import { isPublicAccountRoute, PublicAccountPage } from './account/PublicAccountPage.tsx';
import { ConnectedApps } from './ConnectedApps.tsx';
import { ConnectionBadge } from './ConnectionBadge.tsx';
import { CreateGroup } from './CreateGroup.tsx';
import { GroupList } from './GroupList.tsx';
import { Room } from './Room.tsx';

export function ChatLayout() {
  const route = useRoute();
  const store = useChatStore();
  const activeGroupId = route.name === 'group' ? route.groupId : null;

  useEffect(() => {
    store.setActiveGroup(activeGroupId);
  }, [store, activeGroupId]);

  useUnreadTitle();

  return (
    <div className={route.name === 'home' ? 'app' : 'app main-open'} data-testid="app">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <a className="brand" href={hrefFor({ name: 'home' })}>
          Groupchat
        </a>
        <ConnectionBadge />
        <UserMenu />
      </header>
      <EmailBanner />
      <div className="body">
        <aside className="sidebar" aria-label="Your groups">
          <GroupList activeGroupId={activeGroupId} />
        </aside>
        <main className="main" id="main">
          {route.name === 'group' ? (
            <Room key={route.groupId} groupId={route.groupId} />
          ) : route.name === 'new-group' ? (
            <CreateGroup />
          ) : route.name === 'account' ? (
            <AccountSettings />
          ) : route.name === 'org-admin' ? (
            <OrgAdmin />
          ) : isPublicAccountRoute(route) ? (
            <PublicAccountPage route={route} />
          ) : (
            <div className="empty-state" data-testid="no-room">
              <p>Pick a group on the left, or create a new one.</p>
            </div>
          )}
        </main>
      </div>
    </div>
  );
}

function UserMenu() {
  const session = useSessionStore();
  const store = useChatStore();
  const [busy, setBusy] = useState(false);
  const { user } = store;
  return (
    <details className="user-menu">
      <summary data-testid="current-user" aria-label={`Account: ${user.display_name}`}>
        <span className="user-name">{user.display_name}</span>
      </summary>
      <div className="user-menu-body">
        <p>
          <strong>{user.display_name}</strong>
          <br />
          <span className="muted">{user.email}</span>
        </p>
        <p className="small-text">
          Your user id (to be added to groups):
          <br />
          <code className="user-id" data-testid="current-user-id">
            {user.id}
          </code>
        </p>
        <AccountLinks />
        <ConnectedApps />
        <button
          type="button"
          className="secondary small"
          disabled={busy}
          onClick={() => {
            setBusy(true);
            void session.logout();
          }}
          data-testid="signout"
        >
          Sign out
        </button>
      </div>
    </details>
  );
}

/** "(3) Groupchat" while messages wait unread. */
function useUnreadTitle() {
  const store = useChatStore();
  const total = useChat((s) => s.groups.reduce((n, g) => n + unreadCount(s, g.id, store.user.id).count, 0));
  useEffect(() => {
    document.title = total > 0 ? `(${total}) Groupchat` : 'Groupchat';
  }, [total]);
}
