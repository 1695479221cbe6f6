/**
 * Tokenizer worker thread: loads the model's tokenizer once, then encodes batches of pairs and
 * transfers the packed typed arrays back. Tokenizing is pure CPU; keeping it off the main thread
 * lets /ping and request parsing stay responsive under load.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { tokensByWord } from './docChunks';
import { PairEncoder } from './pairEncoder';
import { PromptEncoder } from './promptEncoder';
import { packChunks, packPairs, transferList } from './packPairs';
import { toWire, type FromWorker, type ToWorker, type WorkerInit } from './workerProtocol';

const port = parentPort;
if (!port) throw new Error('tokenizeWorker must run in a worker thread');

function send(msg: FromWorker, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(msg, transfer);
}

function handle(encoder: PairEncoder, prompt: PromptEncoder | undefined, msg: ToWorker): void {
  try {
    if (msg.type === 'pairs') {
      const pairs = prompt ? msg.pairs.map(([q, d], i) => prompt.encode(q, d, msg.opts, msg.base + i)) : encoder.encodePairs(msg.pairs, msg.opts, msg.base);
      const packed = packPairs(pairs);
      send({ type: 'pairs', id: msg.id, packed }, transferList(packed));
    } else if (msg.type === 'words') {
      const words = tokensByWord(encoder, msg.text, msg.offset);
      send({ type: 'words', id: msg.id, words }, [words.ids.buffer, words.starts.buffer, words.ends.buffer] as ArrayBuffer[]);
    } else if (msg.type === 'text') {
      const ids = encoder.encodeTextUpTo(msg.text, msg.maxTokens);
      send({ type: 'text', id: msg.id, ids }, [ids.buffer as ArrayBuffer]);
    } else {
      // Plain pair windows unless the prompt is asked for: max_tokens_per_doc counts a decoder's
      // document tokens with plain windows too.
      const chunker = msg.opts.prompt && prompt ? prompt : encoder;
      const docs = msg.pairs.map(([q, d]) => chunker.encodeDocChunks(q, d, msg.opts));
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
  let prompt: PromptEncoder | undefined;
  try {
    encoder = await PairEncoder.fromFiles(init);
    if (init.prompt) prompt = new PromptEncoder(encoder, init.prompt);
  } catch (e) {
    send({ type: 'initError', error: toWire(e) });
    return;
  }
  // Requests posted while the tokenizer loaded wait in the port until this listener starts it.
  port!.on('message', (msg: ToWorker) => handle(encoder, prompt, msg));
  send({ type: 'ready', template: encoder.template, ...(prompt ? { promptIds: prompt.summary() } : {}) });
}

void main();
