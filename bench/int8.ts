/**
 * `node dist/bench/int8.js [--presets minilm,base] [--scale X] [--queries N]`, part of `make bench`:
 * fp32 against the project's own int8 (`reranker quantize`) through the server at C=16 on each shape,
 * with the fidelity report on real MS MARCO pairs (../shared/data) and each server's peak RSS.
 * Both servers are up; one is loaded at a time, alternating fp32, int8, fp32, int8, because this
 * machine's speed drifts over minutes. Each turn scores the same work whole (the first requests of
 * the bench workload, ~800 pairs for MiniLM, ~160 for BERT-base; C closed-loop clients take them in
 * order), so both variants are timed on the same pairs, and no window ends with requests half
 * scored (with 17 s windows and p50 latencies of 3-14 s that lost up to a third of BERT-base's
 * fp32 work). Writes bench/int8-results.json.
 * --one-session adds the memory layout option: one ONNX Runtime session with all cores
 * (INFERENCE_WORKERS=1, INTRA_OP_THREADS=cores) next to the default of one session per worker.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig, settingsOf } from '../src/config';
import { configureLog } from '../src/log';
import { readPairGroups } from '../src/quantize/fidelityPairs';
import { quantizeFolder } from '../src/quantize/quantizeFolder';
import type { FidelityReport } from '../src/quantize/fidelity';
import { ensureModel } from '../scripts/dev/models';
import { MSMARCO_SAMPLE } from '../scripts/dev/paths';
import { cpuInfo } from './flops';
import { cpuMeter, procTicks, rssSampler, runFixed, runLoad } from './load';
import { log } from './phases';
import { startReranker, type Proc } from './procs';
import { firstRequests, makeWorkload } from '../scripts/dev/workload';

const ROOT = path.resolve(__dirname, '..', '..');

interface ShapeResult {
  preset: string;
  fp32Bytes: number;
  int8Bytes: number;
  quantizeSeconds: number;
  fidelity?: FidelityReport;
  fp32: Served;
  int8: Served;
  speedup: number;
  /** int8 / fp32 in pairs per CPU-second of the server process: less sensitive to other tenants */
  speedupPerCpu: number;
  /** --one-session: the same two files served by one session with all cores */
  oneSession?: { fp32: Served; int8: Served };
}

/** A throwaway folder of links to the cached model, so the int8 file never lands in the shared cache. */
function linkedCopy(src: string): string {
  const dst = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-int8-'));
  for (const e of fs.readdirSync(src, { recursive: true, withFileTypes: true })) {
    const rel = path.relative(src, path.join(e.parentPath, e.name));
    if (e.isDirectory()) fs.mkdirSync(path.join(dst, rel), { recursive: true });
    else fs.symlinkSync(path.join(src, rel), path.join(dst, rel));
  }
  return dst;
}

interface Served {
  pairsPerSec: number;
  /** pairs per second of CPU time the server process used (user + system) */
  pairsPerCpuSec: number;
  peakRssMb: number;
  p50: number;
  p99: number;
  othersCores: number;
}

interface Row {
  pairsPerSec: number;
  p50: number;
  p99: number;
  peakRssMb: number;
  othersCores: number;
  cpuSec: number;
  wallSec: number;
}

function mean(rows: Row[]): Served {
  const avg = (f: (r: Row) => number): number => rows.reduce((s, r) => s + f(r), 0) / rows.length;
  const pairs = rows.reduce((n, r) => n + r.pairsPerSec * r.wallSec, 0);
  return {
    pairsPerSec: avg((r) => r.pairsPerSec),
    pairsPerCpuSec: pairs / rows.reduce((n, r) => n + r.cpuSec, 0),
    peakRssMb: Math.max(...rows.map((r) => r.peakRssMb)),
    p50: avg((r) => r.p50),
    p99: avg((r) => r.p99),
    othersCores: avg((r) => r.othersCores ?? 0),
  };
}

/** The same requests scored whole by one server, with its peak RSS and the CPU time it spent. */
async function measured(p: Proc, requests: ReturnType<typeof makeWorkload>, clients: number): Promise<Row> {
  const ticks0 = procTicks(p.pid);
  const rss = rssSampler(p.pid);
  const meter = cpuMeter([p.pid]);
  const r = await runFixed(p.url, requests, clients);
  const others = meter.stop().others;
  rss.stop();
  if (r.errors > 0) throw new Error(`${r.errors} failed requests, first: ${r.firstError}`);
  const row: Row = { pairsPerSec: r.pairs / r.seconds, p50: r.p50, p99: r.p99, peakRssMb: rss.peak() / 2 ** 20, othersCores: others, cpuSec: (procTicks(p.pid) - ticks0) / 100, wallSec: r.seconds };
  log(`${r.pairs} pairs in ${r.seconds.toFixed(1)} s: ${row.pairsPerSec.toFixed(1)} pairs/s, p50 ${r.p50.toFixed(0)} ms, peak RSS ${row.peakRssMb.toFixed(0)} MB, others ${others.toFixed(2)}`);
  return row;
}


