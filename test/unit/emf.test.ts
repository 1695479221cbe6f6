/**
 * CloudWatch EMF: the documents satisfy the specification (test/helpers/emfSpec.ts), split at 100
 * metrics, refuse more than 30 dimensions, and the interval statistics computed from a real
 * prom-client registry match what was observed (deltas, rates, interpolated quantiles).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import client from 'prom-client';
import { emfLines, type EmfMetric } from '../../src/cloudwatch/emfDocument';
import { modelLabelOf } from '../../src/cloudwatch/emfReporter';
import { bucketQuantile, intervalMetrics, toReading } from '../../src/cloudwatch/emfStats';
import { emfProblems } from '../helpers/emfSpec';

const DIMS = { EndpointName: 'rerank-prod', VariantName: 'AllTraffic', Model: 'bge-reranker-base' };

describe('EMF documents', () => {
  it('are single JSON lines that satisfy the specification, values at the root', () => {
    const metrics: EmfMetric[] = [
      { name: 'QueuedPairs', unit: 'Count', value: 12 },
      { name: 'PairsPerSecond', unit: 'Count/Second', value: 123.4567 },
      { name: 'InferenceLatencyP99', unit: 'Milliseconds', value: 41.5 },
    ];
    const lines = emfLines({ namespace: 'SageMakerReranker', dimensions: DIMS, metrics, timestampMs: 1_764_500_000_000, properties: { host: 'h1' } });
    assert.equal(lines.length, 1);
    assert.deepEqual(emfProblems(lines[0]!), []);
    const doc = JSON.parse(lines[0]!);
    assert.deepEqual(doc._aws.CloudWatchMetrics[0].Dimensions, [['EndpointName', 'VariantName', 'Model']]);
    assert.equal(doc._aws.Timestamp, 1_764_500_000_000);
    assert.equal(doc.QueuedPairs, 12);
    assert.equal(doc.PairsPerSecond, 123.457);
    assert.equal(doc.EndpointName, 'rerank-prod');
    assert.equal(doc.host, 'h1');
  });

  it('split into one line per 100 metrics, and leave out non-finite values', () => {
    const metrics: EmfMetric[] = Array.from({ length: 230 }, (_, i) => ({ name: `M${i}`, unit: 'Count', value: i }));
    metrics.push({ name: 'Nope', unit: 'Milliseconds', value: Number.NaN });
    const lines = emfLines({ namespace: 'N', dimensions: DIMS, metrics, timestampMs: Date.now() });
    assert.deepEqual(lines.map((l) => JSON.parse(l)._aws.CloudWatchMetrics[0].Metrics.length), [100, 100, 30]);
    for (const l of lines) assert.deepEqual(emfProblems(l), []);
    assert.ok(lines.every((l) => !l.includes('Nope')));
  });

  it('refuse more than 30 dimensions; the checker catches what the specification forbids', () => {
    const many = Object.fromEntries(Array.from({ length: 31 }, (_, i) => [`D${i}`, 'x']));
    assert.throws(() => emfLines({ namespace: 'N', dimensions: many, metrics: [], timestampMs: Date.now() }), /31 dimensions, at most 30/);
    assert.match(emfProblems('{"a":1}').join(), /missing _aws/);
    assert.match(emfProblems('{"_aws":{"Timestamp":1764500000000,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[["E"]],"Metrics":[{"Name":"X","Unit":"Furlongs"}]}]},"X":"1"}').join(), /E must name.*Furlongs.*finite number/s);
  });

  it('name the model by the last segment of its location', () => {
    assert.equal(modelLabelOf('s3://bucket/models/bge-reranker-base/'), 'bge-reranker-base');
    assert.equal(modelLabelOf('s3://bucket/models/minilm.tar.gz'), 'minilm');
    assert.equal(modelLabelOf('/opt/ml/model'), 'model');
    assert.equal(modelLabelOf(undefined), undefined);
  });
});

describe('EMF interval statistics', () => {
  it('interpolate quantiles inside buckets like histogram_quantile', () => {
    const b = [
      { le: 0.01, count: 50 },
      { le: 0.1, count: 100 },
      { le: Number.POSITIVE_INFINITY, count: 100 },
    ];
    assert.equal(bucketQuantile(0.5, b), 0.01);
    assert.ok(Math.abs(bucketQuantile(0.99, b) - (0.01 + 0.09 * (49 / 50))) < 1e-12);
    assert.ok(Number.isNaN(bucketQuantile(0.5, [{ le: 1, count: 0 }])));
    assert.equal(bucketQuantile(0.99, [{ le: 1, count: 1 }, { le: Number.POSITIVE_INFINITY, count: 10 }]), 1);
  });

  it('report deltas, rates, gauges, batch fill and padding efficiency from a real registry', async () => {
    const reg = new client.Registry();
    const pairs = new client.Histogram({ name: 'reranker_batch_pairs', help: 'h', buckets: [1, 8, 64], registers: [reg] });
    const batches = new client.Counter({ name: 'reranker_batches_total', help: 'h', registers: [reg] });
    const tokens = new client.Histogram({ name: 'reranker_batch_tokens', help: 'h', buckets: [512, 4096], registers: [reg] });
    const padded = new client.Counter({ name: 'reranker_batch_padded_tokens_total', help: 'h', registers: [reg] });
    const real = new client.Counter({ name: 'reranker_batch_real_tokens_total', help: 'h', registers: [reg] });
    const fails = new client.Counter({ name: 'reranker_request_failure_total', help: 'h', labelNames: ['route', 'reason'], registers: [reg] });
    const stage = new client.Histogram({ name: 'reranker_request_stage_seconds', help: 'h', buckets: [0.001, 0.01, 0.1, 1], labelNames: ['stage'], registers: [reg] });
    const http = new client.Histogram({ name: 'reranker_http_request_seconds', help: 'h', buckets: [0.01, 0.1, 1], labelNames: ['route'], registers: [reg] });
    const queued = new client.Gauge({ name: 'reranker_queued_pairs', help: 'h', registers: [reg] });

    // Before the interval: these must not count.
    pairs.observe(1000);
    batches.inc(7);
    fails.inc({ route: '/invocations', reason: 'validation' }, 5);
    const before = toReading(await reg.getMetricsAsJSON());

    for (const n of [10, 30]) pairs.observe(n);
    batches.inc(2);
    tokens.observe(1024);
    tokens.observe(3072);
    padded.inc(4096);
    real.inc(3072);
    fails.inc({ route: '/invocations', reason: 'validation' }, 2);
    fails.inc({ route: '/rerank', reason: 'overloaded' });
    for (let i = 0; i < 100; i++) stage.observe({ stage: 'inference' }, i < 50 ? 0.005 : 0.05);
    for (let i = 0; i < 10; i++) http.observe({ route: '/ping' }, 0.5);
    http.observe({ route: '/invocations' }, 0.05);
    queued.set(17);
    const now = toReading(await reg.getMetricsAsJSON());

    const m = Object.fromEntries(intervalMetrics(now, before, { seconds: 2, maxBatchTokens: 4096 }).map((x) => [x.name, x]));
    assert.equal(m['PairsScored']?.value, 40);
    assert.equal(m['PairsPerSecond']?.value, 20);
    assert.equal(m['PairsPerSecond']?.unit, 'Count/Second');
    assert.equal(m['Batches']?.value, 2);
    assert.equal(m['PairsPerBatch']?.value, 20);
    assert.equal(m['BatchFill']?.value, 50); // mean 2048 padded tokens of 4096
    assert.equal(m['PaddingEfficiency']?.value, 75);
    assert.equal(m['RequestsFailed']?.value, 3);
    assert.equal(m['RequestsFailedValidation']?.value, 2);
    assert.equal(m['RequestsFailedOverloaded']?.value, 1);
    assert.equal(m['QueuedPairs']?.value, 17);
    assert.ok(Math.abs(m['InferenceLatencyP50']!.value - 10) < 1e-9); // 50th of 100 falls at the top of the (1 ms, 10 ms] bucket
    assert.ok(m['InferenceLatencyP99']!.value > 10 && m['InferenceLatencyP99']!.value <= 100);
    assert.ok(Number.isNaN(m['TokenizationLatencyP50']!.value), 'no observations: no data, not zero');
    // /ping is not a request anyone scales on: only the one /invocations request counts.
    assert.ok(m['RequestLatencyP99']!.value > 10 && m['RequestLatencyP99']!.value <= 100);
    assert.ok(Object.keys(m).length <= 100);

    // With samples, queue depth is their mean (and peak), not one reading at the end.
    const sampled = Object.fromEntries(
      intervalMetrics(now, before, { seconds: 2, maxBatchTokens: 4096, queueSamples: [{ queued: 0, inFlight: 10 }, { queued: 30, inFlight: 40 }, { queued: 60, inFlight: 70 }] }).map((x) => [x.name, x.value]),
    );
    assert.equal(sampled['QueuedPairs'], 30);
    assert.equal(sampled['QueuedPairsMax'], 60);
    assert.equal(sampled['PairsInFlight'], 40);
  });
});
