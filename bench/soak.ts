/**
 * `node dist/bench/run.js --soak 300`: full load (16 clients) on our server for N seconds,
 * sampling its RSS every second; compares RSS after the first minute with RSS at the end
 * (target: within 10 %). Writes bench/soak.json.
 */
import fs from 'node:fs';
import { rssSampler, runLoad } from './load';
import { startReranker } from './procs';
import type { BenchRequest } from './workload';

export async function runSoak(modelDir: string, seconds: number, workload: readonly BenchRequest[], env: Record<string, string>, out: string): Promise<void> {
  if (!Number.isFinite(seconds) || seconds < 10) throw new Error('--soak needs a duration of at least 10 seconds');
  const srv = await startReranker(modelDir, env);
  try {
    const rss = rssSampler(srv.pid, 1000);
    const load = await runLoad(srv.url, workload, 16, seconds);
    rss.stop();
    // "After the first minute": the first sample at or past 60 s (or a fifth of a shorter run).
    const mark = Math.min(60, seconds / 5);
    const valid = rss.samples.filter((s) => Number.isFinite(s.rss));
    const first = valid.find((s) => s.t >= mark) ?? valid[0]!;
    const last = valid[valid.length - 1]!;
    const drift = (last.rss - first.rss) / first.rss;
    const mb = (b: number): number => Math.round((b / 2 ** 20) * 10) / 10;
    const result = {
      date: new Date().toISOString(),
      seconds,
      clients: 16,
      requests: load.requests,
      errors: load.errors,
      ...(load.firstError !== undefined ? { firstError: load.firstError } : {}),
      pairsPerSec: load.pairsPerSec,
      p50: load.p50,
      p99: load.p99,
      rssAtMarkMb: mb(first.rss),
      markSeconds: first.t,
      rssEndMb: mb(last.rss),
      peakRssMb: mb(rss.peak()),
      drift,
      met: Math.abs(drift) < 0.1,
      // One sample per 10 s is enough to see a trend in the doc.
      trace: valid.filter((_, i) => i % 10 === 0).map((s) => ({ t: Math.round(s.t), rssMb: mb(s.rss) })),
    };
    fs.writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
    console.log(
      `soak ${seconds}s C=16: ${load.pairsPerSec.toFixed(1)} pairs/s, ${load.errors} errors; RSS ${result.rssAtMarkMb} MB at ${first.t.toFixed(0)} s -> ${result.rssEndMb} MB at end ` +
        `(peak ${result.peakRssMb} MB), drift ${(drift * 100).toFixed(1)}% ${result.met ? 'MET' : 'MISS'} (< 10%)`,
    );
    console.log(`wrote ${out}`);
  } finally {
    await srv.stop();
  }
}
