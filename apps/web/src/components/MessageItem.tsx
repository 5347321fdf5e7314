/**
 * One message: sender and time (unless it continues the sender's previous one), formatted text, the
 * "edited" mark, a tombstone once deleted, reactions (counts, who on hover, click to toggle mine),
 * and actions: react (a small picker), reply in thread, edit in place (own), delete with a
 * confirmation (own, or any as a group owner/admin).
 */

import type { Message } from '@groupchat/contract';
import { type KeyboardEvent, memo, useState } from 'react';
import { displayName, type Person } from '../state/chat.ts';
import { useChatStore } from '../state/hooks.ts';
import { ErrorText } from './ErrorText.tsx';
import { Formatted, type MentionName } from './Formatted.tsx';

export const PICKER_EMOJI = ['👍', '❤️', '😂', '🎉', '😮', '😢', '👀', '✅'];

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

export function formatTime(iso: string): { short: string; long: string } {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return { short: '', long: '' };
  return { short: timeFormat.format(date), long: dateTimeFormat.format(date) };
}

export const MessageItem = memo(function MessageItem({
  message,
  people,
  continued,
  canModerate,
  inThread = false,
}: {
  message: Message;
  people: Record<string, Person>;
  /** Same sender as the message above, shortly before: no header. */
  continued: boolean;
  canModerate: boolean;
  inThread?: boolean;
}) {
  const store = useChatStore();
  const me = store.user.id;
  const mine = message.sender_id === me;
  const deleted = message.deleted_at !== null;
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(message.content);
  const [confirming, setConfirming] = useState(false);
  const [picker, setPicker] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const time = formatTime(message.created_at);
  const mentionsMe = !deleted && message.mentions.includes(me);
  const mentionNames: MentionName[] = message.mentions.map((id) => ({
    name: id === me ? store.user.display_name : displayName(people, id),
    me: id === me,
  }));

  const run = async (action: Promise<string | null>) => {
    const problem = await action;
    setError(problem);
    return problem === null;
  };

  const saveEdit = async () => {
    const keep = message.mentions.filter((id) =>
      draft.includes(`@${id === me ? store.user.display_name : displayName(people, id)}`),
    );
    if (await run(store.edit(message.group_id, message.id, draft, keep))) setEditing(false);
  };
  const onEditKey = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === 'Escape') {
      event.preventDefault();
      setEditing(false);
    } else if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      void saveEdit();
    }
  };

  const classes = ['message'];
  if (mine) classes.push('mine');
  if (continued) classes.push('continued');
  if (deleted) classes.push('deleted');
  if (mentionsMe) classes.push('mentions-me');

  return (
    <li
      className={classes.join(' ')}
      data-testid="message"
      data-message-id={message.id}
      data-deleted={deleted || undefined}
      data-mentions-me={mentionsMe || undefined}
    >
      {!continued && (
        <div className="meta">
          <span className="sender" data-testid="message-sender">
            {mine ? 'You' : displayName(people, message.sender_id)}
          </span>
          <time dateTime={message.created_at} title={time.long}>
            {time.short}
          </time>
        </div>
      )}
      {deleted ? (
        <p className="text tombstone" data-testid="message-text">
          message deleted
        </p>
      ) : editing ? (
        <div className="edit-box">
          <textarea
            value={draft}
            onChange={(e) => setDraft(e.target.value)}
            onKeyDown={onEditKey}
            aria-label="Edit message"
            // biome-ignore lint/a11y/noAutofocus: the user just asked to edit this message
            autoFocus
            data-testid="edit-input"
          />
          <div className="edit-actions">
            <button
              type="button"
              className="primary small"
              onClick={() => void saveEdit()}
              data-testid="edit-save"
            >
              Save
            </button>
            <button
              type="button"
              className="link small"
              onClick={() => setEditing(false)}
              data-testid="edit-cancel"
            >
              Cancel
            </button>
          </div>
        </div>
      ) : (
        <div className="text" data-testid="message-text">
          <Formatted text={message.content} mentions={mentionNames} />
          {message.edited_at && (
            <span
              className="edited"
              title={`edited ${formatTime(message.edited_at).long}`}
              data-testid="edited-mark"
            >
              {' '}
              (edited)
            </span>
          )}
        </div>
      )}
      {!deleted && message.reactions.length > 0 && (
        <div className="reactions" data-testid="reactions">
          {message.reactions.map((r) => {
            const reacted = r.user_ids.includes(me);
            const who = r.user_ids.map((id) => (id === me ? 'You' : displayName(people, id))).join(', ');
            return (
              <button
                key={r.emoji}
                type="button"
                className={reacted ? 'reaction mine' : 'reaction'}
                title={`${who} reacted with ${r.emoji}`}
                aria-pressed={reacted}
                aria-label={`${r.emoji} ${r.count}: ${who}`}
                onClick={() => void run(store.toggleReaction(message, r.emoji))}
                data-testid="reaction"
                data-emoji={r.emoji}
              >
                <span>{r.emoji}</span> <span className="count">{r.count}</span>
              </button>
            );
          })}
        </div>
      )}
      {!inThread && message.thread_root_id === null && message.reply_count > 0 && (
        <button
          type="button"
          className="link small thread-link"
          onClick={() => store.openThread(message.group_id, message.id)}
          data-testid="thread-link"
        >
          {message.reply_count === 1 ? '1 reply' : `${message.reply_count} replies`}
        </button>
      )}
      {confirming && (
        <div
          className="confirm"
          role="alertdialog"
          aria-label="Delete this message?"
          data-testid="delete-confirm"
        >
          <span>Delete this message for everyone?</span>
          <button
            type="button"
            className="danger small"
            onClick={async () => {
              if (await run(store.remove(message))) setConfirming(false);
            }}
            data-testid="delete-confirm-yes"
          >
            Delete
          </button>
          <button
            type="button"
            className="link small"
            onClick={() => setConfirming(false)}
            data-testid="delete-confirm-no"
          >
            Cancel
          </button>
        </div>
      )}
      {picker && !deleted && (
        <div className="emoji-picker" role="menu" aria-label="Pick a reaction" data-testid="emoji-picker">
          {PICKER_EMOJI.map((emoji) => (
            <button
              key={emoji}
              type="button"
              role="menuitem"
              onClick={() => {
                setPicker(false);
                void run(store.toggleReaction(message, emoji));
              }}
              data-testid="emoji-option"
              data-emoji={emoji}
            >
              {emoji}
            </button>
          ))}
        </div>
      )}
      <ErrorText message={error} testId="message-error" />
      {!deleted && !editing && (
        <div className="message-actions" data-testid="message-actions">
          <button
            type="button"
            title="Add a reaction"
            onClick={() => setPicker((v) => !v)}
            data-testid="action-react"
          >
            ☺︎+
          </button>
          {!inThread && message.thread_root_id === null && (
            <button
              type="button"
              title="Reply in thread"
              onClick={() => store.openThread(message.group_id, message.id)}
              data-testid="action-reply"
            >
              Reply
            </button>
          )}
          {mine && (
            <button
              type="button"
              title="Edit"
              onClick={() => {
                setDraft(message.content);
                setEditing(true);
              }}
              data-testid="action-edit"
            >
              Edit
            </button>
          )}
          {(mine || canModerate) && (
            <button
              type="button"
              title="Delete"
              onClick={() => setConfirming(true)}
              data-testid="action-delete"
            >
              Delete
            </button>
          )}
        </div>
      )}
    </li>
  );
});
