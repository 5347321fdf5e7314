import { useId, useState } from 'react';
import type { MfaChallengeDto } from '../api/accounts.ts';
import { useSessionStore } from '../state/hooks.ts';
import { MfaStep } from './account/MfaStep.tsx';
import { ErrorText } from './ErrorText.tsx';
import { Field, NewPasswordField, useAction } from './form.tsx';

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
  // Signed in, the app replaces this page: the button stays disabled until then.
  const { busy, error, submit, setBusy } = useAction({ keepBusy: true });
  const [challenge, setChallenge] = useState<MfaChallengeDto | null>(null);

  const onSubmit = submit(async () => {
    const pending = await session.login(email.trim(), password);
    if (pending) {
      setChallenge(pending);
      setBusy(false);
    }
  });

  if (challenge) return <MfaStep challenge={challenge} onRestart={() => setChallenge(null)} />;

  return (
    <form
      className="form"
      onSubmit={onSubmit}
      data-testid="signin-form"
      aria-describedby={error ? `${id}-err` : undefined}
    >
      <Field
        id={`${id}-email`}
        label="Email"
        type="email"
        autoComplete="username"
        required
        value={email}
        onValue={setEmail}
        testId="signin-email"
      />
      <Field
        id={`${id}-password`}
        label="Password"
        type="password"
        autoComplete="current-password"
        required
        value={password}
        onValue={setPassword}
        testId="signin-password"
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
  const { busy, error, submit } = useAction({ keepBusy: true });

  const onSubmit = submit(async () => {
    if (password.length < 8) throw new Error('The password needs at least 8 characters.');
    await session.register({
      org_name: orgName.trim(),
      display_name: displayName.trim(),
      email: email.trim(),
      password,
    });
  });

  return (
    <form className="form" onSubmit={onSubmit} data-testid="register-form">
      <Field
        id={`${id}-org`}
        label="Organization name"
        required
        autoComplete="organization"
        value={orgName}
        onValue={setOrgName}
        testId="register-org"
      />
      <Field
        id={`${id}-name`}
        label="Your name"
        required
        autoComplete="name"
        value={displayName}
        onValue={setDisplayName}
        testId="register-name"
      />
      <Field
        id={`${id}-email`}
        label="Email"
        type="email"
        required
        autoComplete="email"
        value={email}
        onValue={setEmail}
        testId="register-email"
      />
      <NewPasswordField
        id={`${id}-password`}
        label="Password"
        value={password}
        onValue={setPassword}
        testId="register-password"
      />
      <ErrorText id={`${id}-err`} message={error} testId="auth-error" />
      <button type="submit" className="primary" disabled={busy} data-testid="register-submit">
        {busy ? 'Creating…' : 'Create organization'}
      </button>
    </form>
  );
}
