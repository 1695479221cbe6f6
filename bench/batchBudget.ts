/**
 * `node dist/bench/batchBudget.js [--preset minilm|base | --model DIR] [--budgets 512,1024,2048] [--seconds 6] [--rounds 3] [--pairs 480] [--file ONNX]`
 * (`make bench-budget`): which token budget per batch (`MAX_BATCH_TOKENS`) a model runs best at
 * on one inference worker's session (1 thread, the worker's options). The seeded bench pairs,
 * length-sorted, are packed as the server packs them (consecutive lengths while longest x rows
 * fits the budget), and each budget's batches run in turn for `seconds`, `rounds` times. Measured
 * per CPU-second of this process (process.cpuUsage around session.run), so other tenants of the
 * machine count less than in wall-clock figures; real (unpadded) tokens per CPU-second is the
 * figure to compare, pairs per CPU-second follows it because every budget scores the same pairs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { pack, type QueuedPair } from '../src/batching/scheduler';
import { ensureModel } from '../scripts/dev/models';
import { encoderIn } from '../scripts/dev/tokenizer';
import { makeWorkload } from '../scripts/dev/workload';
import { feedsOf, spreadByRank } from './raw';

type Feeds = Record<string, ort.Tensor>;
interface Batches {
  readonly feeds: Feeds[];
  readonly pairs: number[];
  readonly real: number[];
  readonly padded: number;
}

/** Length-sorted rows cut into batches whose longest row x rows stays within `budget` tokens. */
function packByBudget(rows: readonly QueuedPair[], budget: number, inputs: readonly string[]): Batches {
  const groups: QueuedPair[][] = [];
  let cur: QueuedPair[] = [];
  for (const r of rows) {
    if (cur.length > 0 && r.length * (cur.length + 1) > budget) {
      groups.push(cur);
      cur = [];
    }
    cur.push(r);
  }
  if (cur.length > 0) groups.push(cur);
  spreadByRank(groups);
  let padded = 0;
  const out: Batches = { feeds: [], pairs: [], real: [], padded: 0 };
  for (const g of groups) {
    const t = pack(g, 0, 'right');
    out.feeds.push(feedsOf(t, inputs));
    out.pairs.push(g.length);
    out.real.push(g.reduce((n, r) => n + r.length, 0));
    padded += t.batch * t.seqLen;
  }
  return { ...out, padded };
}

async function timed(s: ort.InferenceSession, b: Batches, seconds: number): Promise<{ pairs: number; real: number; cpuSec: number }> {
  let pairs = 0;
  let real = 0;
  let cpu = 0;
  const t0 = performance.now();
  for (let i = 0; performance.now() - t0 < seconds * 1000 || i % b.feeds.length !== 0; i++) {
    const k = i % b.feeds.length;
    const c0 = process.cpuUsage();
    await s.run(b.feeds[k]!);
    const c = process.cpuUsage(c0);
    cpu += (c.user + c.system) / 1e6;
    pairs += b.pairs[k]!;
    real += b.real[k]!;
  }
  return { pairs, real, cpuSec: cpu };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      preset: { type: 'string', default: 'minilm' },
      budgets: { type: 'string', default: '512,1024,1536,2048,4096' },
      seconds: { type: 'string', default: '6' },
      rounds: { type: 'string', default: '3' },
      pairs: { type: 'string', default: '480' },
      out: { type: 'string' },
      /** another graph of the same model (an int8 file from `reranker quantize`); default its onnx/model.onnx or model.onnx */
      file: { type: 'string' },
      /** your own model folder (its tokenizer files and ONNX graph) instead of a generated preset */
      model: { type: 'string' },
    },
  });
  const dir = values.model ?? (await ensureModel({ preset: values.preset as 'minilm', layout: 'onnx' }));
  const encoder = await encoderIn(dir);
  const rows: QueuedPair[] = [];
  for (const r of makeWorkload({ requests: 400, seed: 1234 })) {
    for (const d of r.texts) {
      if (rows.length >= Number(values.pairs)) break;
      const p = encoder.encodePair(r.query, d, { truncate: true, direction: 'right', maxLength: 512 }, rows.length);
      rows.push({ index: rows.length, ids: p.ids, typeIds: p.typeIds, length: p.ids.length, requestId: 0, seq: rows.length });
    }
  }
  rows.sort((a, b) => a.length - b.length);
  const file = values.file ?? [path.join(dir, 'onnx', 'model.onnx'), path.join(dir, 'model.onnx')].find((f) => fs.existsSync(f)) ?? path.join(dir, 'onnx', 'model.onnx');
  const session = await ort.InferenceSession.create(file, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    enableMemPattern: false,
    logSeverityLevel: 3,
  });
  const budgets = values.budgets!.split(',').map(Number);
  const sets = budgets.map((b) => packByBudget(rows, b, session.inputNames));
  for (const s of sets) await session.run(s.feeds[0]!); // warm each shape class once
  const totals = budgets.map(() => ({ pairs: 0, real: 0, cpuSec: 0, perRound: [] as number[] }));
  for (let r = 0; r < Number(values.rounds); r++) {
    for (let i = 0; i < budgets.length; i++) {
      const m = await timed(session, sets[i]!, Number(values.seconds));
      const t = totals[i]!;
      t.pairs += m.pairs;
      t.real += m.real;
      t.cpuSec += m.cpuSec;
      t.perRound.push(m.real / m.cpuSec);
      console.error(`[budget] round ${r + 1} budget ${budgets[i]}: ${(m.pairs / m.cpuSec).toFixed(2)} pairs/CPU-s, ${(m.real / m.cpuSec).toFixed(0)} tokens/CPU-s`);
    }
  }
  const realAll = rows.reduce((n, r) => n + r.length, 0);
  const result = budgets.map((b, i) => {
    const t = totals[i]!;
    return {
      budget: b,
      batches: sets[i]!.feeds.length,
      meanPairsPerBatch: rows.length / sets[i]!.feeds.length,
      paddingEfficiency: realAll / sets[i]!.padded,
      pairsPerCpuSec: t.pairs / t.cpuSec,
      tokensPerCpuSec: t.real / t.cpuSec,
      tokensPerCpuSecRounds: t.perRound,
    };
  });
  const best = result.reduce((a, b) => (b.tokensPerCpuSec > a.tokensPerCpuSec ? b : a));
  console.log(`model ${values.model ?? values.preset} (${file}); ${rows.length} pairs; 1 thread, per CPU-second of this process; ${new Date().toISOString()}`);
  console.log('| budget | batches | pairs/batch | pad eff | pairs per CPU-s | tokens per CPU-s | vs best | rounds (tokens per CPU-s) |');
  console.log('|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const x of result) {
    console.log(
      `| ${x.budget} | ${x.batches} | ${x.meanPairsPerBatch.toFixed(1)} | ${x.paddingEfficiency.toFixed(3)} | ${x.pairsPerCpuSec.toFixed(2)} | ${x.tokensPerCpuSec.toFixed(0)} | ${(x.tokensPerCpuSec / best.tokensPerCpuSec).toFixed(3)} | ${x.tokensPerCpuSecRounds.map((v) => v.toFixed(0)).join(', ')} |`,
    );
  }
  if (values.out) fs.writeFileSync(values.out, JSON.stringify({ date: new Date().toISOString(), preset: values.preset, file, result }, null, 2) + '\n');
  await session.release();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