async function shape(preset: 'minilm' | 'base', scale: number, queries: number, clients: number, oneSession: boolean): Promise<ShapeResult> {
  const dir = linkedCopy(await ensureModel({ preset, layout: 'onnx' }));
  try {
    configureLog('warn', 'text');
    // --queries 0: no fidelity report (the file is still load-checked), for layout-only runs.
    const groups = queries > 0 && fs.existsSync(MSMARCO_SAMPLE) ? (await readPairGroups(MSMARCO_SAMPLE)).slice(0, queries) : undefined;
    if (!groups) log(queries > 0 ? `${MSMARCO_SAMPLE} is not there: no fidelity report` : 'no fidelity report (--queries 0)');
    const { engine, batching } = settingsOf(loadConfig());
    const q = await quantizeFolder(dir, { engine, batching, ...(groups ? { groups } : {}) });
    log(`${preset}: quantized in ${q.seconds.toFixed(1)} s; ${q.fidelity ? JSON.stringify(q.fidelity) : ''}`);
    const workload = makeWorkload({ requests: 400, seed: 1234 });
    const work = firstRequests(workload, Math.round((preset === 'minilm' ? 800 : 160) * scale));
    const servers: Array<[string, Proc]> = [];
    const rows: Record<string, Row[]> = { fp32: [], int8: [], 'fp32-1s': [], 'int8-1s': [] };
    try {
      servers.push(['fp32', await startReranker(dir, { MODEL_DTYPE: 'fp32' })]);
      servers.push(['int8', await startReranker(dir, { MODEL_DTYPE: 'q8' })]);
      if (oneSession) {
        const one = { INFERENCE_WORKERS: '1', INTRA_OP_THREADS: String(os.availableParallelism()) };
        servers.push(['fp32-1s', await startReranker(dir, { MODEL_DTYPE: 'fp32', ...one })]);
        servers.push(['int8-1s', await startReranker(dir, { MODEL_DTYPE: 'q8', ...one })]);
      }
      for (const [, p] of servers) await runLoad(p.url, workload, 2, 5); // warm-up, not counted
      for (let round = 0; round < 2; round++) {
        for (const [name, p] of servers) rows[name]!.push(await measured(p, work, clients));
      }
    } finally {
      for (const [, p] of servers) await p.stop();
    }
    const fp32 = mean(rows.fp32!);
    const int8 = mean(rows.int8!);
    return {
      preset,
      fp32Bytes: q.summary.bytesIn,
      int8Bytes: q.summary.bytesOut,
      quantizeSeconds: q.seconds,
      ...(q.fidelity ? { fidelity: q.fidelity } : {}),
      fp32,
      int8,
      speedup: int8.pairsPerSec / fp32.pairsPerSec,
      speedupPerCpu: int8.pairsPerCpuSec / fp32.pairsPerCpuSec,
      ...(oneSession ? { oneSession: { fp32: mean(rows['fp32-1s']!), int8: mean(rows['int8-1s']!) } } : {}),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { presets: { type: 'string', default: 'minilm,base' }, scale: { type: 'string', default: '1' }, queries: { type: 'string', default: '43' }, clients: { type: 'string', default: '16' }, out: { type: 'string' }, 'one-session': { type: 'boolean', default: false } } });
  const started = new Date().toISOString();
  const loadavgStart = os.loadavg();
  const results: ShapeResult[] = [];
  for (const p of values.presets!.split(',')) {
    if (p !== 'minilm' && p !== 'base') throw new Error(`--presets: minilm or base, not ${p}`);
    results.push(await shape(p, Number(values.scale), Number(values.queries), Number(values.clients), values['one-session']!));
  }
  const out = values.out ?? path.join(ROOT, 'bench', 'int8-results.json');
  fs.writeFileSync(out, JSON.stringify({ date: started, machine: { ...cpuInfo(), loadavgStart, loadavgEnd: os.loadavg(), node: process.version }, clients: Number(values.clients), results }, null, 2) + '\n');
  const pct = (x: number | undefined): string => (x === undefined ? '-' : `${(100 * x).toFixed(0)} %`);
  console.log('\nshape   | fp32 pairs/s | int8 pairs/s | int8/fp32 | per CPU-s int8/fp32 | others (cores) | fp32 RSS MB | int8 RSS MB | max|diff| | Spearman mean/min | top-1 | top-3');
  for (const r of results) {
    const f = r.fidelity;
    console.log(
      `${r.preset.padEnd(7)} | ${r.fp32.pairsPerSec.toFixed(1).padStart(12)} | ${r.int8.pairsPerSec.toFixed(1).padStart(12)} | ${r.speedup.toFixed(2).padStart(9)} | ` +
        `${r.speedupPerCpu.toFixed(2)} (${r.fp32.pairsPerCpuSec.toFixed(2)} -> ${r.int8.pairsPerCpuSec.toFixed(2)}) | ${r.fp32.othersCores.toFixed(2)}/${r.int8.othersCores.toFixed(2)} | ` +
        `${r.fp32.peakRssMb.toFixed(0).padStart(11)} | ${r.int8.peakRssMb.toFixed(0).padStart(11)} | ${f ? f.maxAbsDiff.toFixed(4) : '-'} | ` +
        `${f ? `${f.spearmanMean.toFixed(4)}/${f.spearmanMin.toFixed(4)}` : '-'} | ${pct(f?.top1Agreement)} | ${pct(f?.top3Agreement)}`,
    );
  }
  for (const r of results) {
    if (!r.oneSession) continue;
    const o = r.oneSession;
    console.log(`${r.preset} one session x ${os.availableParallelism()} threads: fp32 ${o.fp32.pairsPerSec.toFixed(1)} pairs/s, ${o.fp32.peakRssMb.toFixed(0)} MB; int8 ${o.int8.pairsPerSec.toFixed(1)} pairs/s, ${o.int8.peakRssMb.toFixed(0)} MB`);
  }
  console.log(`\nwrote ${out}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
