import { type FormEvent, useEffect, useId, useRef, useState } from 'react';
import { describeError } from '../api/http.ts';
import { hrefFor, navigate } from '../route.ts';
import { useChatStore } from '../state/hooks.ts';
import { ErrorText } from './ErrorText.tsx';

export function CreateGroup() {
  const store = useChatStore();
  const id = useId();
  const input = useRef<HTMLInputElement>(null);
  const [name, setName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => input.current?.focus(), []);

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    if (!name.trim()) {
      setError('Give the group a name.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const group = await store.createGroup(name);
      navigate({ name: 'group', groupId: group.id });
    } catch (err) {
      setError(describeError(err));
      setBusy(false);
    }
  }

  return (
    <section className="panel create-group" aria-labelledby={`${id}-title`} data-testid="create-group">
      <div className="panel-header">
        <a className="back" href={hrefFor({ name: 'home' })} aria-label="Back to groups">
          ‹ Groups
        </a>
        <h2 id={`${id}-title`}>New group</h2>
      </div>
      <form className="form" onSubmit={onSubmit}>
        <label htmlFor={`${id}-name`}>Group name</label>
        <input
          id={`${id}-name`}
          ref={input}
          value={name}
          maxLength={200}
          onChange={(e) => setName(e.target.value)}
          data-testid="group-name"
        />
        <p className="hint">You become its owner and can add people from your organization afterwards.</p>
        <ErrorText message={error} testId="create-group-error" />
        <div className="actions">
          <button type="submit" className="primary" disabled={busy} data-testid="create-group-submit">
            {busy ? 'Creating…' : 'Create group'}
          </button>
          <a className="button secondary" href={hrefFor({ name: 'home' })}>
            Cancel
          </a>
        </div>
      </form>
    </section>
  );
}
