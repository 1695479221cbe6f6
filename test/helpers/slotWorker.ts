/**
 * A tiny worker for test/unit/workerSlot.test.ts that can be told to crash. workerData.start says how
 * it starts: 'ok' (answers { type: 'ready' }), 'init-error' (answers { type: 'init-error' }), 'exit'
 * (process.exit(70) before any answer). Then: 'echo' answers with its value, 'hold' is never
 * answered (a task in flight), 'exit' ends the thread with process.exit(code), 'throw' throws an
 * uncaught error in it, 'bye' (the slot's stop message) exits with 0.
 */
import { parentPort, workerData } from 'node:worker_threads';

export type SlotWorkerStart = 'ok' | 'init-error' | 'exit';
export type ToSlotWorker =
  | { readonly type: 'echo'; readonly id: number; readonly value: string }
  | { readonly type: 'hold'; readonly id: number }
  | { readonly type: 'exit'; readonly id: number; readonly code: number }
  | { readonly type: 'throw'; readonly id: number; readonly message: string }
  | { readonly type: 'bye' };
export type FromSlotWorker =
  | { readonly type: 'ready'; readonly threadStart: SlotWorkerStart }
  | { readonly type: 'init-error'; readonly message: string }
  | { readonly type: 'echo'; readonly id: number; readonly value: string };

const port = parentPort!;
const start = (workerData as { start: SlotWorkerStart }).start;
const post = (m: FromSlotWorker): void => port.postMessage(m);

if (start === 'exit') process.exit(70);
if (start === 'init-error') {
  post({ type: 'init-error', message: 'told to fail its start' });
  port.on('message', () => undefined); // stays alive, as a real worker after its init error, until terminated
} else {
  post({ type: 'ready', threadStart: start });
  port.on('message', (m: ToSlotWorker) => {
    switch (m.type) {
      case 'echo':
        post({ type: 'echo', id: m.id, value: m.value });
        return;
      case 'hold':
        return;
      case 'exit':
        process.exit(m.code);
        return;
      case 'throw':
        throw new Error(m.message);
      case 'bye':
        process.exit(0);
    }
  });
}
