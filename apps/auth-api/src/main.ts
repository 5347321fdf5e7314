import { runService } from '@groupchat/service-kit';
import { startAuthApi } from './boot.ts';
import { loadAuthConfig } from './config.ts';

// Configuration from the environment, start, and a clean stop on SIGINT/SIGTERM (see runService).
await runService('auth-api', () => startAuthApi(loadAuthConfig()), {
  logger: (running) => running.core.logger,
});
