import { type FormEvent, type KeyboardEvent, useEffect, useId, useRef, useState } from 'react';
import { MAX_CONTENT_LENGTH } from '../api/chat.ts';
import { useChatStore } from '../state/hooks.ts';
import { ErrorText } from './ErrorText.tsx';

/** Enter sends, Shift+Enter starts a new line. */
export function Composer({ groupId, onSent }: { groupId: string; onSent?: () => void }) {
  const store = useChatStore();
  const id = useId();
  const textarea = useRef<HTMLTextAreaElement>(null);
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    // Focus the composer when a room opens, except on touch screens where it pops the keyboard.
    if (window.matchMedia('(pointer: fine)').matches) textarea.current?.focus();
  }, []);

  // Grow with the text, up to the CSS max-height.
  useEffect(() => {
    const el = textarea.current;
    if (!el) return;
    el.style.height = 'auto';
    if (text) el.style.height = `${el.scrollHeight}px`;
  }, [text]);

  function submit() {
    const problem = store.send(groupId, text);
    if (problem) {
      setError(problem);
      return;
    }
    setText('');
    setError(null);
    onSent?.();
    textarea.current?.focus();
  }

  function onSubmit(event: FormEvent) {
    event.preventDefault();
    submit();
  }

  function onKeyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      submit();
    }
  }

  const length = text.trim().length;
  const tooLong = length > MAX_CONTENT_LENGTH;

  return (
    <form className="composer" onSubmit={onSubmit} data-testid="composer-form">
      <label htmlFor={`${id}-text`} className="visually-hidden">
        Message
      </label>
      <textarea
        id={`${id}-text`}
        ref={textarea}
        rows={1}
        value={text}
        placeholder="Write a message…"
        aria-describedby={`${id}-help`}
        aria-invalid={tooLong || undefined}
        onChange={(e) => {
          setText(e.target.value);
          if (e.target.value.trim()) store.typing(groupId);
          if (error) setError(null);
        }}
        onKeyDown={onKeyDown}
        data-testid="composer"
      />
      <button type="submit" className="primary" disabled={length === 0 || tooLong} data-testid="send">
        Send
      </button>
      <p id={`${id}-help`} className={tooLong ? 'composer-help error-text' : 'composer-help muted'}>
        {length > MAX_CONTENT_LENGTH - 500
          ? `${length} / ${MAX_CONTENT_LENGTH} characters`
          : 'Enter to send, Shift+Enter for a new line'}
      </p>
      <ErrorText message={error} testId="composer-error" />
    </form>
  );
}
