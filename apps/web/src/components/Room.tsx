import { useId, useState } from 'react';
import { hrefFor } from '../route.ts';
import { groupLabel } from '../state/chat.ts';
import { useChat, useChatStore } from '../state/hooks.ts';
import { Composer } from './Composer.tsx';
import { ErrorText } from './ErrorText.tsx';
import { SeenBy, TypingIndicator } from './LiveStatus.tsx';
import { MembersPanel } from './MembersPanel.tsx';
import { MessageList } from './MessageList.tsx';
import { ThreadPane } from './ThreadPane.tsx';

export function Room({ groupId }: { groupId: string }) {
  const store = useChatStore();
  const id = useId();
  const group = useChat((s) => s.groups.find((g) => g.id === groupId));
  const groupsStatus = useChat((s) => s.groupsStatus);
  const accessError = useChat((s) => s.rooms[groupId]?.accessError ?? null);
  const [showMembers, setShowMembers] = useState(false);
  const title = useChat((s) => {
    const g = s.groups.find((x) => x.id === groupId);
    return g ? groupLabel(s, g) : null;
  });
  const openThread = useChat((s) => (s.openThread?.groupId === groupId ? s.openThread.rootId : null));

  if (!group && groupsStatus !== 'loading') {
    return (
      <section className="panel" data-testid="room-missing">
        <div className="panel-header">
          <a className="back" href={hrefFor({ name: 'home' })}>
            ‹ Groups
          </a>
          <h2>Group not found</h2>
        </div>
        <p className="pad">This group does not exist or you are not a member of it.</p>
      </section>
    );
  }

  return (
    <section className="room" aria-labelledby={`${id}-title`} data-testid="room" data-group-id={groupId}>
      <div className="panel-header room-header">
        <a className="back" href={hrefFor({ name: 'home' })} aria-label="Back to groups">
          ‹ Groups
        </a>
        <h2 id={`${id}-title`} data-testid="room-title">
          {title ?? 'Loading…'}
        </h2>
        <button
          type="button"
          className="secondary small"
          aria-expanded={showMembers}
          aria-controls={`${id}-members`}
          onClick={() => setShowMembers((v) => !v)}
          data-testid="toggle-members"
        >
          {typeof group?.member_count === 'number' ? `Members (${group.member_count})` : 'Members'}
        </button>
      </div>
      {showMembers && (
        <MembersPanel id={`${id}-members`} groupId={groupId} onClose={() => setShowMembers(false)} />
      )}
      <ErrorText message={accessError} testId="room-access-error" />
      <div className={openThread ? 'room-body with-thread' : 'room-body'}>
        <div className="room-main">
          <MessageList groupId={groupId} />
          <SeenBy groupId={groupId} />
          <TypingIndicator groupId={groupId} />
          <Composer
            groupId={groupId}
            onSend={(text, mentions) => {
              const problem = store.send(groupId, text, mentions);
              if (!problem) store.markRead(groupId);
              return problem;
            }}
          />
        </div>
        {openThread && <ThreadPane key={openThread} groupId={groupId} rootId={openThread} />}
      </div>
    </section>
  );
}
