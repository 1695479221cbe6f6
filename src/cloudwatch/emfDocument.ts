/**
 * CloudWatch Embedded Metric Format documents: one JSON object per line that CloudWatch Logs turns
 * into metrics (no agent, no PutMetricData permission). Pure, so the specification's rules are
 * unit-tested: an `_aws` block with a millisecond Timestamp and CloudWatchMetrics directives, each
 * naming a Namespace, dimension sets and metric definitions whose values sit at the root.
 */

/** The units CloudWatch accepts (the EMF specification's MetricDefinition Unit). */
export const EMF_UNITS = [
  'Seconds', 'Microseconds', 'Milliseconds', 'Bytes', 'Kilobytes', 'Megabytes', 'Gigabytes', 'Terabytes',
  'Bits', 'Kilobits', 'Megabits', 'Gigabits', 'Terabits', 'Percent', 'Count',
  'Bytes/Second', 'Kilobytes/Second', 'Megabytes/Second', 'Gigabytes/Second', 'Terabytes/Second',
  'Bits/Second', 'Kilobits/Second', 'Megabits/Second', 'Gigabits/Second', 'Terabits/Second', 'Count/Second', 'None',
] as const;
export type EmfUnit = (typeof EMF_UNITS)[number];

export interface EmfMetric {
  readonly name: string;
  readonly unit: EmfUnit;
  readonly value: number;
}

/** The specification's limits: 100 metrics per directive, 30 dimensions per dimension set. */
export const MAX_METRICS = 100;
export const MAX_DIMENSIONS = 30;

export interface EmfInput {
  readonly namespace: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly metrics: readonly EmfMetric[];
  readonly timestampMs: number;
  /** Extra root members for Logs Insights (host, version); not metrics, not dimensions. */
  readonly properties?: Readonly<Record<string, string | number>>;
}

/**
 * One line per 100 metrics (the limit per directive). Metrics with a non-finite value are left out:
 * CloudWatch rejects NaN and Infinity, and "no data" says more than a made-up zero.
 */
export function emfLines(input: EmfInput): string[] {
  const dims = Object.entries(input.dimensions).filter(([, v]) => v !== '');
  if (dims.length > MAX_DIMENSIONS) throw new Error(`EMF: ${dims.length} dimensions, at most ${MAX_DIMENSIONS}`);
  const metrics = input.metrics.filter((m) => Number.isFinite(m.value));
  const lines: string[] = [];
  for (let i = 0; i < metrics.length; i += MAX_METRICS) {
    const chunk = metrics.slice(i, i + MAX_METRICS);
    const doc: Record<string, unknown> = {
      _aws: {
        Timestamp: Math.round(input.timestampMs),
        CloudWatchMetrics: [
          {
            Namespace: input.namespace,
            Dimensions: [dims.map(([k]) => k)],
            Metrics: chunk.map((m) => ({ Name: m.name, Unit: m.unit })),
          },
        ],
      },
      ...input.properties,
      ...Object.fromEntries(dims),
    };
    for (const m of chunk) doc[m.name] = Number(m.value.toFixed(3));
    lines.push(JSON.stringify(doc));
  }
  return lines;
}
