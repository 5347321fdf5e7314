import { type FormEvent, useId, useState } from 'react';
import type { MfaChallengeDto } from '../../api/accounts.ts';
import { ApiError, describeError } from '../../api/http.ts';
import { useSessionStore } from '../../state/hooks.ts';
import { ErrorText } from '../ErrorText.tsx';

/** The second step of a two-factor sign-in: a code from the authenticator app, or a recovery code. */
export function MfaStep({ challenge, onRestart }: { challenge: MfaChallengeDto; onRestart: () => void }) {
  const session = useSessionStore();
  const id = useId();
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [dead, setDead] = useState(false);

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await session.loginMfa(challenge.mfa_token, code.trim());
    } catch (err) {
      // After too many wrong codes (or when it expired) the attempt is over: start again.
      if (err instanceof ApiError && err.title !== 'Too Many Requests' && /sign in again/.test(err.detail))
        setDead(true);
      setError(describeError(err));
      setBusy(false);
    }
  }

  return (
    <form className="form" onSubmit={onSubmit} data-testid="mfa-form">
      <p>Enter the 6-digit code from your authenticator app, or one of your recovery codes.</p>
      <label htmlFor={`${id}-code`}>Code</label>
      <input
        id={`${id}-code`}
        inputMode="numeric"
        autoComplete="one-time-code"
        required
        value={code}
        onChange={(e) => setCode(e.target.value)}
        data-testid="mfa-code"
      />
      <ErrorText id={`${id}-err`} message={error} testId="mfa-error" />
      {dead ? (
        <button type="button" className="primary" onClick={onRestart} data-testid="mfa-restart">
          Sign in again
        </button>
      ) : (
        <button type="submit" className="primary" disabled={busy} data-testid="mfa-submit">
          {busy ? 'Checking…' : 'Verify'}
        </button>
      )}
    </form>
  );
}
