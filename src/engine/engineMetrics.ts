/**
 * Engine metrics: how full batches are and how much of them is padding, how long the pairs are,
 * the queue's depth, what model runs on which device, and how long loading it took.
 */
import client from 'prom-client';
import { counter, gauge, histogram, registry } from '../metrics';
import { traceBatch } from '../tracing/spans';

const batches = counter('reranker_batches_total', 'Batches run by the inference engine');
const pairs = histogram('reranker_batch_pairs', 'Pairs per batch', [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]);
const requestsPerBatch = histogram('reranker_batch_requests', 'Distinct requests whose pairs share one batch (above 1: batching across requests)', [1, 2, 4, 8, 16, 32, 64]);
const padded = counter('reranker_batch_padded_tokens_total', 'Tokens sent to the model including padding');
const real = counter('reranker_batch_real_tokens_total', 'Tokens sent to the model excluding padding');
const runSeconds = histogram('reranker_batch_run_seconds', 'Time of one session.run', [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);
const TOKEN_BUCKETS = [8, 16, 32, 64, 128, 256, 384, 512, 1024, 2048, 4096, 8192];
const batchTokens = histogram('reranker_batch_tokens', 'Padded tokens per batch (pairs x longest pair; bounded by MAX_BATCH_TOKENS)', [64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536]);
const pairTokens = histogram('reranker_pair_tokens', 'Input length of each pair run by the model, in tokens (special tokens included, after truncation)', TOKEN_BUCKETS);

export function batchMetrics(s: { pairs: number; requests?: number; paddedTokens: number; realTokens: number; runMs: number; pairTokens?: readonly number[] }): void {
  batches.inc();
  pairs.observe(s.pairs);
  if (s.requests !== undefined) requestsPerBatch.observe(s.requests);
  padded.inc(s.paddedTokens);
  real.inc(s.realTokens);
  batchTokens.observe(s.paddedTokens);
  for (const n of s.pairTokens ?? []) pairTokens.observe(n);
  runSeconds.observe(s.runMs / 1000);
  traceBatch(s);
}

const modelInfo = gauge('reranker_model_info', 'The model being served: always 1, the labels say what and where (device: cpu or cuda, the provider in use)', ['device', 'task', 'family', 'activation', 'max_input_length', 'source']);
const loadSeconds = gauge('reranker_model_load_seconds', 'Start-up time by phase: resolve (find or download the model), spec, engine (sessions and tokenizers), warmup, total', ['phase']);

export interface LoadedModel {
  readonly device: string;
  readonly task: string;
  readonly family: string;
  readonly activation: string;
  readonly maxInputLength: number;
  readonly source: string;
}

/** Sets reranker_model_info and reranker_model_load_seconds once the model is ready. */
export function modelLoaded(m: LoadedModel, phasesMs: Readonly<Record<string, number>>): void {
  modelInfo.reset();
  modelInfo.set({ device: m.device, task: m.task, family: m.family, activation: m.activation, max_input_length: String(m.maxInputLength), source: m.source }, 1);
  for (const [phase, ms] of Object.entries(phasesMs)) loadSeconds.set({ phase }, ms / 1000);
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
