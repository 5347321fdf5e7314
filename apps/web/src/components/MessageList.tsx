import type { Message } from '@groupchat/contract';
import { Fragment, useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';
import type { PendingMessage, RoomState } from '../state/chat.ts';
import { useChat, useChatStore } from '../state/hooks.ts';
import { ErrorText } from './ErrorText.tsx';
import { MessageItem } from './MessageItem.tsx';

/** Messages of one sender within this long of each other (same day) share one header. */
const GROUP_WINDOW_MS = 5 * 60_000;

const dayFormat = new Intl.DateTimeFormat(undefined, {
  weekday: 'long',
  day: 'numeric',
  month: 'long',
  year: 'numeric',
});

export function dayLabel(iso: string): string {
  const date = new Date(iso);
  const today = new Date();
  const yesterday = new Date(today.getTime() - 86_400_000);
  if (date.toDateString() === today.toDateString()) return 'Today';
  if (date.toDateString() === yesterday.toDateString()) return 'Yesterday';
  return dayFormat.format(date);
}

/** Renders messages grouped by sender and day, with a separator at each new day. */
export function MessageRun({
  messages,
  canModerate,
  inThread = false,
}: {
  messages: readonly Message[];
  canModerate: boolean;
  inThread?: boolean;
}) {
  const people = useChat((s) => s.people);
  return (
    <>
      {messages.map((m, i) => {
        const prev = messages[i - 1];
        const newDay =
          !prev || new Date(prev.created_at).toDateString() !== new Date(m.created_at).toDateString();
        const continued =
          !newDay &&
          !!prev &&
          prev.sender_id === m.sender_id &&
          prev.deleted_at === null &&
          Date.parse(m.created_at) - Date.parse(prev.created_at) < GROUP_WINDOW_MS;
        return (
          <Fragment key={m.id}>
            {newDay && (
              <li className="day-separator" data-testid="day-separator">
                <span>{dayLabel(m.created_at)}</span>
              </li>
            )}
            <MessageItem
              message={m}
              people={people}
              continued={continued}
              canModerate={canModerate}
              inThread={inThread}
            />
          </Fragment>
        );
      })}
    </>
  );
}

const NEAR_TOP_PX = 200;
const NEAR_BOTTOM_PX = 80;

const EMPTY: RoomState = {
  messages: [],
  pending: [],
  loaded: false,
  loading: true,
  loadError: null,
  olderCursor: null,
  hasOlder: false,
  loadingOlder: false,
  olderError: null,
  accessError: null,
};

export function MessageList({ groupId }: { groupId: string }) {
  const store = useChatStore();
  const room = useChat((s) => s.rooms[groupId]) ?? EMPTY;
  const canModerate = useChat((s) => {
    const me = s.members[groupId]?.find((m) => m.user_id === store.user.id);
    return me?.role === 'owner' || me?.role === 'admin';
  });
  const highlight = useChat((s) => s.highlight);
  const scroller = useRef<HTMLDivElement>(null);
  // A search result opened here: scroll to it and mark it, once it is among the loaded messages.
  const messageCount = room.messages.length;
  useEffect(() => {
    if (highlight?.groupId !== groupId || messageCount === 0) return;
    const el = scroller.current?.querySelector<HTMLElement>(
      `[data-testid="message"][data-message-id="${highlight.messageId}"]`,
    );
    if (!el) return;
    for (const other of scroller.current?.querySelectorAll('[data-highlighted]') ?? []) {
      other.classList.remove('highlighted');
      other.removeAttribute('data-highlighted');
    }
    el.classList.add('highlighted');
    el.setAttribute('data-highlighted', 'true');
    el.scrollIntoView({ block: 'center' });
  }, [highlight, groupId, messageCount]);
  const atBottom = useRef(true);
  const prev = useRef({ first: '', last: '', pending: 0, height: 0 });
  const [showJump, setShowJump] = useState(false);

  const { messages, pending, hasOlder, loadingOlder, loaded } = room;
  const first = messages[0]?.id ?? '';
  const last = messages[messages.length - 1]?.id ?? '';

  const loadOlderIfNeeded = useCallback(() => {
    const el = scroller.current;
    if (!el || !loaded || !hasOlder || loadingOlder) return;
    // Near the top, or the content does not even fill the view yet.
    if (el.scrollTop < NEAR_TOP_PX || el.scrollHeight <= el.clientHeight) void store.loadOlder(groupId);
  }, [store, groupId, loaded, hasOlder, loadingOlder]);

  // Keep the view steady: older pages grow the list upwards without moving what is on screen; new
  // messages scroll into view when we were at the bottom (or they are our own).
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const before = prev.current;
    const prepended = first !== before.first && last === before.last && before.first !== '';
    const grewAtEnd = last !== before.last || pending.length > before.pending;
    if (prepended) {
      el.scrollTop += el.scrollHeight - before.height;
    } else if (grewAtEnd) {
      const ownNew = pending.length > before.pending;
      if (atBottom.current || ownNew || before.last === '') {
        el.scrollTop = el.scrollHeight;
        atBottom.current = true;
        setShowJump(false);
      } else {
        setShowJump(true);
      }
    }
    prev.current = { first, last, pending: pending.length, height: el.scrollHeight };
  }, [first, last, pending.length]);

  useEffect(() => {
    loadOlderIfNeeded();
  }, [loadOlderIfNeeded]);

  const onScroll = () => {
    const el = scroller.current;
    if (!el) return;
    atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < NEAR_BOTTOM_PX;
    if (atBottom.current) setShowJump(false);
    prev.current.height = el.scrollHeight;
    loadOlderIfNeeded();
  };

  const jumpToLatest = () => {
    const el = scroller.current;
    if (!el) return;
    el.scrollTop = el.scrollHeight;
    atBottom.current = true;
    setShowJump(false);
  };

  return (
    <div className="message-area">
      <div
        className="messages"
        ref={scroller}
        onScroll={onScroll}
        role="log"
        aria-label="Messages"
        aria-busy={room.loading || loadingOlder}
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard
        tabIndex={0}
        data-testid="message-scroller"
      >
        <div className="history-edge">
          {loaded && hasOlder && (
            <button
              type="button"
              className="link small"
              disabled={loadingOlder}
              onClick={() => void store.loadOlder(groupId)}
              data-testid="load-older"
            >
              {loadingOlder ? 'Loading older messages…' : 'Load older messages'}
            </button>
          )}
          {loaded && !hasOlder && (
            <p className="muted small-text" data-testid="history-start">
              {messages.length ? 'This is the beginning of the conversation.' : 'No messages yet. Say hello!'}
            </p>
          )}
          {!loaded && room.loading && <p className="muted small-text">Loading messages…</p>}
          <ErrorText message={room.olderError} testId="older-error" />
          {room.loadError && (
            <div>
              <ErrorText message={room.loadError} testId="load-error" />
              <button type="button" className="secondary small" onClick={() => store.reloadRoom(groupId)}>
                Try again
              </button>
            </div>
          )}
        </div>
        <ol className="message-list" data-testid="message-list">
          <MessageRun messages={messages} canModerate={canModerate} />
          {pending.map((p) => (
            <PendingItem
              key={p.client_message_id}
              pending={p}
              onRetry={() => store.retry(groupId, p.client_message_id)}
              onDiscard={() => store.discard(groupId, p.client_message_id)}
            />
          ))}
        </ol>
      </div>
      {showJump && (
        <button type="button" className="jump primary small" onClick={jumpToLatest} data-testid="jump-latest">
          New messages ↓
        </button>
      )}
    </div>
  );
}

function PendingItem({
  pending,
  onRetry,
  onDiscard,
}: {
  pending: PendingMessage;
  onRetry(): void;
  onDiscard(): void;
}) {
  const failed = pending.status === 'failed';
  return (
    <li
      className={failed ? 'message mine pending failed' : 'message mine pending'}
      data-testid="message-pending"
      data-status={pending.status}
      data-client-message-id={pending.client_message_id}
    >
      <div className="meta">
        <span className="sender">You</span>
        <span className="status">{failed ? 'Not sent' : 'Sending…'}</span>
      </div>
      <p className="text" data-testid="message-text">
        {pending.content}
      </p>
      {failed && (
        <div className="pending-actions">
          <span className="error-text inline" role="alert">
            {pending.error}
          </span>
          <button type="button" className="secondary small" onClick={onRetry} data-testid="retry">
            Retry
          </button>
          <button type="button" className="link small" onClick={onDiscard} data-testid="discard">
            Discard
          </button>
        </div>
      )}
    </li>
  );
}
