import { ConfigError } from '@groupchat/service-kit';
import { startAuthApi } from './boot.ts';
import { loadAuthConfig } from './config.ts';

try {
  const running = await startAuthApi(loadAuthConfig());
  const shutdown = async (signal: string) => {
    running.core.logger.info({ event: 'shutdown', signal }, 'shutting down');
    await running.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(`auth-api: ${error.message}`);
    process.exit(2);
  }
  throw error;
}
