/**
 * One service of the embedded platform on its own worker thread (started by scripts/start.ts): its
 * own event loop and its own PGlite, so one service's database work never stalls the other's
 * requests. The services talk over a ThreadBus (BroadcastChannel between the threads of this process).
 *
 * workerData: `{ service: 'auth-api' | 'chat-api', envs: [env…], logLevel }` (chat-api: one env per
 * instance, all on this thread). Posts `{type:'ready', urls}` once listening; on `{type:'stop'}`
 * closes everything and posts `{type:'stopped'}`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger, ThreadBus } from '@groupchat/service-kit';

interface ServiceData {
  service: 'auth-api' | 'chat-api';
  envs: Record<string, string>[];
  logLevel: string;
}

const { service, envs, logLevel } = workerData as ServiceData;
const port = parentPort!;
const bus = new ThreadBus();
const closers: (() => Promise<void>)[] = [];
const urls: string[] = [];

if (service === 'auth-api') {
  const { loadAuthConfig } = await import('@groupchat/auth-api/config');
  const { startAuthApi } = await import('@groupchat/auth-api/boot');
  const auth = await startAuthApi(loadAuthConfig(envs[0]!), {
    bus,
    logger: createLogger('auth-api', logLevel as never),
  });
  closers.push(() => auth.close());
  urls.push(auth.url);
} else {
  const { startChatApi } = await import('@groupchat/chat-api/boot');
  for (const env of envs) {
    const chat = await startChatApi(env, { bus, logger: createLogger('chat-api', logLevel as never) });
    closers.unshift(() => chat.close());
    urls.push(chat.url);
  }
}

port.on('message', (message: { type?: string }) => {
  if (message?.type !== 'stop') return;
  void (async () => {
    for (const close of closers) await close().catch((error) => console.error(error));
    await bus.close();
    port.postMessage({ type: 'stopped' });
    port.close();
  })();
});
port.postMessage({ type: 'ready', urls });
