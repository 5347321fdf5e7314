import { runService } from '@groupchat/service-kit';
import { startChatApi } from './boot.ts';

// Configuration from the environment, start, and a clean stop on SIGINT/SIGTERM (see runService):
// in-flight requests finish; WebSockets are closed (clients resume with their cursor).
await runService('chat-api', () => startChatApi(process.env), { logger: (chat) => chat.app.log });
