import { type FormEvent, useId, useState } from 'react';
import type { MfaChallengeDto } from '../api/accounts.ts';
import { describeError } from '../api/http.ts';
import { useSessionStore } from '../state/hooks.ts';
import { MfaStep } from './account/MfaStep.tsx';
import { ErrorText } from './ErrorText.tsx';

type Mode = 'signin' | 'register';

export function SignIn({ notice }: { notice: string | null }) {
  const [mode, setMode] = useState<Mode>('signin');
  return (
    <main className="auth-page">
      <section className="auth-card" aria-labelledby="auth-title">
        <h1 id="auth-title" className="brand">
          Groupchat
        </h1>
        <div className="tabs" role="tablist" aria-label="Sign in or create an organization">
          <button
            type="button"
            role="tab"
            aria-selected={mode === 'signin'}
            className={mode === 'signin' ? 'tab active' : 'tab'}
            onClick={() => setMode('signin')}
            data-testid="tab-signin"
          >
            Sign in
          </button>
          <button
            type="button"
            role="tab"
            aria-selected={mode === 'register'}
            className={mode === 'register' ? 'tab active' : 'tab'}
            onClick={() => setMode('register')}
            data-testid="tab-register"
          >
            New organization
          </button>
        </div>
        {notice && (
          <p className="notice" role="status" data-testid="session-notice">
            {notice}
          </p>
        )}
        {mode === 'signin' ? <SignInForm /> : <RegisterForm />}
      </section>
    </main>
  );
}

function SignInForm() {
  const session = useSessionStore();
  const id = useId();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [challenge, setChallenge] = useState<MfaChallengeDto | null>(null);

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const pending = await session.login(email.trim(), password);
      if (pending) {
        setChallenge(pending);
        setBusy(false);
      }
    } catch (err) {
      setError(describeError(err));
      setBusy(false);
    }
  }

  if (challenge) return <MfaStep challenge={challenge} onRestart={() => setChallenge(null)} />;

  return (
    <form
      className="form"
      onSubmit={onSubmit}
      data-testid="signin-form"
      aria-describedby={error ? `${id}-err` : undefined}
    >
      <label htmlFor={`${id}-email`}>Email</label>
      <input
        id={`${id}-email`}
        type="email"
        autoComplete="username"
        required
        value={email}
        onChange={(e) => setEmail(e.target.value)}
        data-testid="signin-email"
      />
      <label htmlFor={`${id}-password`}>Password</label>
      <input
        id={`${id}-password`}
        type="password"
        autoComplete="current-password"
        required
        value={password}
        onChange={(e) => setPassword(e.target.value)}
        data-testid="signin-password"
      />
      <ErrorText id={`${id}-err`} message={error} testId="auth-error" />
      <button type="submit" className="primary" disabled={busy} data-testid="signin-submit">
        {busy ? 'Signing in…' : 'Sign in'}
      </button>
      <a className="small-text" href="#/forgot-password" data-testid="forgot-link">
        Forgot your password?
      </a>
    </form>
  );
}

function RegisterForm() {
  const session = useSessionStore();
  const id = useId();
  const [orgName, setOrgName] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    if (password.length < 8) {
      setError('The password needs at least 8 characters.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await session.register({
        org_name: orgName.trim(),
        display_name: displayName.trim(),
        email: email.trim(),
        password,
      });
    } catch (err) {
      setError(describeError(err));
      setBusy(false);
    }
  }

  return (
    <form className="form" onSubmit={onSubmit} data-testid="register-form">
      <label htmlFor={`${id}-org`}>Organization name</label>
      <input
        id={`${id}-org`}
        required
        autoComplete="organization"
        value={orgName}
        onChange={(e) => setOrgName(e.target.value)}
        data-testid="register-org"
      />
      <label htmlFor={`${id}-name`}>Your name</label>
      <input
        id={`${id}-name`}
        required
        autoComplete="name"
        value={displayName}
        onChange={(e) => setDisplayName(e.target.value)}
        data-testid="register-name"
      />
      <label htmlFor={`${id}-email`}>Email</label>
      <input
        id={`${id}-email`}
        type="email"
        required
        autoComplete="email"
        value={email}
        onChange={(e) => setEmail(e.target.value)}
        data-testid="register-email"
      />
      <label htmlFor={`${id}-password`}>Password</label>
      <input
        id={`${id}-password`}
        type="password"
        required
        minLength={8}
        autoComplete="new-password"
        aria-describedby={`${id}-pw-hint`}
        value={password}
        onChange={(e) => setPassword(e.target.value)}
        data-testid="register-password"
      />
      <p id={`${id}-pw-hint`} className="hint">
        At least 8 characters.
      </p>
      <ErrorText id={`${id}-err`} message={error} testId="auth-error" />
      <button type="submit" className="primary" disabled={busy} data-testid="register-submit">
        {busy ? 'Creating…' : 'Create organization'}
      </button>
    </form>
  );
}
