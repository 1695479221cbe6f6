/**
 * Tokenizer worker thread: loads the model's tokenizer once, then encodes batches of pairs and
 * transfers the packed typed arrays back. Tokenizing is pure CPU; keeping it off the main thread
 * lets /ping and request parsing stay responsive under load.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PairEncoder } from './pairEncoder';
import { packChunks, packPairs, transferList } from './packPairs';
import { toWire, type FromWorker, type ToWorker, type WorkerInit } from './workerProtocol';

const port = parentPort;
if (!port) throw new Error('tokenizeWorker must run in a worker thread');

function send(msg: FromWorker, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(msg, transfer);
}

function handle(encoder: PairEncoder, msg: ToWorker): void {
  try {
    if (msg.type === 'pairs') {
      const pairs = encoder.encodePairs(msg.pairs, msg.opts, msg.base);
      const packed = packPairs(pairs);
      send({ type: 'pairs', id: msg.id, packed }, transferList(packed));
    } else {
      const docs = msg.pairs.map(([q, d]) => encoder.encodeDocChunks(q, d, msg.opts));
      const packed = packChunks(docs, msg.base);
      send({ type: 'chunks', id: msg.id, packed }, transferList(packed));
    }
  } catch (e) {
    send({ type: 'error', id: msg.id, error: toWire(e) });
  }
}

async function main(): Promise<void> {
  const init = workerData as WorkerInit;
  let encoder: PairEncoder;
  try {
    encoder = await PairEncoder.fromFiles(init);
  } catch (e) {
    send({ type: 'initError', error: toWire(e) });
    return;
  }
  // Requests posted while the tokenizer loaded wait in the port until this listener starts it.
  port!.on('message', (msg: ToWorker) => handle(encoder, msg));
  send({ type: 'ready' });
}

void main();
