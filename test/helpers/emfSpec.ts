/**
 * A checker for CloudWatch Embedded Metric Format documents, written from the specification
 * (docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html):
 * the root is a JSON object with an `_aws` metadata object holding a numeric Timestamp (epoch ms) and
 * a CloudWatchMetrics array of MetricDirectives; each directive has a Namespace string, Dimensions
 * (an array of dimension sets, each an array of at most 30 strings that name root members whose
 * values are strings) and Metrics (at most 100 MetricDefinitions, each a Name naming a root member
 * whose value is a number or an array of at most 100 numbers, an optional Unit from CloudWatch's
 * list and an optional StorageResolution of 1 or 60). Returns the problems found, [] when valid.
 */
// The specification's own list, kept here apart from src/ so the checker does not trust the code it checks.
const UNITS = new Set(
  'Seconds Microseconds Milliseconds Bytes Kilobytes Megabytes Gigabytes Terabytes Bits Kilobits Megabits Gigabits Terabits Percent Count Bytes/Second Kilobytes/Second Megabytes/Second Gigabytes/Second Terabytes/Second Bits/Second Kilobits/Second Megabits/Second Gigabits/Second Terabits/Second Count/Second None'.split(' '),
);

const DIRECTIVE_KEYS = new Set(['Namespace', 'Dimensions', 'Metrics']);
const DEFINITION_KEYS = new Set(['Name', 'Unit', 'StorageResolution']);

export function emfProblems(line: string): string[] {
  const p: string[] = [];
  let root: unknown;
  try {
    root = JSON.parse(line);
  } catch (e) {
    return [`not JSON: ${(e as Error).message}`];
  }
  if (line.trim() !== line || line.includes('\n')) p.push('a document must be one line with nothing before or after the object');
  if (typeof root !== 'object' || root === null || Array.isArray(root)) return ['the root must be an object'];
  const doc = root as Record<string, unknown>;
  const aws = doc['_aws'] as Record<string, unknown> | undefined;
  if (typeof aws !== 'object' || aws === null) return ['missing _aws object'];
  if (typeof aws['Timestamp'] !== 'number' || !Number.isInteger(aws['Timestamp']) || (aws['Timestamp'] as number) < 1e12) p.push('_aws.Timestamp must be epoch milliseconds');
  const directives = aws['CloudWatchMetrics'];
  if (!Array.isArray(directives) || directives.length === 0) return [...p, '_aws.CloudWatchMetrics must be a non-empty array'];
  for (const d of directives as Array<Record<string, unknown>>) {
    for (const k of Object.keys(d)) if (!DIRECTIVE_KEYS.has(k)) p.push(`MetricDirective has an unknown member ${k}`);
    if (typeof d['Namespace'] !== 'string' || d['Namespace'].length < 1 || d['Namespace'].length > 1024) p.push('Namespace must be a string of 1 to 1024 characters');
    const dims = d['Dimensions'];
    if (!Array.isArray(dims)) p.push('Dimensions must be an array of dimension sets');
    else {
      for (const set of dims) {
        if (!Array.isArray(set)) {
          p.push('a dimension set must be an array');
          continue;
        }
        if (set.length > 30) p.push(`a dimension set has ${set.length} dimensions, at most 30`);
        for (const key of set) {
          if (typeof key !== 'string') p.push('dimension keys must be strings');
          else if (typeof doc[key] !== 'string' || (doc[key] as string).length < 1 || (doc[key] as string).length > 1024) p.push(`dimension ${key} must name a root member with a string value of 1 to 1024 characters`);
        }
      }
    }
    const metrics = d['Metrics'];
    if (!Array.isArray(metrics)) {
      p.push('Metrics must be an array');
      continue;
    }
    if (metrics.length > 100) p.push(`${metrics.length} metric definitions, at most 100`);
    const names = new Set<string>();
    for (const m of metrics as Array<Record<string, unknown>>) {
      for (const k of Object.keys(m)) if (!DEFINITION_KEYS.has(k)) p.push(`MetricDefinition has an unknown member ${k}`);
      const name = m['Name'];
      if (typeof name !== 'string' || name.length < 1 || name.length > 1024) {
        p.push('Name must be a string of 1 to 1024 characters');
        continue;
      }
      if (names.has(name)) p.push(`metric ${name} defined twice`);
      names.add(name);
      if (m['Unit'] !== undefined && !UNITS.has(m['Unit'] as string)) p.push(`metric ${name}: unit ${String(m['Unit'])} is not a CloudWatch unit`);
      if (m['StorageResolution'] !== undefined && m['StorageResolution'] !== 1 && m['StorageResolution'] !== 60) p.push(`metric ${name}: StorageResolution must be 1 or 60`);
      const v = doc[name];
      const ok = (x: unknown): boolean => typeof x === 'number' && Number.isFinite(x);
      if (Array.isArray(v) ? v.length > 100 || !v.every(ok) : !ok(v)) p.push(`metric ${name} must name a root member holding a finite number (or up to 100 of them)`);
    }
  }
  return p;
}
