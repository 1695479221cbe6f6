/**
 * `node dist/bench/batchSim.js [--clients 16] [--budget 2048] [--overhead 100]` (`make bench-batching`):
 * the batching rule alone, without the model and without the clock, so it is exact on a busy
 * machine. The bench workload's real token counts (bench/workload.ts, bert-base-uncased tokenizer)
 * go through a closed loop of C clients, 2 workers that each hold 2 batches (as the scheduler), and
 * a batch "runs" for overhead + padded tokens x (1 + longest / 800) time units (the last factor:
 * attention grows with L^2). Printed per rule: padding efficiency, pairs per batch, real tokens
 * per time unit, request latency p50 / p99 / max in time units. "nearest" is the previous rule
 * (grow from the oldest pair by nearest length), kept here as the reference.
 */
import { parseArgs } from 'node:util';
import { pickBatch, type BatchLimits, type Candidate } from '../src/batching/pickBatch';
import { ensureModel } from '../scripts/dev/models';
import { encoderIn } from '../scripts/dev/tokenizer';
import { makeWorkload } from '../scripts/dev/workload';

type Rule = (items: readonly Candidate[], limits: BatchLimits) => number[];

/** The rule before 2026-11-30: anchor on the oldest pair, add the nearest length on either side while it fits. */
function nearest(items: readonly Candidate[], limits: BatchLimits): number[] {
  if (items.length === 0) return [];
  let anchor = 0;
  for (let i = 1; i < items.length; i++) if (items[i]!.seq < items[anchor]!.seq) anchor = i;
  const order = items.map((_, i) => i).sort((a, b) => items[a]!.length - items[b]!.length || items[a]!.seq - items[b]!.seq);
  const at = order.indexOf(anchor);
  const anchorLen = items[anchor]!.length;
  let lo = at;
  let hi = at;
  let maxLen = anchorLen;
  const requests = new Set<number>([items[anchor]!.requestId]);
  const fits = (idx: number, newMax: number): boolean => {
    const count = hi - lo + 2;
    if (newMax * count > limits.maxBatchTokens) return false;
    if (limits.maxBatchPairs !== undefined && count > limits.maxBatchPairs) return false;
    return requests.has(items[idx]!.requestId) || requests.size < limits.maxBatchRequests;
  };
  for (;;) {
    const left = lo > 0 ? order[lo - 1]! : -1;
    const right = hi < order.length - 1 ? order[hi + 1]! : -1;
    const leftOk = left >= 0 && fits(left, maxLen);
    const rightOk = right >= 0 && fits(right, Math.max(maxLen, items[right]!.length));
    if (!leftOk && !rightOk) break;
    if (leftOk && (!rightOk || anchorLen - items[left]!.length <= items[right]!.length - anchorLen)) {
      lo--;
      requests.add(items[left]!.requestId);
    } else {
      hi++;
      maxLen = Math.max(maxLen, items[right]!.length);
      requests.add(items[right]!.requestId);
    }
  }
  return order.slice(lo, hi + 1);
}

interface Job {
  readonly batch: Array<Candidate & { at: number }>;
  readonly end: number;
}

function simulate(rule: Rule, requests: number[][], clients: number, budget: number, overhead: number, pairsToRun: number): string {
  let t = 0;
  let next = 0;
  let seq = 0;
  let rid = 0;
  let queue: Array<Candidate & { at: number }> = [];
  const open = new Map<number, { left: number; t0: number }>();
  const workers: Job[][] = [[], []];
  let real = 0;
  let padded = 0;
  let batches = 0;
  let done = 0;
  const latencies: number[] = [];
  const start = (): void => {
    const lens = requests[next++ % requests.length]!;
    const id = ++rid;
    open.set(id, { left: lens.length, t0: t });
    for (const length of lens) queue.push({ length, requestId: id, seq: ++seq, at: t });
  };
  for (let c = 0; c < clients; c++) start();
  while (done < pairsToRun) {
    for (;;) {
      const w = workers[0]!.length <= workers[1]!.length ? workers[0]! : workers[1]!;
      if (w.length >= 2 || queue.length === 0) break;
      const idle = workers.filter((x) => x.length === 0).length;
      const limits: BatchLimits = { maxBatchTokens: budget, maxBatchRequests: 64, ...(idle > 1 ? { maxBatchPairs: Math.ceil(queue.length / idle) } : {}) };
      const chosen = new Set(rule(queue, limits));
      const batch = queue.filter((_, i) => chosen.has(i));
      queue = queue.filter((_, i) => !chosen.has(i));
      const longest = Math.max(...batch.map((p) => p.length));
      const begin = Math.max(t, w.length ? w[w.length - 1]!.end : t);
      w.push({ batch, end: begin + overhead + batch.length * longest * (1 + longest / 800) });
      real += batch.reduce((s, p) => s + p.length, 0);
      padded += longest * batch.length;
      batches++;
    }
    const w = workers.filter((x) => x.length > 0).reduce((a, b) => (a[0]!.end <= b[0]!.end ? a : b));
    const job = w.shift()!;
    t = job.end;
    for (const p of job.batch) {
      done++;
      const r = open.get(p.requestId)!;
      if (--r.left === 0) {
        open.delete(p.requestId);
        latencies.push(t - r.t0);
        start();
      }
    }
  }
  latencies.sort((a, b) => a - b);
  const q = (f: number): string => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * f))]!.toFixed(0);
  return `padding eff ${(real / padded).toFixed(4)}, pairs/batch ${(done / batches).toFixed(1)}, real tokens per time unit ${(real / t).toFixed(4)}, latency p50 ${q(0.5)} p99 ${q(0.99)} max ${latencies[latencies.length - 1]!.toFixed(0)}`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { clients: { type: 'string', default: '16' }, budget: { type: 'string', default: '2048' }, overhead: { type: 'string', default: '100' }, pairs: { type: 'string', default: '40000' } } });
  const dir = await ensureModel({ preset: 'minilm', layout: 'onnx' });
  const encoder = await encoderIn(dir);
  const requests = makeWorkload({ requests: 400, seed: 1234 }).map((r) =>
    r.texts.map((d) => encoder.encodePair(r.query, d, { truncate: true, direction: 'right', maxLength: 512 }, 0).ids.length),
  );
  const args = [Number(values.clients), Number(values.budget), Number(values.overhead), Number(values.pairs)] as const;
  console.log(`closed loop, C=${args[0]}, MAX_BATCH_TOKENS ${args[1]}, batch overhead ${args[2]} token-times, ${args[3]} pairs`);
  console.log(`nearest (previous): ${simulate(nearest, requests, ...args)}`);
  console.log(`pickBatch (now):    ${simulate(pickBatch, requests, ...args)}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
