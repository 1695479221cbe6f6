/**
 * The naive peer: what a Node user writes first. Express, @huggingface/transformers'
 * AutoTokenizer + AutoModelForSequenceClassification on the same model folder (its
 * text-classification pipeline takes no text pairs and softmaxes a single logit to 1.0, so a user
 * lands here), one model call per request, padded to the request's longest pair, on the main
 * thread. No cross-request batching, no length grouping, no worker threads.
 *
 *   node dist/bench/naivePeer.js --model DIR [--port 0]
 * Prints `listening <port>` once the model is loaded.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import express from 'express';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { model: { type: 'string' }, port: { type: 'string', default: '0' } } });
  if (!values.model) throw new Error('--model DIR is required');
  const dir = path.resolve(values.model);
  const tf = await import('@huggingface/transformers');
  tf.env.allowRemoteModels = false;
  tf.env.allowLocalModels = true;
  const tokenizer = await tf.AutoTokenizer.from_pretrained(dir);
  const model = await tf.AutoModelForSequenceClassification.from_pretrained(dir, { dtype: 'fp32' });

  const app = express();
  app.use(express.json({ limit: '50mb' }));
  app.get('/ping', (_req, res) => {
    res.status(200).end();
  });
  app.post('/rerank', async (req, res) => {
    try {
      const { query, texts } = req.body as { query: string; texts: string[] };
      const inputs = tokenizer(texts.map(() => query), { text_pair: texts, padding: true, truncation: true });
      const out = await model(inputs);
      const logits = out.logits.data as Float32Array;
      const items = texts.map((_, index) => ({ index, score: logits[index]! }));
      items.sort((a, b) => b.score - a.score);
      res.json(items);
    } catch (e) {
      res.status(500).json({ error: e instanceof Error ? e.message : String(e) });
    }
  });
  const server = app.listen(Number(values.port), '127.0.0.1', () => {
    const addr = server.address();
    console.log(`listening ${typeof addr === 'object' && addr ? addr.port : values.port}`);
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
