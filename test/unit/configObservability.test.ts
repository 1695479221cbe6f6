/**
 * The METRICS_EMF* and OTEL_* settings: defaults, the OTLP traces URL derived as OpenTelemetry's
 * environment specification says (base endpoint + /v1/traces, the signal-specific one as given),
 * header parsing, and clear failures that do not echo a header that may hold a secret.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../src/config';

test('EMF is off by default, 60 s, namespace SageMakerReranker, no dimensions until told', () => {
  const c = loadConfig({});
  assert.deepEqual(c.emf, { enabled: false, intervalMs: 60_000, namespace: 'SageMakerReranker', endpointName: undefined, variantName: undefined, modelName: undefined });
  const on = loadConfig({ METRICS_EMF: 'true', METRICS_EMF_INTERVAL: '0.5', METRICS_EMF_NAMESPACE: 'Rerank/Prod', ENDPOINT_NAME: 'ep', VARIANT_NAME: 'AllTraffic', MODEL_NAME: 'bge' });
  assert.deepEqual(on.emf, { enabled: true, intervalMs: 500, namespace: 'Rerank/Prod', endpointName: 'ep', variantName: 'AllTraffic', modelName: 'bge' });
  assert.throws(() => loadConfig({ METRICS_EMF: 'sometimes' }), /METRICS_EMF.*true, false, 1, 0, yes, no, on or off/);
  assert.throws(() => loadConfig({ METRICS_EMF_INTERVAL: '0' }), /METRICS_EMF_INTERVAL/);
  assert.throws(() => loadConfig({ ENDPOINT_NAME: 'x'.repeat(256) }), /ENDPOINT_NAME.*255/);
});

test('tracing is off without an endpoint; the traces URL follows the OTel environment rules', () => {
  assert.equal(loadConfig({}).tracing.tracesUrl, undefined);
  assert.equal(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }).tracing.tracesUrl, 'http://collector:4318/v1/traces');
  assert.equal(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).tracing.tracesUrl, 'http://collector:4318/v1/traces');
  assert.equal(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://b/custom/path' }).tracing.tracesUrl, 'https://b/custom/path');
  const t = loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_HEADERS: 'api-key=s3cr%3Dt, x-team = search', OTEL_SERVICE_NAME: 'rr', OTEL_BSP_SCHEDULE_DELAY: '250' }).tracing;
  assert.deepEqual(t.headers, { 'api-key': 's3cr=t', 'x-team': 'search' });
  assert.equal(t.serviceName, 'rr');
  assert.equal(t.scheduleDelayMs, 250);
  assert.throws(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }), /OTEL_EXPORTER_OTLP_ENDPOINT.*http/);
  assert.throws(
    () => loadConfig({ OTEL_EXPORTER_OTLP_HEADERS: 'Bearer-token-without-key' }),
    (e: Error) => /OTEL_EXPORTER_OTLP_HEADERS/.test(e.message) && !e.message.includes('Bearer-token'),
  );
});
