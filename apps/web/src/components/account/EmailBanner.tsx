import { useSession } from '../../state/hooks.ts';
import './account.css';

/** Shown until the signed-in user has confirmed their email address (the mail from registration). */
export function EmailBanner() {
  const session = useSession();
  if (session.status !== 'signedIn' || session.user.email_verified !== false) return null;
  return (
    <div className="email-banner" role="status" data-testid="email-banner">
      Please confirm your email address: open the link in the mail we sent to{' '}
      <strong>{session.user.email}</strong>.
    </div>
  );
}
