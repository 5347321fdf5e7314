/** Worker-thread fixture for bus.test.ts: echoes every `ping` it hears on the ThreadBus as `pong`. */
import { parentPort } from 'node:worker_threads';
import { ThreadBus } from '../bus.ts';

const bus = new ThreadBus('bus-test');
await bus.subscribe('ping', (payload) => {
  void bus.publish('pong', { echoed: payload });
});
parentPort!.on('message', async () => {
  await bus.close();
  parentPort!.close();
});
parentPort!.postMessage('ready');
