/**
 * What one EMF line reports, computed from two readings of the prom-client registry taken an
 * interval apart: counters as deltas and rates, gauges as read, latency quantiles interpolated from
 * the histogram buckets filled during the interval (as Prometheus' histogram_quantile does), so the
 * request path pays nothing extra for CloudWatch.
 */
import { FAILURE_REASONS } from '../http/requestOutcome';
import type { EmfMetric } from './emfDocument';

/** One registry reading: `name{label="v",...}` -> value, labels sorted. */
export type Reading = ReadonlyMap<string, number>;

interface MetricJson {
  readonly name: string;
  readonly values: ReadonlyArray<{ readonly value: number; readonly labels: Readonly<Record<string, string | number | undefined>>; readonly metricName?: string }>;
}

export function toReading(metrics: readonly MetricJson[]): Reading {
  const out = new Map<string, number>();
  for (const m of metrics) {
    for (const v of m.values) {
      const labels = Object.keys(v.labels).sort().map((k) => `${k}="${String(v.labels[k])}"`).join(',');
      out.set(`${v.metricName ?? m.name}{${labels}}`, v.value);
    }
  }
  return out;
}

/** Sum over every series of `name` whose labels contain all of `match`. */
function sum(r: Reading, name: string, match: Readonly<Record<string, string>> = {}, skip?: (key: string) => boolean): number {
  let total = 0;
  const wanted = Object.entries(match).map(([k, v]) => `${k}="${v}"`);
  for (const [key, value] of r) {
    if (!key.startsWith(`${name}{`)) continue;
    if (!wanted.every((w) => key.includes(w))) continue;
    if (skip?.(key)) continue;
    total += value;
  }
  return total;
}

const delta = (now: Reading, before: Reading, name: string, match?: Record<string, string>, skip?: (key: string) => boolean): number =>
  Math.max(0, sum(now, name, match, skip) - sum(before, name, match, skip));

/** Linear interpolation inside the bucket that holds the q-th observation; NaN without observations. */
export function bucketQuantile(q: number, buckets: ReadonlyArray<{ le: number; count: number }>): number {
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  const total = sorted.at(-1)?.count ?? 0;
  if (total <= 0) return Number.NaN;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const b of sorted) {
    if (b.count >= rank) {
      // Above the last finite bound there is nothing to interpolate to: report that bound.
      if (!Number.isFinite(b.le)) return prevLe;
      const inBucket = b.count - prevCount;
      return inBucket <= 0 ? b.le : prevLe + ((b.le - prevLe) * (rank - prevCount)) / inBucket;
    }
    prevLe = b.le;
    prevCount = b.count;
  }
  return prevLe;
}

function intervalBuckets(now: Reading, before: Reading, name: string, match: Record<string, string>, skip?: (key: string) => boolean): Array<{ le: number; count: number }> {
  const les = new Set<string>();
  for (const key of now.keys()) {
    const m = key.startsWith(`${name}_bucket{`) ? /le="([^"]+)"/.exec(key) : null;
    if (m) les.add(m[1]!);
  }
  return [...les].map((le) => ({ le: le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le), count: delta(now, before, `${name}_bucket`, { ...match, le }, skip) }));
}

const QUIET_ROUTE = /route="\/(ping|health|metrics)"/;
const STAGES = [
  ['tokenization', 'Tokenization'],
  ['queue', 'QueueWait'],
  ['inference', 'Inference'],
  ['total', 'Engine'],
] as const;

export interface IntervalContext {
  readonly seconds: number;
  /** MAX_BATCH_TOKENS in force; undefined before the engine starts. */
  readonly maxBatchTokens: number | undefined;
  /** Queue depth sampled during the interval (the reporter samples every second); none: read the gauges once. */
  readonly queueSamples?: ReadonlyArray<{ readonly queued: number; readonly inFlight: number }>;
}

export function intervalMetrics(now: Reading, before: Reading, ctx: IntervalContext): EmfMetric[] {
  const out: EmfMetric[] = [];
  const add = (name: string, unit: EmfMetric['unit'], value: number): void => void out.push({ name, unit, value });

  const pairs = delta(now, before, 'reranker_batch_pairs_sum');
  const batches = delta(now, before, 'reranker_batches_total');
  add('PairsScored', 'Count', pairs);
  add('PairsPerSecond', 'Count/Second', pairs / ctx.seconds);
  add('Requests', 'Count', delta(now, before, 'reranker_requests_total'));
  add('RequestsSucceeded', 'Count', delta(now, before, 'reranker_request_success_total'));
  add('RequestsFailed', 'Count', delta(now, before, 'reranker_request_failure_total'));
  for (const reason of FAILURE_REASONS) {
    add(`RequestsFailed${reason[0]!.toUpperCase()}${reason.slice(1)}`, 'Count', delta(now, before, 'reranker_request_failure_total', { reason }));
  }
  // The autoscaling signal: the mean over the interval's samples (one reading at the end would
  // catch a burst or miss it by chance), and the peak; the gauges when nothing was sampled.
  const q = ctx.queueSamples ?? [];
  if (q.length) {
    add('QueuedPairs', 'Count', q.reduce((n, x) => n + x.queued, 0) / q.length);
    add('QueuedPairsMax', 'Count', Math.max(...q.map((x) => x.queued)));
    add('PairsInFlight', 'Count', q.reduce((n, x) => n + x.inFlight, 0) / q.length);
  } else {
    add('QueuedPairs', 'Count', sum(now, 'reranker_queued_pairs'));
    add('PairsInFlight', 'Count', sum(now, 'reranker_pairs_in_flight'));
  }
  add('Batches', 'Count', batches);
  const padded = delta(now, before, 'reranker_batch_padded_tokens_total');
  const real = delta(now, before, 'reranker_batch_real_tokens_total');
  if (batches > 0) {
    add('PairsPerBatch', 'Count', pairs / batches);
    if (ctx.maxBatchTokens) add('BatchFill', 'Percent', (100 * delta(now, before, 'reranker_batch_tokens_sum')) / batches / ctx.maxBatchTokens);
  }
  if (padded > 0) add('PaddingEfficiency', 'Percent', (100 * real) / padded);

  for (const [stage, label] of STAGES) {
    const b = intervalBuckets(now, before, 'reranker_request_stage_seconds', { stage });
    add(`${label}LatencyP50`, 'Milliseconds', bucketQuantile(0.5, b) * 1000);
    add(`${label}LatencyP99`, 'Milliseconds', bucketQuantile(0.99, b) * 1000);
  }
  const http = intervalBuckets(now, before, 'reranker_http_request_seconds', {}, (key) => QUIET_ROUTE.test(key));
  add('RequestLatencyP50', 'Milliseconds', bucketQuantile(0.5, http) * 1000);
  add('RequestLatencyP99', 'Milliseconds', bucketQuantile(0.99, http) * 1000);
  return out;
}
