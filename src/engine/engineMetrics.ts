/** Batch-level metrics: how full batches are and how much of them is padding; and the queue's depth. */
import client from 'prom-client';
import { counter, histogram, registry } from '../metrics';

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

interface QueueView {
  readonly queuedPairs: number;
  readonly pairsInFlight: number;
}

let watched: QueueView | undefined;

// Read at scrape time (collect), so the gauges cost nothing per request. One pair of gauges per
// process; the latest engine started is the one they show.
function queueGauge(name: string, help: string, read: (q: QueueView) => number): void {
  if (registry.getSingleMetric(name)) return;
  new client.Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(watched ? read(watched) : 0);
    },
  });
}

/** Exposes the batch queue's depth and the pairs admitted (the MAX_CONCURRENT_REQUESTS budget in use). */
export function watchQueue(q: QueueView): void {
  watched = q;
  queueGauge('reranker_queued_pairs', 'Tokenized pairs waiting in the batch queue', (v) => v.queuedPairs);
  queueGauge('reranker_pairs_in_flight', 'Pairs admitted and not yet answered (counted against MAX_CONCURRENT_REQUESTS)', (v) => v.pairsInFlight);
}
