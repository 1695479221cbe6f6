/**
 * `node dist/bench/int8Ops.js [--preset minilm|base] [--seconds 8] [--rounds 3] [--batch 16] [--variants fp32,standard,microsoft] [--profile]` (`make bench-int8-ops`):
 * what limits int8, measured in one process so that other tenants of the machine count less.
 * One ONNX Runtime session with 1 thread per variant (fp32 and the quantizer's encodings), the
 * seeded bench pairs in length-sorted batches of 16, pairs per CPU-second of this process
 * (process.cpuUsage around session.run). Variants run in turn, several rounds. --profile adds
 * ORT's per-node profile of each variant: time per op type, as a share of the run.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { pack, type QueuedPair } from '../src/batching/scheduler';
import { quantizeModel, QUANT_OPS, type QuantOps } from '../src/quantize/quantizeGraph';
import { ensureModel } from '../scripts/dev/models';
import { encoderIn } from '../scripts/dev/tokenizer';
import { makeWorkload } from '../scripts/dev/workload';
import { feedsOf } from './raw';


async function session(file: string, profile: boolean): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(file, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    logSeverityLevel: 3,
    ...(profile ? { enableProfiling: true, profileFilePrefix: path.join(os.tmpdir(), `int8ops-${path.basename(file, '.onnx')}`) } : {}),
  });
}

type Feeds = Record<string, ort.Tensor>;

async function timed(s: ort.InferenceSession, batches: Feeds[], pairs: number[], seconds: number): Promise<{ pairs: number; cpuSec: number; wallSec: number }> {
  let n = 0;
  let cpu = 0;
  const t0 = performance.now();
  for (let i = 0; performance.now() - t0 < seconds * 1000; i = (i + 1) % batches.length) {
    const c0 = process.cpuUsage();
    await s.run(batches[i]!);
    const c = process.cpuUsage(c0);
    cpu += (c.user + c.system) / 1e6;
    n += pairs[i]!;
  }
  return { pairs: n, cpuSec: cpu, wallSec: (performance.now() - t0) / 1000 };
}

/** Per op type: share of the summed node time in ORT's profile (JSON trace events). */
function opShares(file: string): Array<[string, number]> {
  const events = JSON.parse(fs.readFileSync(file, 'utf8')) as Array<{ cat: string; name: string; dur: number; args?: { op_name?: string } }>;
  const by = new Map<string, number>();
  let total = 0;
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const op = e.args?.op_name ?? '?';
    by.set(op, (by.get(op) ?? 0) + e.dur);
    total += e.dur;
  }
  return [...by].map(([op, d]): [string, number] => [op, d / total]).sort((a, b) => b[1] - a[1]);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { preset: { type: 'string', default: 'minilm' }, seconds: { type: 'string', default: '8' }, rounds: { type: 'string', default: '3' }, batch: { type: 'string', default: '16' }, profile: { type: 'boolean', default: false }, variants: { type: 'string' } } });
  const dir = await ensureModel({ preset: values.preset as 'minilm', layout: 'onnx' });
  const fp32File = path.join(dir, 'onnx', 'model.onnx');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'int8ops-'));
  const files: Record<string, string> = { fp32: fp32File };
  const wanted = values.variants ? values.variants.split(',') : ['fp32', 'standard'];
  for (const ops of QUANT_OPS) {
    if (!wanted.includes(ops)) continue;
    const q = quantizeModel(fs.readFileSync(fp32File), ops as QuantOps);
    files[ops] = path.join(tmp, `${ops}.onnx`);
    fs.writeFileSync(files[ops], q.bytes);
  }
  const encoder = await encoderIn(dir);
  const workload = makeWorkload({ requests: 24, seed: 1234 });
  const rows: QueuedPair[] = [];
  for (const r of workload) for (const d of r.texts) {
    const p = encoder.encodePair(r.query, d, { truncate: true, direction: 'right', maxLength: 512 }, rows.length);
    rows.push({ index: rows.length, ids: p.ids, typeIds: p.typeIds, length: p.ids.length, requestId: 0, seq: rows.length });
  }
  rows.sort((a, b) => a.length - b.length);
  const bs = Number(values.batch);
  const names = ['input_ids', 'attention_mask', 'token_type_ids'];
  const batches: Feeds[] = [];
  const sizes: number[] = [];
  for (let i = 0; i < rows.length; i += bs) {
    const t = pack(rows.slice(i, i + bs), 0, 'right');
    batches.push(feedsOf(t, names));
    sizes.push(t.batch);
  }
  const sessions: Record<string, ort.InferenceSession> = {};
  for (const v of wanted) {
    const s = await session(files[v]!, false);
    const fs0 = Object.fromEntries(Object.entries(batches[0]!).filter(([k]) => s.inputNames.includes(k)));
    await s.run(fs0);
    sessions[v] = s;
  }
  const feedsFor = (s: ort.InferenceSession): Feeds[] => batches.map((b) => Object.fromEntries(Object.entries(b).filter(([k]) => s.inputNames.includes(k))));
  // Scores of every variant against fp32 on the same batches (random weights: logits lie close together).
  const logits: Record<string, number[]> = {};
  for (const v of wanted) {
    const s = sessions[v]!;
    const out: number[] = [];
    for (const f of feedsFor(s)) out.push(...((await s.run(f))[s.outputNames[0]!]!.data as Float32Array));
    logits[v] = out;
  }
  for (const v of wanted) {
    if (!logits.fp32 || v === 'fp32') continue;
    const d = logits[v]!.map((x, i) => Math.abs(x - logits.fp32![i]!));
    console.log(`${v}: max |logit - fp32| ${Math.max(...d).toFixed(4)}, mean ${(d.reduce((a, b) => a + b, 0) / d.length).toFixed(4)} over ${d.length} pairs`);
  }
  const acc: Record<string, { pairs: number; cpuSec: number; wallSec: number }> = {};
  console.log(`${rows.length} pairs, batches of ${bs}, ${values.rounds} rounds x ${values.seconds} s per variant, load ${os.loadavg()[0]!.toFixed(2)}`);
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const v of wanted) {
      const s = sessions[v]!;
      const r = await timed(s, feedsFor(s), sizes, Number(values.seconds));
      const a = (acc[v] ??= { pairs: 0, cpuSec: 0, wallSec: 0 });
      a.pairs += r.pairs;
      a.cpuSec += r.cpuSec;
      a.wallSec += r.wallSec;
      console.log(`round ${round} ${v.padEnd(10)} ${(r.pairs / r.cpuSec).toFixed(2)} pairs/CPU-s, ${(r.pairs / r.wallSec).toFixed(2)} pairs/s wall`);
    }
  }
  const base = acc.fp32 ? acc.fp32.pairs / acc.fp32.cpuSec : undefined;
  for (const v of wanted) {
    const a = acc[v]!;
    const x = a.pairs / a.cpuSec;
    console.log(`${v.padEnd(10)} ${x.toFixed(2)} pairs/CPU-s${base ? ` (${(x / base).toFixed(2)}x fp32)` : ''}, ${(a.pairs / a.wallSec).toFixed(2)} pairs/s wall`);
  }
  if (values.profile) {
    for (const v of wanted) {
      const s = await session(files[v]!, true);
      const f = feedsFor(s);
      for (let i = 0; i < f.length; i++) await s.run(f[i]!);
      const out = s.endProfiling() as unknown as string | undefined;
      const file = out && fs.existsSync(out) ? out : fs.readdirSync(process.cwd()).filter((x) => x.startsWith('onnxruntime_profile')).map((x) => path.join(process.cwd(), x)).pop();
      const found = fs.readdirSync(os.tmpdir()).filter((x) => x.startsWith(`int8ops-${path.basename(files[v]!, '.onnx')}`) && x.endsWith('.json')).map((x) => path.join(os.tmpdir(), x));
      const pf = file ?? found.pop();
      if (!pf) { console.log(`${v}: no profile file found`); continue; }
      console.log(`\n${v} profile (share of summed node time, batches of ${bs}):`);
      for (const [op, share] of opShares(pf).slice(0, 14)) console.log(`  ${op.padEnd(28)} ${(100 * share).toFixed(1)} %`);
      fs.rmSync(pf, { force: true });
      await s.release();
    }
  }
  for (const s of Object.values(sessions)) await s.release();
  fs.rmSync(tmp, { recursive: true, force: true });
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
