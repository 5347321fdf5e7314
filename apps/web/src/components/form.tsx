import { type FormEvent, type InputHTMLAttributes, useCallback, useState } from 'react';
import { describeError } from '../api/http.ts';

/**
 * The state of a form that does one thing on submit: `busy` while it runs, `error` with the server's
 * reason when it fails. `run` clears the error first; a failure never escapes (it becomes `error`).
 * `keepBusy` (when the work leaves the page, e.g. signs in) keeps the button disabled after success.
 */
export function useAction(options: { keepBusy?: boolean } = {}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const keepBusy = options.keepBusy ?? false;
  const run = useCallback(
    async (work: () => Promise<unknown>): Promise<boolean> => {
      setBusy(true);
      setError(null);
      try {
        await work();
        if (!keepBusy) setBusy(false);
        return true;
      } catch (err) {
        setError(describeError(err));
        setBusy(false);
        return false;
      }
    },
    [keepBusy],
  );
  /** A form's onSubmit: no page load, then `run`. */
  const submit = useCallback(
    (work: () => Promise<unknown>) => (event: FormEvent) => {
      event.preventDefault();
      void run(work);
    },
    [run],
  );
  return { busy, error, setError, run, submit, setBusy };
}

/** A labelled text input bound to a string state (label above, as every form of the app lays it out). */
export function Field({
  id,
  label,
  value,
  onValue,
  testId,
  ...input
}: {
  id: string;
  label: string;
  value: string;
  onValue: (value: string) => void;
  testId: string;
} & Omit<InputHTMLAttributes<HTMLInputElement>, 'id' | 'value' | 'onChange'>) {
  return (
    <>
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        value={value}
        onChange={(e) => onValue(e.target.value)}
        data-testid={testId}
        {...input}
      />
    </>
  );
}

/** A new password: at least 8 characters (the contract's minimum), with the hint that says so. */
export function NewPasswordField(props: {
  id: string;
  label: string;
  value: string;
  onValue: (value: string) => void;
  testId: string;
}) {
  return (
    <>
      <Field
        {...props}
        type="password"
        required
        minLength={8}
        autoComplete="new-password"
        aria-describedby={`${props.id}-hint`}
      />
      <p id={`${props.id}-hint`} className="hint">
        At least 8 characters.
      </p>
    </>
  );
}
