import { displayName } from '../state/chat.ts';
import { useChat, useChatStore } from '../state/hooks.ts';

/** "Carol is typing…", from the typing frames of the others in the group. */
export function TypingIndicator({ groupId }: { groupId: string }) {
  const store = useChatStore();
  const typing = useChat((s) => s.typing[groupId]);
  const people = useChat((s) => s.people);
  const now = Date.now();
  const names = Object.entries(typing ?? {})
    .filter(([userId, until]) => until > now && userId !== store.user.id)
    .map(([userId]) => displayName(people, userId));
  const text =
    names.length === 0
      ? ''
      : names.length === 1
        ? `${names[0]} is typing…`
        : names.length === 2
          ? `${names[0]} and ${names[1]} are typing…`
          : 'Several people are typing…';
  return (
    <p className="typing-indicator muted small-text" aria-live="polite" data-testid="typing-indicator">
      {text}
    </p>
  );
}

/** "Seen by Carol, Dave" under the newest message: the members whose marker is at or past it. */
export function SeenBy({ groupId }: { groupId: string }) {
  const store = useChatStore();
  const receipts = useChat((s) => s.receipts[groupId]);
  const messages = useChat((s) => s.rooms[groupId]?.messages);
  const people = useChat((s) => s.people);
  const last = messages?.at(-1);
  if (!last || !receipts || !messages) return null;
  const position = new Map(messages.map((m, i) => [m.id, i]));
  const lastIndex = messages.length - 1;
  const seers = receipts
    .filter((r) => r.user_id !== store.user.id && r.user_id !== last.sender_id)
    .filter((r) => {
      const at = position.get(r.last_read_message_id);
      // A marker newer than what we hold (a message still arriving) counts as seen too.
      return at === undefined ? r.read_at >= last.created_at : at >= lastIndex;
    })
    .map((r) => displayName(people, r.user_id));
  if (seers.length === 0) return null;
  return (
    <p className="seen-by muted small-text" data-testid="seen-by">
      Seen by {seers.join(', ')}
    </p>
  );
}
