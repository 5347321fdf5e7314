import { useCallback, useEffect, useState } from 'react';
import { authedFetch, describeError } from '../api/http.ts';
import { useSessionStore } from '../state/hooks.ts';

/** One app the user let act for them (auth-api GET /api/auth/connected-apps). */
interface ConnectedApp {
  client_id: string;
  client_name: string;
  scopes: string[];
  connected_at: string;
}

const SCOPE_WORDS: Record<string, string> = {
  openid: 'who you are',
  profile: 'your name',
  email: 'your email',
  'groups:read': 'your groups',
  'groups:write': 'change groups',
  'members:read': 'group members',
};

/**
 * Settings → Connected apps: the apps the user agreed may act for them ("sign in with the platform"),
 * and a button that disconnects one: auth-api forgets the consent and ends the app's refresh tokens
 * (and its access tokens) at once.
 */
export function ConnectedApps() {
  const session = useSessionStore();
  const [apps, setApps] = useState<ConnectedApp[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      const data = await authedFetch<{ apps: ConnectedApp[] }>(session, '/api/auth/connected-apps');
      setApps(data.apps);
      setError(null);
    } catch (caught) {
      setError(describeError(caught));
    }
  }, [session]);

  useEffect(() => {
    void load();
  }, [load]);

  const disconnect = async (app: ConnectedApp) => {
    setBusy(app.client_id);
    try {
      await authedFetch(session, `/api/auth/connected-apps/${encodeURIComponent(app.client_id)}`, {
        method: 'DELETE',
      });
      await load();
    } catch (caught) {
      setError(describeError(caught));
    } finally {
      setBusy(null);
    }
  };

  return (
    <section
      className="connected-apps"
      aria-labelledby="connected-apps-title"
      data-testid="connected-apps"
      style={{ margin: '4px 0 14px' }}
    >
      <h3 id="connected-apps-title" className="small-title">
        Connected apps
      </h3>
      {error && (
        <p className="error-text" role="alert">
          {error}
        </p>
      )}
      {apps === null && !error && <p className="muted small-text">Loading…</p>}
      {apps !== null && apps.length === 0 && (
        <p className="muted small-text" data-testid="connected-apps-empty">
          No app can act for you.
        </p>
      )}
      {apps !== null && apps.length > 0 && (
        <ul className="connected-app-list" style={{ listStyle: 'none', padding: 0, margin: 0 }}>
          {apps.map((app) => (
            <li
              key={app.client_id}
              data-testid="connected-app"
              data-client-id={app.client_id}
              style={{
                display: 'flex',
                justifyContent: 'space-between',
                alignItems: 'center',
                gap: 8,
                margin: '6px 0',
              }}
            >
              <span>
                <strong>{app.client_name}</strong>
                <br />
                <span className="muted small-text">
                  {app.scopes.map((scope) => SCOPE_WORDS[scope] ?? scope).join(', ')}
                </span>
              </span>
              <button
                type="button"
                className="secondary small"
                disabled={busy === app.client_id}
                onClick={() => void disconnect(app)}
                data-testid="connected-app-revoke"
                aria-label={`Disconnect ${app.client_name}`}
              >
                Disconnect
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
