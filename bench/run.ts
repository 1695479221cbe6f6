/**
 * `make bench` = `node dist/bench/run.js [--quick] [--soak SECONDS]`: raw ceiling, our server and
 * the naive peer under the same seeded load, in one run; prints a table, writes bench/results.json,
 * and ends with `server/raw=.. server/naive=.. ping_p99_ms=..`.
 *
 * Order, chosen because this machine's speed drifts by tens of percent over minutes: the raw sweep;
 * the single request (raw and server interleaved); for each C, server then naive (both processes
 * up, one loaded at a time); the same-work phase (the first ~1,200 pairs scored whole by raw and
 * by the server at the top C, alternately, twice: server/raw is read from it); the best raw
 * configuration again. Raw's window figures are the mean of its two runs.
 *
 * Other flags (tuning runs): --phases raw,server,naive  --clients 1,4,16  --seconds N
 * --env KEY=VALUE (repeatable; passed to our server)  --preset minilm|minilm-l2  --out FILE.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ensureModel } from '../scripts/dev/models';
import { cpuInfo, denseFlopsPerToken, gemmProbe, readShape, sequenceFlops } from './flops';
import { percentile, request, runLoad } from './load';
import { log, rawConfig, rawSweep, sameWork, servedRow, singleRequest } from './phases';
import { startNaive, startReranker, type Proc } from './procs';
import { openRaw, pairLengths, type RawConfigResult } from './raw';
import { lastLine, printTables, verdicts, type BenchResults, type SameWorkRound, type ServedRow } from './report';
import { runSoak } from './soak';
import { firstRequests, makeWorkload, pairsOf } from '../scripts/dev/workload';

const ROOT = path.resolve(__dirname, '..', '..');
const SEED = 1234;
const ONNX = path.join('onnx', 'model.onnx');
const median = (xs: number[]): number => percentile([...xs].sort((a, b) => a - b), 50);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      soak: { type: 'string' },
      phases: { type: 'string', default: 'raw,server,naive' },
      clients: { type: 'string' },
      seconds: { type: 'string' },
      env: { type: 'string', multiple: true, default: [] },
      out: { type: 'string' },
      preset: { type: 'string' },
    },
  });
  const quick = values.quick!;
  const preset = (values.preset ?? (quick ? 'minilm-l2' : 'minilm')) as 'minilm' | 'minilm-l2';
  const serverEnv = Object.fromEntries(values.env!.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  // layout 'onnx' (onnx/model.onnx) is where transformers.js looks, so both servers read one folder.
  const modelDir = await ensureModel({ preset, layout: 'onnx' });
  const shape = readShape(modelDir);
  if (values.soak !== undefined) {
    await runSoak(modelDir, Number(values.soak), makeWorkload({ requests: 400, seed: SEED }), serverEnv, values.out ?? path.join(ROOT, 'bench', 'soak.json'));
    return;
  }

  const phases = new Set(values.phases!.split(','));
  const clients = (values.clients ?? '1,4,16').split(',').map(Number);
  const seconds = Number(values.seconds ?? (quick ? 8 : 35));
  const rawSeconds = quick ? 3 : 6;
  // At least ~200 probes per row, so p99 is not just the largest of a few dozen.
  const pingEveryMs = quick ? 40 : 100;
  const workload = makeWorkload({ requests: quick ? 120 : 400, seed: SEED });
  const pairs = pairsOf(workload);
  const cpu = cpuInfo();
  const loadavgStart = os.loadavg();
  log(`model ${preset} at ${modelDir}; ${workload.length} requests, ${pairs.length} pairs; load avg ${loadavgStart.map((x) => x.toFixed(2)).join(' ')}`);

  // Token lengths of every pair, as the server encodes them: for FLOP counts and the workload stats.
  let raw = await openRaw(modelDir, ONNX, cpu.cores);
  const lengths = pairLengths(raw, pairs);
  const reqFlops = workload.map(() => 0);
  let k = 0;
  workload.forEach((r, i) => r.texts.forEach(() => (reqFlops[i]! += sequenceFlops(shape, lengths[k++]!))));

  let configs: RawConfigResult[] = [];
  let gemm: number | undefined;
  if (phases.has('raw')) {
    gemm = await gemmProbe(cpu.cores, quick ? 1 : 3);
    log(`GEMM probe ${gemm.toFixed(1)} GFLOP/s`);
    configs = await rawSweep(raw, shape, pairs, lengths, quick ? [4, 8, 32] : [2, 4, 8, 16, 32, 64], rawSeconds);
  }

  const rows: ServedRow[] = [];
  let single: BenchResults['single'];
  let serverInfo: BenchResults['serverInfo'];
  let same: { clients: number; requests: number; pairs: number; rounds: SameWorkRound[] } | undefined;
  const servers: Array<[ServedRow['system'], Proc]> = [];
  try {
    if (phases.has('server')) servers.push(['server', await startReranker(modelDir, serverEnv)]);
    if (phases.has('naive')) servers.push(['naive', await startNaive(modelDir)]);
    const srv = servers.find(([s]) => s === 'server')?.[1];
    if (srv) {
      // The engine settings the server chose (its defaults for this machine unless --env set them).
      const info = JSON.parse((await request(new http.Agent(), srv.url + '/info', 'GET')).body) as { device: unknown; limits: unknown };
      serverInfo = { device: info.device, limits: info.limits };
      log(`server engine ${JSON.stringify(info.device)} limits ${JSON.stringify(info.limits)}`);
    }
    if (srv && phases.has('raw')) {
      const s = await singleRequest(raw, srv.url, pairs.slice(0, 10), quick ? 15 : 40);
      single = { pairs: 10, rawMedianMs: median(s.raw), serverMedianMs: median(s.server), serverHeaders: s.headers };
      log(`single request: server ${single.serverMedianMs.toFixed(2)} ms, raw ${single.rawMedianMs.toFixed(2)} ms`);
    }
    await raw.release();
    for (const [, p] of servers) await runLoad(p.url, workload, 2, quick ? 2 : 5); // warm-up, not counted
    for (const c of clients) for (const [system, p] of servers) rows.push(await servedRow(system, p, workload, reqFlops, c, seconds, pingEveryMs));
    if (srv && configs.length > 0) {
      // The target's ratio, on the same pairs: raw's best sorted batch sizes against the server at the top C.
      const requests = firstRequests(workload, quick ? 300 : 1200);
      const count = pairsOf(requests).length;
      const sizes = configs.filter((c) => c.order === 'sorted').sort((a, b) => b.pairsPerSec - a.pairsPerSec).slice(0, quick ? 1 : 2).map((c) => c.batchSize);
      raw = await openRaw(modelDir, ONNX, cpu.cores);
      const rounds = await sameWork(raw, srv.url, requests, pairs.slice(0, count), lengths.slice(0, count), sizes, Math.max(...clients), quick ? 1 : 2);
      await raw.release();
      same = { clients: Math.max(...clients), requests: requests.length, pairs: count, rounds };
    }
  } finally {
    for (const [, p] of servers) await p.stop();
  }

  let rawResult: BenchResults['raw'];
  if (configs.length > 0) {
    const best = configs.reduce((a, b) => (b.pairsPerSec > a.pairsPerSec ? b : a));
    raw = await openRaw(modelDir, ONNX, cpu.cores);
    const again = await rawConfig(raw, shape, pairs, lengths, best.batchSize, best.order, rawSeconds * 2);
    await raw.release();
    const mean = (a: number, b: number): number => (a + b) / 2;
    const combined: RawConfigResult = {
      ...best,
      pairsPerSec: mean(best.pairsPerSec, again.pairsPerSec),
      usefulGflops: mean(best.usefulGflops, again.usefulGflops),
      executedGflops: mean(best.executedGflops, again.executedGflops),
    };
    rawResult = { configs, best: combined, bestAgain: again };
  }

  const top = Math.max(...clients);
  const at = (sys: string): ServedRow | undefined => rows.find((r) => r.system === sys && r.clients === top);
  const ratio = (a?: number, b?: number): number | undefined => (a !== undefined && b ? a / b : undefined);
  const bestRequestOrder = configs.filter((c) => c.order === 'request').reduce<number | undefined>((m, c) => Math.max(m ?? 0, c.pairsPerSec), undefined);
  const partial: Omit<BenchResults, 'targets'> = {
    date: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    machine: { ...cpu, loadavgStart, loadavgEnd: os.loadavg(), node: process.version },
    model: { preset, dir: modelDir, layers: shape.layers, hidden: shape.hidden, mflopPerToken: denseFlopsPerToken(shape) / 1e6 },
    workload: {
      requests: workload.length,
      pairs: pairs.length,
      meanPairTokens: lengths.reduce((a, b) => a + b, 0) / lengths.length,
      minPairTokens: Math.min(...lengths),
      maxPairTokens: Math.max(...lengths),
      seed: SEED,
    },
    serverEnv,
    ...(serverInfo ? { serverInfo } : {}),
    ...(gemm !== undefined ? { gemmProbeGflops: gemm } : {}),
    ...(rawResult ? { raw: rawResult } : {}),
    rows,
    ...(single ? { single } : {}),
    ...(same ? { sameWork: same } : {}),
    ratios: {
      serverRaw: same ? same.rounds.reduce((n, x) => n + x.rawSeconds, 0) / same.rounds.reduce((n, x) => n + x.serverSeconds, 0) : undefined,
      serverRawWindow: ratio(at('server')?.pairsPerSec, rawResult?.best.pairsPerSec),
      serverRawRequestOrder: ratio(at('server')?.pairsPerSec, bestRequestOrder),
      serverNaive: ratio(at('server')?.pairsPerSec, at('naive')?.pairsPerSec),
      pingP99Ms: at('server')?.pingP99,
    },
  };
  const results: BenchResults = { ...partial, targets: verdicts(partial) };
  const out = values.out ?? path.join(ROOT, 'bench', 'results.json');
  fs.writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
  console.log('\n' + printTables(results));
  console.log(`\nwrote ${out}`);
  console.log(lastLine(results));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
