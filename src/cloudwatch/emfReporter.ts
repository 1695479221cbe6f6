/**
 * Prints CloudWatch EMF lines on stdout every METRICS_EMF_INTERVAL seconds (METRICS_EMF=true).
 * SageMaker ships the container's stdout to CloudWatch Logs, which extracts the metrics: that is
 * what makes autoscaling on queue depth possible without an agent or a sidecar.
 *
 * Each line goes out as one synchronous write(2) of the complete line, to the file descriptor pino
 * also writes synchronously, so a line never interleaves with a log line: both are written whole
 * from the one main thread, and a pipe write under 4 KiB (PIPE_BUF) is never split by the kernel
 * (the lines here are about 2 KiB; the test checks they stay under 4).
 */
import { writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { EmfConfig } from '../config';
import { logger } from '../log';
import { registry } from '../metrics';
import { emfLines } from './emfDocument';
import { intervalMetrics, toReading, type Reading } from './emfStats';

const log = logger('emf');

export interface EmfSource {
  /** MAX_BATCH_TOKENS in force, once the engine runs. */
  maxBatchTokens(): number | undefined;
  /** The queue now: pairs waiting for a batch, pairs admitted and not answered. */
  queue(): { queued: number; inFlight: number } | undefined;
  /** The Model dimension when MODEL_NAME is unset: the model folder's or URI's last segment. */
  modelLabel(): string | undefined;
  readonly version: string;
}

export interface EmfReporter {
  /** Writes one last line covering the time since the previous one, then stops. */
  stop(): Promise<void>;
}

/** The Model dimension's value from a model's location: `s3://b/models/bge/` -> `bge`. */
export function modelLabelOf(location: string | undefined): string | undefined {
  if (!location) return undefined;
  const trimmed = location.replace(/\/+$/, '');
  return path.posix.basename(trimmed).replace(/\.(tar\.gz|tgz)$/i, '') || undefined;
}

export function startEmfReporter(cfg: EmfConfig, source: EmfSource, write: (line: string) => void = (l) => writeSync(1, `${l}\n`)): EmfReporter {
  let before: Reading = new Map();
  let beforeAt = performance.now();
  let running: Promise<void> = Promise.resolve();
  let samples: Array<{ queued: number; inFlight: number }> = [];
  const sample = (): void => {
    const q = source.queue();
    if (q) samples.push(q);
  };

  const emit = async (): Promise<void> => {
    const now = toReading(await registry.getMetricsAsJSON());
    const at = performance.now();
    const seconds = Math.max(0.001, (at - beforeAt) / 1000);
    sample();
    const metrics = intervalMetrics(now, before, { seconds, maxBatchTokens: source.maxBatchTokens(), queueSamples: samples });
    samples = [];
    before = now;
    beforeAt = at;
    const dimensions: Record<string, string> = {
      ...(cfg.endpointName ? { EndpointName: cfg.endpointName } : {}),
      ...(cfg.variantName ? { VariantName: cfg.variantName } : {}),
      Model: cfg.modelName ?? source.modelLabel() ?? 'unknown',
    };
    const properties = { host: os.hostname(), version: source.version, intervalSeconds: Number(seconds.toFixed(3)) };
    for (const line of emfLines({ namespace: cfg.namespace, dimensions, metrics, timestampMs: Date.now(), properties })) write(line);
  };
  const tick = (): void => {
    running = running.then(emit).catch((e: unknown) => log.warn('EMF line not written', { error: (e as Error).message }));
  };
  // The first reading is the baseline: counters since start-up are not one interval's worth.
  running = registry.getMetricsAsJSON().then((m) => {
    before = toReading(m);
    beforeAt = performance.now();
  });
  const timer = setInterval(tick, cfg.intervalMs);
  timer.unref();
  const sampler = setInterval(sample, Math.min(1000, cfg.intervalMs / 4));
  sampler.unref();
  log.info('CloudWatch EMF metrics on stdout', { namespace: cfg.namespace, interval_s: cfg.intervalMs / 1000, endpoint: cfg.endpointName, variant: cfg.variantName });
  return {
    async stop() {
      clearInterval(timer);
      clearInterval(sampler);
      tick();
      await running;
    },
  };
}
