import {
  type FormEvent,
  type KeyboardEvent,
  useEffect,
  useId,
  useLayoutEffect,
  useRef,
  useState,
} from 'react';
import { MAX_CONTENT_LENGTH } from '../api/chat.ts';
import { displayName } from '../state/chat.ts';
import { useChat, useChatStore } from '../state/hooks.ts';
import { ErrorText } from './ErrorText.tsx';

export type SendResult = string | null | Promise<string | null>;

interface Candidate {
  id: string;
  name: string;
}

/** `@que` right before the caret: the query of a mention being typed. */
const MENTION_AT_CARET = /(^|\s)@([^\s@]{0,30})$/;

/**
 * Enter sends, Shift+Enter starts a new line. Typing `@` offers the group's members (arrows, Enter or
 * Tab to pick, Escape to close); picked members whose `@Name` is still in the text are sent as
 * `mentions`.
 */
export function Composer({
  groupId,
  onSend,
  placeholder = 'Write a message…',
  testId = 'composer',
  autoFocus = true,
}: {
  groupId: string;
  onSend(text: string, mentions: string[]): SendResult;
  placeholder?: string;
  testId?: string;
  autoFocus?: boolean;
}) {
  const store = useChatStore();
  const id = useId();
  const textarea = useRef<HTMLTextAreaElement>(null);
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [query, setQuery] = useState<string | null>(null);
  const [active, setActive] = useState(0);
  const picked = useRef(new Map<string, string>());
  const pendingCaret = useRef<number | null>(null);
  const members = useChat((s) => s.members[groupId]);
  const people = useChat((s) => s.people);

  useEffect(() => {
    store.ensureMembers(groupId);
  }, [store, groupId]);

  useEffect(() => {
    // Focus the composer when a room opens, except on touch screens where it pops the keyboard.
    if (autoFocus && window.matchMedia('(pointer: fine)').matches) textarea.current?.focus();
  }, [autoFocus]);

  // Grow with the text, up to the CSS max-height.
  useEffect(() => {
    const el = textarea.current;
    if (!el) return;
    el.style.height = 'auto';
    if (text) el.style.height = `${el.scrollHeight}px`;
  }, [text]);

  const candidates: Candidate[] =
    query === null
      ? []
      : (members ?? [])
          .filter((m) => m.user_id !== store.user.id)
          .map((m) => ({ id: m.user_id, name: displayName(people, m.user_id) }))
          .filter((c) => c.name.toLowerCase().startsWith(query.toLowerCase()))
          .slice(0, 8);

  function onChange(value: string, caret: number) {
    if (value.trim()) store.typing(groupId);
    setText(value);
    if (error) setError(null);
    const match = MENTION_AT_CARET.exec(value.slice(0, caret));
    setQuery(match ? (match[2] ?? '') : null);
    setActive(0);
  }

  function pick(candidate: Candidate) {
    const el = textarea.current;
    const caret = el?.selectionStart ?? text.length;
    const before = text.slice(0, caret).replace(/@[^\s@]*$/, `@${candidate.name} `);
    const next = before + text.slice(caret);
    picked.current.set(candidate.name, candidate.id);
    // The caret goes after the inserted name as soon as React has rendered the new text (below), not in a
    // later animation frame: keys typed meanwhile would land before the caret moved back over them.
    pendingCaret.current = before.length;
    setText(next);
    setQuery(null);
  }

  useLayoutEffect(() => {
    const el = textarea.current;
    const caret = pendingCaret.current;
    if (!el || caret === null) return;
    pendingCaret.current = null;
    el.focus();
    el.setSelectionRange(caret, caret);
  });

  async function submit() {
    if (busy) return;
    const mentions = [...picked.current]
      .filter(([name]) => text.includes(`@${name}`))
      .map(([, userId]) => userId);
    setBusy(true);
    const problem = await onSend(text, [...new Set(mentions)]);
    setBusy(false);
    if (problem) {
      setError(problem);
      return;
    }
    setText('');
    setError(null);
    picked.current.clear();
    textarea.current?.focus();
  }

  function onSubmit(event: FormEvent) {
    event.preventDefault();
    void submit();
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (candidates.length > 0) {
      if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
        event.preventDefault();
        const step = event.key === 'ArrowDown' ? 1 : -1;
        setActive((a) => (a + step + candidates.length) % candidates.length);
        return;
      }
      if (event.key === 'Enter' || event.key === 'Tab') {
        event.preventDefault();
        pick(candidates[Math.min(active, candidates.length - 1)]!);
        return;
      }
      if (event.key === 'Escape') {
        event.preventDefault();
        setQuery(null);
        return;
      }
    }
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      void submit();
    }
  }

  const length = text.trim().length;
  const tooLong = length > MAX_CONTENT_LENGTH;
  const listId = `${id}-mentions`;

  return (
    <form className="composer" onSubmit={onSubmit} data-testid={`${testId}-form`}>
      <label htmlFor={`${id}-text`} className="visually-hidden">
        Message
      </label>
      {candidates.length > 0 && (
        <div className="mention-suggestions" id={listId} role="listbox" data-testid="mention-suggestions">
          {candidates.map((c, i) => (
            <div
              key={c.id}
              role="option"
              tabIndex={-1}
              aria-selected={i === active}
              className={i === active ? 'mention-option active' : 'mention-option'}
              onMouseDown={(e) => {
                e.preventDefault();
                pick(c);
              }}
              data-testid="mention-option"
            >
              @{c.name}
            </div>
          ))}
        </div>
      )}
      <textarea
        id={`${id}-text`}
        ref={textarea}
        rows={1}
        value={text}
        placeholder={placeholder}
        aria-describedby={`${id}-help`}
        aria-invalid={tooLong || undefined}
        aria-autocomplete="list"
        aria-controls={candidates.length > 0 ? listId : undefined}
        onChange={(e) => onChange(e.target.value, e.target.selectionStart ?? e.target.value.length)}
        onKeyDown={onKeyDown}
        data-testid={testId}
      />
      <button
        type="submit"
        className="primary"
        disabled={length === 0 || tooLong || busy}
        data-testid={testId === 'composer' ? 'send' : `${testId}-send`}
      >
        Send
      </button>
      <p id={`${id}-help`} className={tooLong ? 'composer-help error-text' : 'composer-help muted'}>
        {length > MAX_CONTENT_LENGTH - 500
          ? `${length} / ${MAX_CONTENT_LENGTH} characters`
          : 'Enter to send, Shift+Enter for a new line, @ to mention, **bold** _italics_ `code`'}
      </p>
      <ErrorText message={error} testId={`${testId}-error`} />
    </form>
  );
}
