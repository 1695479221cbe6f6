/** Result shapes of one bench run, the printed table, and the target verdicts. */
import type { CpuInfo } from './flops';
import type { RawConfigResult } from './raw';

export interface ServedRow {
  readonly system: 'server' | 'naive';
  readonly clients: number;
  readonly requests: number;
  readonly errors: number;
  readonly pairsPerSec: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly pingP99: number;
  readonly peakRssMb: number;
  /** Useful (unpadded) model FLOPs of the completed requests per second. */
  readonly usefulGflops: number;
  /** Cores busy with other tenants' work during the run (noise indicator). */
  readonly othersCores: number;
  readonly firstError?: string;
  /** From /metrics (server only): mean pairs per batch and real/padded tokens. */
  readonly meanBatchPairs?: number;
  readonly paddingEfficiency?: number;
}

/** One round of the same-work phase: raw's fastest whole pass and the server's, over the same pairs. */
export interface SameWorkRound {
  readonly rawSeconds: number;
  readonly rawBatch: number;
  readonly serverSeconds: number;
  /** rawSeconds / serverSeconds = server pairs/s / raw pairs/s on the same pairs. */
  readonly ratio: number;
  readonly rawOthersCores: number;
}

export interface SingleResult {
  readonly pairs: number;
  readonly rawMedianMs: number;
  readonly serverMedianMs: number;
  readonly serverHeaders?: Record<string, number>;
}

export interface BenchResults {
  readonly date: string;
  readonly mode: 'full' | 'quick';
  readonly machine: CpuInfo & { readonly loadavgStart: number[]; readonly loadavgEnd?: number[]; readonly node: string };
  readonly model: { readonly preset: string; readonly dir: string; readonly layers: number; readonly hidden: number; readonly mflopPerToken: number };
  readonly workload: { readonly requests: number; readonly pairs: number; readonly meanPairTokens: number; readonly minPairTokens: number; readonly maxPairTokens: number; readonly seed: number };
  readonly serverEnv: Record<string, string>;
  /** /info's device and limits: what the server ran with. */
  readonly serverInfo?: { readonly device: unknown; readonly limits: unknown };
  readonly gemmProbeGflops?: number;
  /** best: the best configuration, its figures the mean of the sweep and of bestAgain (the same configuration re-run at the end). */
  readonly raw?: { readonly configs: RawConfigResult[]; readonly best: RawConfigResult; readonly bestAgain: RawConfigResult };
  readonly rows: ServedRow[];
  readonly single?: SingleResult;
  /** server/raw measured on the same pairs (the ratio the target is read from). */
  readonly sameWork?: { readonly clients: number; readonly requests: number; readonly pairs: number; readonly rounds: SameWorkRound[] };
  /**
   * serverRaw: from sameWork (total raw seconds / total server seconds); serverRawWindow: the
   * C=16 row's pairs/s over the raw sweep's best pairs/s, which compare different pair-length
   * mixes (the requests a window finishes against the batches raw's window covers).
   */
  readonly ratios: { readonly serverRaw?: number; readonly serverRawWindow?: number; readonly serverRawRequestOrder?: number; readonly serverNaive?: number; readonly pingP99Ms?: number };
  readonly targets: Array<{ readonly name: string; readonly value: string; readonly met: boolean | undefined }>;
}

const f = (x: number | undefined, d = 1): string => (x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(d));

function table(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  return [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)].join('\n');
}

