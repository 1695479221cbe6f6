/**
 * `make bench-layout` (= `node dist/bench/layout.js [--presets minilm,base] [--seconds 40] [--layouts per-session,one-session,shared]`):
 * the memory layouts of engine/memoryLayout.ts through the real server at C=16 on the generated
 * MiniLM-L6 and BERT-base shapes: pairs/s, pairs per CPU-second of the server, peak RSS, and PSS at
 * the end (RSS counts a memory-mapped file once per mapping, so the `shared` layout's two sessions
 * show the .ort copy twice in RSS; PSS, like the cgroup's accounting, counts it once). All servers of
 * a shape are up; they are loaded in turn, twice each (half the window per turn), because this
 * machine's speed drifts. Also says which layout MEMORY_LAYOUT=auto picks. Writes bench/layout-results.json.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ensureModel } from '../scripts/dev/models';
import { cpuInfo } from './flops';
import { procTicks, runLoad } from './load';
import { log, servedRow } from './phases';
import { startReranker, type Proc } from './procs';
import { makeWorkload } from '../scripts/dev/workload';

const ROOT = path.resolve(__dirname, '..', '..');

interface LayoutResult {
  layout: string;
  sessions: string;
  pairsPerSec: number;
  pairsPerCpuSec: number;
  peakRssMb: number;
  pssMb: number;
  anonMb: number;
  p50: number;
  p99: number;
  othersCores: number;
}

function smaps(pid: number): { pssMb: number; anonMb: number } {
  try {
    const t = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(t)?.[1] ?? NaN);
    return { pssMb: kb('Pss') / 1024, anonMb: kb('Anonymous') / 1024 };
  } catch {
    return { pssMb: NaN, anonMb: NaN };
  }
}

async function shape(preset: 'minilm' | 'base', layouts: readonly string[], seconds: number, clients: number): Promise<{ preset: string; fileMb: number; auto: string; results: LayoutResult[] }> {
  const dir = await ensureModel({ preset, layout: 'onnx' });
  const fileMb = fs.statSync(path.join(dir, 'onnx', 'model.onnx')).size / 2 ** 20;
  const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-layout-'));
  const workload = makeWorkload({ requests: 400, seed: 1234 });
  const reqFlops = workload.map(() => 0);
  const servers: Array<{ layout: string; p: Proc; sessions: string }> = [];
  const rows = new Map<string, Array<Awaited<ReturnType<typeof servedRow>> & { cpuSec: number; wallSec: number }>>();
  let auto = '?';
  try {
    // The default (auto) first, only to record what it picks.
    const a = await startReranker(dir, { MODEL_CACHE_DIR: cache });
    auto = readyLayout(a);
    await a.stop();
    log(`${preset} (${fileMb.toFixed(0)} MB): MEMORY_LAYOUT=auto picks ${auto}`);
    for (const layout of layouts) {
      const p = await startReranker(dir, { MEMORY_LAYOUT: layout, MODEL_CACHE_DIR: cache });
      servers.push({ layout, p, sessions: readyLayout(p) });
      rows.set(layout, []);
    }
    for (const s of servers) await runLoad(s.p.url, workload, 2, 5); // warm-up, not counted
    for (let round = 0; round < 2; round++) {
      for (const s of servers) {
        const ticks0 = procTicks(s.p.pid);
        const t0 = performance.now();
        const row = await servedRow('server', s.p, workload, reqFlops, clients, seconds / 2, 100);
        rows.get(s.layout)!.push({ ...row, cpuSec: (procTicks(s.p.pid) - ticks0) / 100, wallSec: (performance.now() - t0) / 1000 });
      }
    }
    const results: LayoutResult[] = servers.map((s) => {
      const r = rows.get(s.layout)!;
      const avg = (f: (x: (typeof r)[number]) => number): number => r.reduce((n, x) => n + f(x), 0) / r.length;
      const pairs = r.reduce((n, x) => n + x.pairsPerSec * x.wallSec, 0);
      return {
        layout: s.layout,
        sessions: s.sessions,
        pairsPerSec: avg((x) => x.pairsPerSec),
        pairsPerCpuSec: pairs / r.reduce((n, x) => n + x.cpuSec, 0),
        peakRssMb: Math.max(...r.map((x) => x.peakRssMb)),
        ...smaps(s.p.pid),
        p50: avg((x) => x.p50),
        p99: avg((x) => x.p99),
        othersCores: avg((x) => x.othersCores ?? 0),
      };
    });
    return { preset, fileMb, auto, results };
  } finally {
    for (const s of servers) await s.p.stop();
    fs.rmSync(cache, { recursive: true, force: true });
  }
}

function readyLayout(p: Proc): string {
  const ready = p.logs.map((l) => (l.startsWith('{') ? (JSON.parse(l) as Record<string, any>) : undefined)).find((l) => l?.msg === 'ready');
  const m = ready?.memory_layout as { kind: string; sessions: number; threads_per_session: number } | undefined;
  return m ? `${m.kind} ${m.sessions}x${m.threads_per_session}` : '?';
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { presets: { type: 'string', default: 'minilm,base' }, layouts: { type: 'string', default: 'per-session,one-session,shared' }, seconds: { type: 'string', default: '40' }, clients: { type: 'string', default: '16' }, out: { type: 'string' } } });
  const started = new Date().toISOString();
  const loadavgStart = os.loadavg();
  const shapes = [];
  for (const p of values.presets!.split(',')) {
    if (p !== 'minilm' && p !== 'base') throw new Error(`--presets: minilm or base, not ${p}`);
    shapes.push(await shape(p, values.layouts!.split(','), Number(values.seconds), Number(values.clients)));
  }
  const out = values.out ?? path.join(ROOT, 'bench', 'layout-results.json');
  fs.writeFileSync(out, JSON.stringify({ date: started, machine: { ...cpuInfo(), loadavgStart, loadavgEnd: os.loadavg(), node: process.version }, clients: Number(values.clients), shapes }, null, 2) + '\n');
  console.log('\nshape (file MB) | layout | sessions x threads | pairs/s | pairs per CPU-s | p50 / p99 ms | peak RSS MB | PSS MB | anon MB | others (cores)');
  for (const s of shapes) {
    for (const r of s.results) {
      console.log(
        `${s.preset} (${s.fileMb.toFixed(0)}) | ${r.layout} | ${r.sessions} | ${r.pairsPerSec.toFixed(1)} | ${r.pairsPerCpuSec.toFixed(2)} | ${r.p50.toFixed(0)} / ${r.p99.toFixed(0)} | ${r.peakRssMb.toFixed(0)} | ${r.pssMb.toFixed(0)} | ${r.anonMb.toFixed(0)} | ${r.othersCores.toFixed(2)}`,
      );
    }
    console.log(`${s.preset}: MEMORY_LAYOUT=auto picks ${s.auto}`);
  }
  console.log(`\nwrote ${out}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
