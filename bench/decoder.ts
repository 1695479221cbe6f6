/**
 * `make bench` section "decoder rerankers": a Qwen3-Reranker-0.6B-shaped model cut to 2 layers
 * (full 151,669-token vocabulary and hidden size 1024; gen-model --preset qwen3-0.6b-l2), scored by
 * the graph as exported (logits [batch, seq, vocab]) and by the load-time rewrite (only the yes/no
 * rows at the last position, [batch, 2]), at 256 and 1,024 tokens per pair. Each configuration runs
 * in its own process (peak RSS is per process); rewritten and unrewritten alternate, twice, so
 * drift on this shared machine hits both alike. Writes bench/decoder-results.json.
 *
 *   node dist/bench/decoder.js [--quick] [--out FILE]
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { rewriteForYesNo } from '../src/graphRewrite/rewriteCache';
import { ensureModel } from '../scripts/dev/models';

const ROOT = path.resolve(__dirname, '..', '..');

interface Row {
  variant: 'rewritten' | 'unrewritten';
  seq: number;
  batch: number;
  pairsPerSec: number;
  secondsPerRun: number;
  loadedRssMb: number;
  peakRssMb: number;
}

function child(model: string, seq: number, batch: number, runs: number, threads: number): Omit<Row, 'variant' | 'seq' | 'batch'> {
  const out = execFileSync(process.execPath, [path.join(__dirname, 'decoderChild.js'), model, String(seq), String(batch), String(runs), String(threads)], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(out.trim().split('\n').pop()!) as Omit<Row, 'variant' | 'seq' | 'batch'>;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, out: { type: 'string' } } });
  const started = Date.now();
  const dir = await ensureModel({ preset: 'qwen3-0.6b-l2' });
  const source = path.join(dir, 'model.onnx');
  const t0 = performance.now();
  const r = await rewriteForYesNo({ modelFile: source, tokenIds: [9693, 2152], cacheDir: path.join(ROOT, '.cache', 'bench-rewrite') });
  if (!r.rewritten) throw new Error(`the bench model was not rewritten: ${r.reason}`);
  const rewriteMs = performance.now() - t0;
  const threads = os.cpus().length;
  const plan = [
    { seq: 256, batch: 4, runs: values.quick ? 2 : 4 },
    { seq: 1024, batch: 1, runs: values.quick ? 1 : 3 },
  ];
  const rows: Row[] = [];
  for (let round = 0; round < (values.quick ? 1 : 2); round++) {
    for (const p of plan) {
      for (const variant of round % 2 === 0 ? (['rewritten', 'unrewritten'] as const) : (['unrewritten', 'rewritten'] as const)) {
        const m = child(variant === 'rewritten' ? r.modelPath : source, p.seq, p.batch, p.runs, threads);
        rows.push({ variant, seq: p.seq, batch: p.batch, ...m });
        console.log(`[decoder] ${variant} ${p.seq} tokens x${p.batch}: ${m.pairsPerSec.toFixed(3)} pairs/s, peak RSS ${m.peakRssMb.toFixed(0)} MiB (loaded ${m.loadedRssMb.toFixed(0)} MiB)`);
      }
    }
  }
  const summary = plan.map((p) => {
    const of = (v: Row['variant']): Row[] => rows.filter((x) => x.variant === v && x.seq === p.seq);
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    const rw = of('rewritten');
    const un = of('unrewritten');
    return {
      seq: p.seq,
      batch: p.batch,
      rewrittenPairsPerSec: mean(rw.map((x) => x.pairsPerSec)),
      unrewrittenPairsPerSec: mean(un.map((x) => x.pairsPerSec)),
      speedup: mean(rw.map((x) => x.pairsPerSec)) / mean(un.map((x) => x.pairsPerSec)),
      rewrittenPeakRssMb: Math.max(...rw.map((x) => x.peakRssMb)),
      unrewrittenPeakRssMb: Math.max(...un.map((x) => x.peakRssMb)),
      memoryRatio: Math.max(...rw.map((x) => x.peakRssMb)) / Math.max(...un.map((x) => x.peakRssMb)),
    };
  });
  const at1024 = summary.find((s) => s.seq === 1024)!;
  const results = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, loadavgStart: os.loadavg(), node: process.version },
    model: { preset: 'qwen3-0.6b-l2', dir, modelBytes: fs.statSync(source).size + (fs.existsSync(`${source}.data`) ? fs.statSync(`${source}.data`).size : 0) },
    rewrite: { how: r.how, ms: rewriteMs, cached: r.cached },
    rows,
    summary,
    targets: { speedupAt1024: at1024.speedup >= 1.3, memoryAt1024: at1024.memoryRatio <= 0.25 },
    seconds: (Date.now() - started) / 1000,
  };
  const out = values.out ?? path.join(ROOT, 'bench', 'decoder-results.json');
  fs.writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
  for (const s of summary) {
    console.log(`[decoder] ${s.seq} tokens: rewritten ${s.rewrittenPairsPerSec.toFixed(3)} vs unrewritten ${s.unrewrittenPairsPerSec.toFixed(3)} pairs/s (x${s.speedup.toFixed(2)}), peak RSS ${s.rewrittenPeakRssMb.toFixed(0)} vs ${s.unrewrittenPeakRssMb.toFixed(0)} MiB (${s.memoryRatio.toFixed(2)})`);
  }
  console.log(`[decoder] wrote ${out}; targets at 1024: speedup>=1.3 ${results.targets.speedupAt1024}, memory<=1/4 ${results.targets.memoryAt1024}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
