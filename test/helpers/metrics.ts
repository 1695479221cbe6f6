/**
 * Reading the server's own /metrics (Prometheus text) and polling until a condition holds: shared by
 * the integration tests that watch queues, counters and restarts.
 */
import assert from 'node:assert/strict';

export type Samples = Map<string, number>;

/** Every sample of the exposition, keyed by `name{labels}` as written (labels in prom-client's order). */
export async function scrape(url: string): Promise<{ text: string; samples: Samples }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const samples: Samples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const cut = line.lastIndexOf(' ');
    samples.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return { text, samples };
}

/**
 * The one sample whose name is `name` and whose labels include all of `labels`; undefined when there
 * is none (a labelled counter has no sample before its first increment). More than one match fails.
 */
export function sampleValue(samples: Samples, name: string, labels: Record<string, string> = {}): number | undefined {
  let found: number | undefined;
  for (const [key, v] of samples) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?$/.exec(key);
    if (!m || m[1] !== name) continue;
    const have = new Map([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1]!, x[2]!]));
    if (Object.entries(labels).every(([k, want]) => have.get(k) === want)) {
      assert.equal(found, undefined, `more than one sample of ${name} matches ${JSON.stringify(labels)}`);
      found = v;
    }
  }
  return found;
}

/** Scrapes /metrics and returns one sample's value; fails when the metric is not there. */
export async function metric(url: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const v = sampleValue((await scrape(url)).samples, name, labels);
  assert.ok(v !== undefined, `${name}${Object.keys(labels).length ? JSON.stringify(labels) : ''} is not in /metrics`);
  return v;
}

/** Polls `cond` every 50 ms; fails after `timeoutMs`, with `state()` in the message when given. */
export async function waitFor(what: string, cond: () => Promise<boolean>, timeoutMs = 60_000, state?: () => Promise<string>): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out after ${timeoutMs / 1000} s waiting for ${what}${state ? ` (${await state()})` : ''}`);
}
