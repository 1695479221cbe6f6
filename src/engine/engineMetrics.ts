/** Batch-level metrics: how full batches are and how much of them is padding. */
import { counter, histogram } from '../metrics';

const batches = counter('reranker_batches_total', 'Batches run by the inference engine');
const pairs = histogram('reranker_batch_pairs', 'Pairs per batch', [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]);
const padded = counter('reranker_batch_padded_tokens_total', 'Tokens sent to the model including padding');
const real = counter('reranker_batch_real_tokens_total', 'Tokens sent to the model excluding padding');
const runSeconds = histogram('reranker_batch_run_seconds', 'Time of one session.run', [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);

export function batchMetrics(s: { pairs: number; paddedTokens: number; realTokens: number; runMs: number }): void {
  batches.inc();
  pairs.observe(s.pairs);
  padded.inc(s.paddedTokens);
  real.inc(s.realTokens);
  runSeconds.observe(s.runMs / 1000);
}
