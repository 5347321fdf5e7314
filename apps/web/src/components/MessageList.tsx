import type { Message } from '@groupchat/contract';
import { memo, useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';
import { displayName, type PendingMessage, type RoomState } from '../state/chat.ts';
import { useChat, useChatStore } from '../state/hooks.ts';
import { ErrorText } from './ErrorText.tsx';

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
  const people = useChat((s) => s.people);
  const highlight = useChat((s) => s.highlight);
  const scroller = useRef<HTMLDivElement>(null);
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
          {messages.map((m) => (
            <MessageItem
              key={m.id}
              message={m}
              mine={m.sender_id === store.user.id}
              highlighted={highlight?.groupId === groupId && highlight.messageId === m.id}
              sender={m.sender_id === store.user.id ? 'You' : displayName(people, m.sender_id)}
            />
          ))}
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

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

function formatTime(iso: string): { short: string; long: string } {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return { short: '', long: '' };
  const today = new Date().toDateString() === date.toDateString();
  return {
    short: today ? timeFormat.format(date) : dateTimeFormat.format(date),
    long: dateTimeFormat.format(date),
  };
}

// Message text is only ever rendered as a React text child: never as HTML.
const MessageItem = memo(function MessageItem({
  message,
  mine,
  sender,
  highlighted,
}: {
  message: Message;
  mine: boolean;
  sender: string;
  highlighted: boolean;
}) {
  const time = formatTime(message.created_at);
  const ref = useRef<HTMLLIElement>(null);
  useEffect(() => {
    if (highlighted) ref.current?.scrollIntoView({ block: 'center' });
  }, [highlighted]);
  return (
    <li
      ref={ref}
      className={`message${mine ? ' mine' : ''}${highlighted ? ' highlighted' : ''}`}
      data-testid="message"
      data-message-id={message.id}
      data-highlighted={highlighted ? 'true' : undefined}
    >
      <div className="meta">
        <span className="sender">{sender}</span>
        <time dateTime={message.created_at} title={time.long}>
          {time.short}
        </time>
      </div>
      <p className="text" data-testid="message-text">
        {message.content}
      </p>
    </li>
  );
});

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
