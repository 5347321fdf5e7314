import type { Message } from '@groupchat/contract';
import { type FormEvent, useId, useState } from 'react';
import { describeError } from '../api/http.ts';
import { navigate } from '../route.ts';
import { displayName, groupLabel } from '../state/chat.ts';
import { useChat, useChatStore } from '../state/hooks.ts';
import { ErrorText } from './ErrorText.tsx';

/** Search over my groups; a result opens its room scrolled to the message, highlighted. */
export function SearchBox() {
  const store = useChatStore();
  const id = useId();
  const state = useChat((s) => s);
  const [q, setQ] = useState('');
  const [results, setResults] = useState<Message[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    const query = q.trim();
    if (!query) return;
    setBusy(true);
    setError(null);
    try {
      setResults(await store.search(query.slice(0, 200)));
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  }

  function open(message: Message) {
    navigate({ name: 'group', groupId: message.group_id });
    void store.jumpTo(message.group_id, message.id);
    setResults(null);
  }

  return (
    <div className="search-box" data-testid="search-box">
      <form aria-label="Search messages" onSubmit={onSubmit} className="inline-form">
        <label htmlFor={`${id}-q`} className="visually-hidden">
          Search messages
        </label>
        <input
          id={`${id}-q`}
          type="search"
          value={q}
          maxLength={200}
          placeholder="Search messages"
          onChange={(e) => setQ(e.target.value)}
          data-testid="search-input"
        />
        <button type="submit" className="secondary small" disabled={busy} data-testid="search-submit">
          {busy ? '…' : 'Search'}
        </button>
      </form>
      <ErrorText message={error} testId="search-error" />
      {results && (
        <ul className="search-results" data-testid="search-results">
          {results.length === 0 && <li className="muted small-text">No messages found.</li>}
          {results.map((m) => {
            const group = state.groups.find((g) => g.id === m.group_id);
            return (
              <li key={m.id}>
                <button
                  type="button"
                  className="link search-result"
                  onClick={() => open(m)}
                  data-testid="search-result"
                >
                  <span className="small-text muted">
                    {group ? groupLabel(state, group) : 'A group'} · {displayName(state.people, m.sender_id)}
                  </span>
                  <span className="search-text">{m.content}</span>
                </button>
              </li>
            );
          })}
        </ul>
      )}
    </div>
  );
}
