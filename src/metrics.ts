/**
 * One prom-client registry for the process. Modules register their own metrics here through
 * these helpers so that names stay unique and /metrics shows them all.
 */
import client from 'prom-client';

export const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry });

export function counter(name: string, help: string, labelNames: string[] = []): client.Counter<string> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as client.Counter<string>;
  return new client.Counter({ name, help, labelNames, registers: [registry] });
}

export function gauge(name: string, help: string, labelNames: string[] = []): client.Gauge<string> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as client.Gauge<string>;
  return new client.Gauge({ name, help, labelNames, registers: [registry] });
}

export function histogram(name: string, help: string, buckets: number[], labelNames: string[] = []): client.Histogram<string> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as client.Histogram<string>;
  return new client.Histogram({ name, help, buckets, labelNames, registers: [registry] });
}
