import { useChat, useChatStore } from '../state/hooks.ts';

const LABELS = {
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: 'Reconnecting…',
  offline: 'Offline',
} as const;

export function ConnectionBadge() {
  const store = useChatStore();
  const connection = useChat((s) => s.connection);
  return (
    <span className="connection" role="status" aria-live="polite">
      <span
        className={`connection-badge ${connection}`}
        data-testid="connection-state"
        data-state={connection}
      >
        <span className="dot" aria-hidden="true" />
        {LABELS[connection]}
      </span>
      {connection === 'reconnecting' && (
        <button type="button" className="link small" onClick={() => store.reconnectNow()}>
          Retry now
        </button>
      )}
    </span>
  );
}
