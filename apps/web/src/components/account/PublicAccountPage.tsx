import { useEffect, useId, useRef, useState } from 'react';
import { forgotPassword, resetPassword, verifyEmail } from '../../api/accounts.ts';
import { describeError } from '../../api/http.ts';
import { hrefFor, navigate, type Route } from '../../route.ts';
import { useSession, useSessionStore } from '../../state/hooks.ts';
import { ErrorText } from '../ErrorText.tsx';
import { Field, NewPasswordField, useAction } from '../form.tsx';
import './account.css';

type PublicRoute = Extract<
  Route,
  { name: 'accept-invitation' | 'verify-email' | 'reset-password' | 'forgot-password' }
>;

export function isPublicAccountRoute(route: Route): route is PublicRoute {
  return ['accept-invitation', 'verify-email', 'reset-password', 'forgot-password'].includes(route.name);
}

/** Pages opened from a mail's link, and the forgot-password form; they work signed in or out. */
export function PublicAccountPage({ route }: { route: PublicRoute }) {
  return (
    <main className="auth-page">
      <section className="auth-card" aria-labelledby="account-title">
        <h1 id="account-title" className="brand">
          Groupchat
        </h1>
        {route.name === 'accept-invitation' && <AcceptInvitation token={route.token} />}
        {route.name === 'verify-email' && <VerifyEmail token={route.token} />}
        {route.name === 'reset-password' && <ResetPassword token={route.token} />}
        {route.name === 'forgot-password' && <ForgotPassword />}
        <p className="small-text">
          <a href={hrefFor({ name: 'home' })} data-testid="back-to-signin">
            Back to Groupchat
          </a>
        </p>
      </section>
    </main>
  );
}

function AcceptInvitation({ token }: { token: string }) {
  const session = useSessionStore();
  const id = useId();
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const { busy, error, submit } = useAction({ keepBusy: true });

  const onSubmit = submit(async () => {
    await session.acceptInvitation(token, password, name.trim());
    navigate({ name: 'home' });
  });

  return (
    <form className="form" onSubmit={onSubmit} data-testid="accept-form">
      <h2>Join your team</h2>
      <p>Choose your name and a password to accept the invitation.</p>
      <Field
        id={`${id}-name`}
        label="Your name"
        required
        autoComplete="name"
        value={name}
        onValue={setName}
        testId="accept-name"
      />
      <NewPasswordField
        id={`${id}-pw`}
        label="Password"
        value={password}
        onValue={setPassword}
        testId="accept-password"
      />
      <ErrorText id={`${id}-err`} message={error} testId="accept-error" />
      <button type="submit" className="primary" disabled={busy} data-testid="accept-submit">
        {busy ? 'Joining…' : 'Join'}
      </button>
    </form>
  );
}

function VerifyEmail({ token }: { token: string }) {
  const session = useSession();
  const store = useSessionStore();
  const [state, setState] = useState<'working' | 'done' | string>('working');
  const started = useRef(false);
  useEffect(() => {
    if (started.current) return;
    started.current = true;
    verifyEmail(token)
      .then(async () => {
        setState('done');
        if (session.status === 'signedIn') await store.reload();
      })
      .catch((err) => setState(describeError(err)));
  }, [token, session.status, store]);
  if (state === 'working') return <p data-testid="verify-working">Confirming your email address…</p>;
  if (state === 'done')
    return (
      <p className="success-text" data-testid="verify-done">
        Your email address is confirmed.
      </p>
    );
  return <ErrorText id="verify-err" message={state} testId="verify-error" />;
}

function ResetPassword({ token }: { token: string }) {
  const id = useId();
  const [password, setPassword] = useState('');
  const [done, setDone] = useState(false);
  const { busy, error, submit } = useAction();

  const onSubmit = submit(async () => {
    await resetPassword(token, password);
    setDone(true);
  });

  if (done)
    return (
      <p className="success-text" data-testid="reset-done">
        Your password is changed, and every session of your account was signed out. Sign in with the new
        password.
      </p>
    );
  return (
    <form className="form" onSubmit={onSubmit} data-testid="reset-form">
      <h2>Choose a new password</h2>
      <NewPasswordField
        id={`${id}-pw`}
        label="New password"
        value={password}
        onValue={setPassword}
        testId="reset-password"
      />
      <ErrorText id={`${id}-err`} message={error} testId="reset-error" />
      <button type="submit" className="primary" disabled={busy} data-testid="reset-submit">
        {busy ? 'Saving…' : 'Set password'}
      </button>
    </form>
  );
}

function ForgotPassword() {
  const id = useId();
  const [email, setEmail] = useState('');
  const [sent, setSent] = useState<string | null>(null);
  const { busy, error, submit } = useAction();

  const onSubmit = submit(async () => {
    await forgotPassword(email.trim());
    setSent(email.trim());
  });

  if (sent)
    return (
      <p className="success-text" data-testid="forgot-sent">
        If an account uses {sent}, a mail with a link to reset its password is on its way.
      </p>
    );
  return (
    <form className="form" onSubmit={onSubmit} data-testid="forgot-form">
      <h2>Forgot your password?</h2>
      <p>We will mail you a link to choose a new one.</p>
      <Field
        id={`${id}-email`}
        label="Email"
        type="email"
        required
        autoComplete="email"
        value={email}
        onValue={setEmail}
        testId="forgot-email"
      />
      <ErrorText id={`${id}-err`} message={error} testId="forgot-error" />
      <button type="submit" className="primary" disabled={busy} data-testid="forgot-submit">
        {busy ? 'Sending…' : 'Send the link'}
      </button>
    </form>
  );
}
