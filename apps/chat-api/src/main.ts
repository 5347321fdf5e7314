import { ConfigError } from '@groupchat/service-kit';
import { startChatApi } from './boot.ts';

/** Process entry: configuration from the environment, start, and a clean stop on SIGINT/SIGTERM. */
try {
  const chat = await startChatApi(process.env);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    chat.app.log.info({ event: 'shutdown', signal }, 'shutting down');
    // In-flight requests finish; WebSockets are closed (clients resume with `after`).
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    chat.close().then(
      () => process.exit(0),
      (error) => {
        chat.app.log.error({ err: error, event: 'shutdown_failed' }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(2);
  }
  throw error;
}