export function printTables(r: BenchResults): string {
  const out: string[] = [];
  out.push(`machine: ${r.machine.model}, ${r.machine.cores} cores, ${r.machine.simd}, ${f(r.machine.mhz, 0)} MHz; load avg at start ${r.machine.loadavgStart.map((x) => x.toFixed(2)).join(' ')}`);
  out.push(`model: ${r.model.preset} (${r.model.layers} layers, hidden ${r.model.hidden}, ${f(r.model.mflopPerToken)} MFLOP/token dense); workload: ${r.workload.requests} requests, ${r.workload.pairs} pairs, ${f(r.workload.meanPairTokens, 0)} tokens/pair mean (${r.workload.minPairTokens}-${r.workload.maxPairTokens})`);
  if (r.raw) {
    out.push('', 'raw (in-process, tokenize + score, no HTTP):');
    out.push(
      table(
        ['order', 'batch', 'pairs/s', 'GFLOP/s useful', 'GFLOP/s executed', 'pad eff', 'others'],
        [...r.raw.configs, { ...r.raw.bestAgain, order: `${r.raw.bestAgain.order}, at end` }].map((c) => [c.order, String(c.batchSize), f(c.pairsPerSec), f(c.usefulGflops), f(c.executedGflops), f(c.paddingEfficiency, 2), f(c.othersCores, 2)]),
      ),
    );
    out.push(`raw ceiling: ${r.raw.best.order} batch ${r.raw.best.batchSize}, ${f(r.raw.best.pairsPerSec)} pairs/s (mean of the sweep and the re-run at the end)`);
  }
  if (r.serverInfo) out.push('', `server engine: ${JSON.stringify(r.serverInfo.device)}; limits ${JSON.stringify(r.serverInfo.limits)}`);
  out.push('', 'served (closed-loop clients over loopback):');
  out.push(
    table(
      ['system', 'C', 'pairs/s', 'p50 ms', 'p95 ms', 'p99 ms', 'ping p99 ms', 'peak RSS MB', 'GFLOP/s', 'pairs/batch', 'pad eff', 'req', 'err', 'others'],
      r.rows.map((x) => [
        x.system,
        String(x.clients),
        f(x.pairsPerSec),
        f(x.p50, 0),
        f(x.p95, 0),
        f(x.p99, 0),
        f(x.pingP99),
        f(x.peakRssMb, 0),
        f(x.usefulGflops),
        f(x.meanBatchPairs),
        f(x.paddingEfficiency, 2),
        String(x.requests),
        String(x.errors),
        f(x.othersCores, 2),
      ]),
    ),
  );
  if (r.single) {
    out.push('', `single request (1 query + ${r.single.pairs} docs, no other load): server median ${f(r.single.serverMedianMs, 2)} ms vs raw in-process ${f(r.single.rawMedianMs, 2)} ms (+${f(r.single.serverMedianMs - r.single.rawMedianMs, 2)} ms)`);
  }
  if (r.sameWork) {
    const w = r.sameWork;
    out.push('', `same work (the first ${w.requests} requests, ${w.pairs} pairs, scored whole by each side in turn):`);
    out.push(
      table(
        ['round', 'raw s', 'raw batch', 'server s (C=' + w.clients + ')', 'server/raw', 'others during raw'],
        w.rounds.map((x, i) => [String(i + 1), f(x.rawSeconds, 2), String(x.rawBatch), f(x.serverSeconds, 2), f(x.ratio, 3), f(x.rawOthersCores, 2)]),
      ),
    );
    out.push(`server/raw on the same work: ${f(r.ratios.serverRaw, 3)}; by the windows (different pair mixes): ${f(r.ratios.serverRawWindow, 3)}`);
  }
  if (r.ratios.serverRawRequestOrder !== undefined) out.push(`server / best raw in request order (no length sorting): ${f(r.ratios.serverRawRequestOrder, 2)}`);
  const best = r.raw?.best;
  const s16 = r.rows.find((x) => x.system === 'server' && x.clients === Math.max(...r.rows.map((y) => y.clients)));
  out.push(
    '',
    `compute: raw best ${f(best?.usefulGflops)} GFLOP/s useful (${f(best?.executedGflops)} executed), server at C=${s16?.clients ?? '-'} ${f(s16?.usefulGflops)} GFLOP/s useful; ` +
      `CPU paper peak ${f(r.machine.peakGflops, 0)} GFLOP/s (${r.machine.cores} x ${f(r.machine.mhz / 1000, 2)} GHz x ${r.machine.flopsPerCycle} FLOP/cycle), ` +
      `measured GEMM ${f(r.gemmProbeGflops)} GFLOP/s, issue's estimate ~170`,
  );
  out.push('', "'others': cores busy with other tenants' processes during that measurement (from /proc/stat); above ~0.2 the figure is contended.");
  out.push('', 'targets:');
  for (const t of r.targets) out.push(`  ${t.met === undefined ? '?' : t.met ? 'MET ' : 'MISS'}  ${t.name}: ${t.value}`);
  return out.join('\n');
}

export function verdicts(r: Omit<BenchResults, 'targets'>): BenchResults['targets'] {
  const t: BenchResults['targets'] = [];
  const { serverRaw, serverNaive, pingP99Ms } = r.ratios;
  t.push({ name: `server/raw >= 0.95 at C=${r.sameWork?.clients ?? 16} (same work)`, value: f(serverRaw, 3), met: serverRaw === undefined ? undefined : serverRaw >= 0.95 });
  t.push({ name: 'server/naive >= 1.5 at C=16', value: f(serverNaive, 2), met: serverNaive === undefined ? undefined : serverNaive >= 1.5 });
  t.push({ name: '/ping p99 < 50 ms while saturated (C=16)', value: `${f(pingP99Ms)} ms`, met: pingP99Ms === undefined ? undefined : pingP99Ms < 50 });
  if (r.single) {
    const extra = r.single.serverMedianMs - r.single.rawMedianMs;
    t.push({ name: 'single request <= raw + 3 ms', value: `+${f(extra, 2)} ms`, met: extra <= 3 });
  }
  return t;
}

export function lastLine(r: BenchResults): string {
  return `server/raw=${f(r.ratios.serverRaw, 2)} server/naive=${f(r.ratios.serverNaive, 2)} ping_p99_ms=${f(r.ratios.pingP99Ms)}`;
}
