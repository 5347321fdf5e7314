import type { LoginUser as User } from '@groupchat/contract';
import { useEffect, useState } from 'react';
import { isPublicAccountRoute, PublicAccountPage } from './components/account/PublicAccountPage.tsx';
import { ChatLayout } from './components/ChatLayout.tsx';
import { SignIn } from './components/SignIn.tsx';
import { useRoute } from './route.ts';
import { ChatStore } from './state/chat.ts';
import { ChatContext, useSession, useSessionStore } from './state/hooks.ts';

export function App() {
  const session = useSession();
  if (session.status === 'loading') {
    return (
      <div className="splash" data-testid="loading" aria-busy="true">
        Loading…
      </div>
    );
  }
  if (session.status === 'signedOut') return <SignedOut notice={session.notice} />;
  return <SignedIn key={session.user.id} user={session.user} />;
}

/** Signed out: the sign-in page, or a page opened from a mail's link (invitation, reset, verification). */
function SignedOut({ notice }: { notice: string | null }) {
  const route = useRoute();
  if (isPublicAccountRoute(route)) return <PublicAccountPage route={route} />;
  return <SignIn notice={notice} />;
}

function SignedIn({ user }: { user: User }) {
  const session = useSessionStore();
  const [store] = useState(
    () => new ChatStore({ user, tokens: session, onAuthLost: () => session.expire() }),
  );
  useEffect(() => {
    store.start();
    return () => store.stop();
  }, [store]);
  return (
    <ChatContext.Provider value={store}>
      <ChatLayout />
    </ChatContext.Provider>
  );
}
