/** A thread beside the room: its root, every reply (live), and a composer for replying. */
import { useChat, useChatStore } from '../state/hooks.ts';
import { Composer } from './Composer.tsx';
import { ErrorText } from './ErrorText.tsx';
import { MessageRun } from './MessageList.tsx';

export function ThreadPane({ groupId, rootId }: { groupId: string; rootId: string }) {
  const store = useChatStore();
  const root = useChat((s) => s.rooms[groupId]?.messages.find((m) => m.id === rootId));
  const thread = useChat((s) => s.threads[rootId]);
  const canModerate = useChat((s) => {
    const me = s.members[groupId]?.find((m) => m.user_id === store.user.id);
    return me?.role === 'owner' || me?.role === 'admin';
  });
  const replies = thread?.replies ?? [];
  return (
    <aside className="thread-pane" aria-label="Thread" data-testid="thread-pane" data-root-id={rootId}>
      <div className="thread-header">
        <h3>Thread</h3>
        <button
          type="button"
          className="link small"
          onClick={() => store.closeThread()}
          data-testid="thread-close"
        >
          Close
        </button>
      </div>
      <div className="thread-scroll">
        <ol className="message-list" data-testid="thread-root">
          {root && <MessageRun messages={[root]} canModerate={canModerate} inThread />}
        </ol>
        <p className="muted small-text thread-count" data-testid="thread-count">
          {replies.length === 1 ? '1 reply' : `${replies.length} replies`}
        </p>
        <ErrorText message={thread?.error ?? null} testId="thread-error" />
        <ol className="message-list" data-testid="thread-replies">
          <MessageRun messages={replies} canModerate={canModerate} inThread />
        </ol>
      </div>
      <Composer
        groupId={groupId}
        placeholder="Reply in thread…"
        testId="thread-composer"
        onSend={(text, mentions) => store.reply(groupId, rootId, text, mentions)}
      />
    </aside>
  );
}
