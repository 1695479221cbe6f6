/**
 * One prom-client registry for the process. Modules register their own metrics here through
 * these helpers so that names stay unique and /metrics shows them all. Every name starts with
 * PREFIX, the process and Node.js defaults included (reranker_process_cpu_seconds_total,
 * reranker_nodejs_eventloop_lag_seconds, ...); docs/operations.md lists them all.
 */
import client from 'prom-client';

export const PREFIX = 'reranker_';

export const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry, prefix: PREFIX });

function checked(name: string): string {
  if (!name.startsWith(PREFIX)) throw new Error(`metric ${name} must start with ${PREFIX}`);
  return name;
}

export function counter(name: string, help: string, labelNames: string[] = []): client.Counter<string> {
  const existing = registry.getSingleMetric(checked(name));
  if (existing) return existing as client.Counter<string>;
  return new client.Counter({ name, help, labelNames, registers: [registry] });
}

export function gauge(name: string, help: string, labelNames: string[] = []): client.Gauge<string> {
  const existing = registry.getSingleMetric(checked(name));
  if (existing) return existing as client.Gauge<string>;
  return new client.Gauge({ name, help, labelNames, registers: [registry] });
}

export function histogram(name: string, help: string, buckets: number[], labelNames: string[] = []): client.Histogram<string> {
  const existing = registry.getSingleMetric(checked(name));
  if (existing) return existing as client.Histogram<string>;
  return new client.Histogram({ name, help, buckets, labelNames, registers: [registry] });
}
