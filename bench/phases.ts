/**
 * The measurements of one bench run: the raw sweep, the single-request comparison (raw and server
 * interleaved, so both see the same machine), and one served row (C clients against one server).
 */
import http from 'node:http';
import { batchCounters, cpuMeter, percentile, pinger, request, rssSampler, runFixed, runLoad } from './load';
import type { ModelShape } from './flops';
import type { Proc } from './procs';
import { measureConfig, scoreAll, timeSingle, type RawConfigResult, type RawEngine } from './raw';
import type { SameWorkRound, ServedRow } from './report';
import type { BenchRequest } from '../scripts/dev/workload';

type Pairs = ReadonlyArray<readonly [string, string]>;

export function log(msg: string): void {
  console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);
}

/** Batch sizes in request order and length-sorted; the best one is the ceiling. */
export async function rawSweep(e: RawEngine, shape: ModelShape, pairs: Pairs, lengths: readonly number[], sizes: readonly number[], seconds: number): Promise<RawConfigResult[]> {
  const configs: RawConfigResult[] = [];
  for (const order of ['request', 'sorted'] as const) {
    for (const b of sizes) configs.push(await rawConfig(e, shape, pairs, lengths, b, order, seconds));
  }
  return configs;
}

export async function rawConfig(e: RawEngine, shape: ModelShape, pairs: Pairs, lengths: readonly number[], batch: number, order: 'request' | 'sorted', seconds: number): Promise<RawConfigResult> {
  const meter = cpuMeter([]);
  const c = { ...(await measureConfig(e, shape, pairs, lengths, batch, order, seconds)), othersCores: meter.stop().others };
  log(`raw ${order} batch ${batch}: ${c.pairsPerSec.toFixed(1)} pairs/s, ${c.usefulGflops.toFixed(1)} GFLOP/s useful`);
  return c;
}

const TIMING_HEADERS = ['x-tokenization-time', 'x-queue-time', 'x-inference-time', 'x-total-time'];

/**
 * One request of these pairs, alternately in-process and through the idle server, with a pause
 * between calls (so ONNX Runtime's spinning threads of one side have gone to sleep before the
 * other runs). Returns per-call milliseconds of each side and the server's last timing headers.
 */
export async function singleRequest(e: RawEngine, url: string, pairs: Pairs, runs: number): Promise<{ raw: number[]; server: number[]; headers: Record<string, number> }> {
  const agent = new http.Agent({ keepAlive: true });
  const body = Buffer.from(JSON.stringify({ query: pairs[0]![0], texts: pairs.map((p) => p[1]), raw_scores: true }));
  const pause = (): Promise<void> => new Promise((r) => setTimeout(r, 20));
  const raw: number[] = [];
  const server: number[] = [];
  let headers: Record<string, number> = {};
  try {
    for (let i = 0; i < runs + 3; i++) {
      const [ms] = await timeSingle(e, pairs, 1, 0);
      await pause();
      const t0 = performance.now();
      const r = await request(agent, url + '/rerank', 'POST', body);
      const serverMs = performance.now() - t0;
      if (r.status !== 200) throw new Error(`single request: ${r.status} ${r.body}`);
      await pause();
      if (i < 3) continue; // warm-up of both sides
      raw.push(ms!);
      server.push(serverMs);
      headers = Object.fromEntries(TIMING_HEADERS.map((h) => [h, Number(r.headers[h])]));
    }
  } finally {
    agent.destroy();
  }
  return { raw, server, headers };
}

/** C closed-loop clients for `seconds` against one server, with /ping probed, RSS sampled and CPU shares metered. */
export async function servedRow(system: 'server' | 'naive', p: Proc, workload: readonly BenchRequest[], reqFlops: readonly number[], c: number, seconds: number, pingEveryMs: number): Promise<ServedRow> {
  const before = system === 'server' ? await batchCounters(p.url) : undefined;
  const rss = rssSampler(p.pid);
  const ping = pinger(p.url, pingEveryMs);
  const meter = cpuMeter([p.pid]);
  const r = await runLoad(p.url, workload, c, seconds);
  const cpu = meter.stop();
  const pings = (await ping.stop()).sort((a, b) => a - b);
  rss.stop();
  const after = system === 'server' ? await batchCounters(p.url) : undefined;
  const useful = r.completed.reduce((n, i) => n + reqFlops[i]!, 0);
  const row: ServedRow = {
    system,
    clients: c,
    requests: r.requests,
    errors: r.errors,
    pairsPerSec: r.pairsPerSec,
    p50: r.p50,
    p95: r.p95,
    p99: r.p99,
    pingP99: percentile(pings, 99),
    peakRssMb: rss.peak() / 2 ** 20,
    usefulGflops: useful / r.seconds / 1e9,
    othersCores: cpu.others,
    ...(r.firstError !== undefined ? { firstError: r.firstError } : {}),
    ...(before && after
      ? { meanBatchPairs: (after.pairs - before.pairs) / (after.batches - before.batches), paddingEfficiency: (after.realTokens - before.realTokens) / (after.paddedTokens - before.paddedTokens) }
      : {}),
  };
  log(
    `${system} C=${c}: ${row.pairsPerSec.toFixed(1)} pairs/s, p50 ${row.p50.toFixed(0)} ms, p99 ${row.p99.toFixed(0)} ms, ` +
      `ping p99 ${row.pingP99.toFixed(1)} ms, peak RSS ${row.peakRssMb.toFixed(0)} MB, other tenants ${cpu.others.toFixed(2)} cores`,
  );
  return row;
}

/**
 * server/raw on the same work: the first requests of the workload (`requests`, whose pairs are
 * `pairs`), scored whole by raw (length-sorted, each of `batchSizes`, the fastest counts) and by
 * the server (C closed-loop clients taking them in order), alternately, `rounds` times.
 */
export async function sameWork(e: RawEngine, url: string, requests: readonly BenchRequest[], pairs: Pairs, lengths: readonly number[], batchSizes: readonly number[], clients: number, rounds: number): Promise<SameWorkRound[]> {
  const out: SameWorkRound[] = [];
  for (let r = 0; r < rounds; r++) {
    let rawSeconds = Infinity;
    let rawBatch = 0;
    const rawMeter = cpuMeter([]);
    for (const b of batchSizes) {
      const s = await scoreAll(e, pairs, lengths, b);
      if (s < rawSeconds) [rawSeconds, rawBatch] = [s, b];
    }
    const rawOthers = rawMeter.stop().others;
    const served = await runFixed(url, requests, clients);
    if (served.errors > 0) throw new Error(`same-work phase: ${served.errors} failed requests, first: ${served.firstError}`);
    const round: SameWorkRound = { rawSeconds, rawBatch, serverSeconds: served.seconds, ratio: rawSeconds / served.seconds, rawOthersCores: rawOthers };
    log(`same work, round ${r + 1}: ${pairs.length} pairs, raw sorted batch ${rawBatch} ${rawSeconds.toFixed(2)} s, server C=${clients} ${served.seconds.toFixed(2)} s: server/raw ${round.ratio.toFixed(3)}`);
    out.push(round);
  }
  return out;
}
