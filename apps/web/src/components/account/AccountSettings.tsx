import QRCode from 'qrcode';
import { useId, useMemo, useState } from 'react';
import { AccountsApi } from '../../api/accounts.ts';
import { hrefFor } from '../../route.ts';
import { useSession, useSessionStore } from '../../state/hooks.ts';
import { ErrorText } from '../ErrorText.tsx';
import { Field, NewPasswordField, useAction } from '../form.tsx';
import './account.css';

function useAccountsApi(): AccountsApi {
  const session = useSessionStore();
  return useMemo(() => new AccountsApi(session), [session]);
}

/** Links in the user menu: account settings for everyone, the organization page for its admins. */
export function AccountLinks() {
  const session = useSession();
  const admin = session.status === 'signedIn' && ['owner', 'admin'].includes(session.user.role);
  return (
    // A link in the menu leaves the menu: close it, so the page it opens is not covered.
    <nav
      className="account-links"
      aria-label="Account"
      onClickCapture={(e) => e.currentTarget.closest('details')?.removeAttribute('open')}
    >
      <a href={hrefFor({ name: 'account' })} data-testid="account-link">
        Password and two-factor sign-in
      </a>
      {admin && (
        <a href={hrefFor({ name: 'org-admin' })} data-testid="org-admin-link">
          Organization: members, invitations, audit log
        </a>
      )}
    </nav>
  );
}

export function AccountSettings() {
  return (
    <div className="account-page" data-testid="account-page">
      <ChangePassword />
      <TwoFactor />
    </div>
  );
}

function ChangePassword() {
  const api = useAccountsApi();
  const id = useId();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [done, setDone] = useState(false);
  const { busy, error, submit } = useAction();

  const onSubmit = submit(async () => {
    setDone(false);
    await api.changePassword(current, next);
    setDone(true);
    setCurrent('');
    setNext('');
  });

  return (
    <section aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Change password</h2>
      <form className="form" onSubmit={onSubmit} data-testid="change-password-form">
        <Field
          id={`${id}-cur`}
          label="Current password"
          type="password"
          required
          autoComplete="current-password"
          value={current}
          onValue={setCurrent}
          testId="change-current"
        />
        <NewPasswordField
          id={`${id}-new`}
          label="New password"
          value={next}
          onValue={setNext}
          testId="change-new"
        />
        <ErrorText id={`${id}-err`} message={error} testId="change-error" />
        {done && (
          <p className="success-text" data-testid="change-done">
            Password changed. Your other sessions were signed out.
          </p>
        )}
        <button type="submit" className="primary" disabled={busy} data-testid="change-submit">
          {busy ? 'Saving…' : 'Change password'}
        </button>
      </form>
    </section>
  );
}

function TwoFactor() {
  const session = useSession();
  const store = useSessionStore();
  const api = useAccountsApi();
  const id = useId();
  const [setup, setSetup] = useState<{ secret: string; uri: string; qr: string } | null>(null);
  const [code, setCode] = useState('');
  const [codes, setCodes] = useState<string[] | null>(null);
  const { busy, error, run, submit } = useAction();
  const [copied, setCopied] = useState(false);
  const enabled = session.status === 'signedIn' && session.user.mfa_enabled === true;

  const start = () =>
    run(async () => {
      const result = await api.setupTotp();
      const qr = await QRCode.toDataURL(result.otpauth_uri, { margin: 1, width: 200 });
      setSetup({ secret: result.secret, uri: result.otpauth_uri, qr });
      setCodes(null);
    });

  const enable = submit(async () => {
    const result = await api.enableTotp(code.trim());
    setCodes(result.recovery_codes);
    setSetup(null);
    setCode('');
    await store.reload();
  });

  const disable = submit(async () => {
    await api.disableTotp(code.trim());
    setCode('');
    setCodes(null);
    await store.reload();
  });

  return (
    <section aria-labelledby={`${id}-title`} data-testid="two-factor">
      <h2 id={`${id}-title`}>Two-factor sign-in</h2>
      <p data-testid="mfa-status">
        {enabled
          ? 'On: signing in asks for a code from your authenticator app.'
          : 'Off: signing in needs only your password.'}
      </p>
      {codes && (
        <div data-testid="recovery-codes">
          <p>
            <strong>Recovery codes.</strong> Each works once, when you cannot use your app. Keep them
            somewhere safe: they are not shown again.
          </p>
          <ol className="recovery-codes">
            {codes.map((c) => (
              <li key={c} data-testid="recovery-code">
                {c}
              </li>
            ))}
          </ol>
          <button
            type="button"
            className="secondary small"
            onClick={() => {
              void navigator.clipboard?.writeText(codes.join('\n')).then(() => setCopied(true));
            }}
            data-testid="copy-recovery-codes"
          >
            {copied ? 'Copied' : 'Copy codes'}
          </button>
        </div>
      )}
      {!enabled && !setup && (
        <button
          type="button"
          className="primary"
          disabled={busy}
          onClick={() => void start()}
          data-testid="mfa-setup"
        >
          Set up two-factor sign-in
        </button>
      )}
      {!enabled && setup && (
        <form className="form" onSubmit={enable} data-testid="mfa-enable-form">
          <p>
            Scan this code with your authenticator app, or type the key in by hand, then enter the 6-digit
            code it shows.
          </p>
          <img className="qr" src={setup.qr} alt="QR code for your authenticator app" data-testid="mfa-qr" />
          <p>
            Key:{' '}
            <span className="secret" data-testid="mfa-secret">
              {setup.secret}
            </span>
          </p>
          <Field
            id={`${id}-code`}
            label="Code from the app"
            inputMode="numeric"
            autoComplete="one-time-code"
            required
            value={code}
            onValue={setCode}
            testId="mfa-enable-code"
          />
          <button type="submit" className="primary" disabled={busy} data-testid="mfa-enable-submit">
            Turn on
          </button>
        </form>
      )}
      {enabled && (
        <form className="form" onSubmit={disable} data-testid="mfa-disable-form">
          <Field
            id={`${id}-off`}
            label="To turn it off, enter a current code or a recovery code"
            required
            value={code}
            onValue={setCode}
            testId="mfa-disable-code"
          />
          <button type="submit" className="secondary" disabled={busy} data-testid="mfa-disable-submit">
            Turn off
          </button>
        </form>
      )}
      <ErrorText id={`${id}-err`} message={error} testId="mfa-settings-error" />
    </section>
  );
}
