import { createContext, useContext, useSyncExternalStore } from 'react';
import type { ChatState, ChatStore } from './chat.ts';
import type { SessionState, SessionStore } from './session.ts';

export const SessionContext = createContext<SessionStore | null>(null);
export const ChatContext = createContext<ChatStore | null>(null);

export function useSessionStore(): SessionStore {
  const store = useContext(SessionContext);
  if (!store) throw new Error('SessionContext missing');
  return store;
}

export function useSession(): SessionState {
  const store = useSessionStore();
  return useSyncExternalStore(store.subscribe, store.getSnapshot);
}

export function useChatStore(): ChatStore {
  const store = useContext(ChatContext);
  if (!store) throw new Error('ChatContext missing');
  return store;
}

export function useChat<T>(select: (state: ChatState) => T): T {
  const store = useChatStore();
  return useSyncExternalStore(store.subscribe, () => select(store.getSnapshot()));
}
