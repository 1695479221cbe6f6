/**
 * onnxruntime runs what the quantizer writes, in both op encodings, on a generated BERT cross-encoder
 * (MiniLM-L2 shape, so the int8 kernels see realistic widths): logits close to fp32's, not equal
 * (the weights really changed), and each encoding gives the same numbers as the other.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { quantizeModel } from '../../src/quantize/quantizeGraph';
import { ensureModel } from '../helpers/models';

async function run(model: Uint8Array, ids: number[][]): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(model, { graphOptimizationLevel: 'all', intraOpNumThreads: 1, logSeverityLevel: 3 });
  try {
    const [b, n] = [ids.length, ids[0]!.length];
    const t = (f: (v: number, j: number) => number): ort.Tensor => new ort.Tensor('int64', BigInt64Array.from(ids.flat().map((v, j) => BigInt(f(v, j % n)))), [b, n]);
    const feeds: Record<string, ort.Tensor> = {};
    for (const name of s.inputNames) feeds[name] = name.includes('mask') ? t(() => 1) : name.includes('type') ? t((_, j) => (j >= n / 2 ? 1 : 0)) : t((v) => v);
    const out = await s.run(feeds);
    return out[s.outputNames[0]!]!.data as Float32Array;
  } finally {
    await s.release();
  }
}

test('quantized MiniLM-L2-shaped model: loads, runs, stays close to fp32 in both op encodings', async () => {
  const dir = await ensureModel({ preset: 'minilm-l2' });
  const fp32 = fs.readFileSync(path.join(dir, 'model.onnx'));
  const ids = Array.from({ length: 4 }, (_, r) => [101, ...Array.from({ length: 30 }, (_, i) => 1000 + ((r * 31 + i * 17) % 20000)), 102]);
  const ref = await run(fp32, ids);
  const outs: Float32Array[] = [];
  for (const ops of ['standard', 'microsoft'] as const) {
    const q = quantizeModel(fp32, ops);
    // Each quantized weight goes from 4 bytes to 1 per value (the embedding tables stay fp32).
    const saved = 3 * q.summary.quantized.reduce((n, w) => n + w.k * w.n, 0);
    assert.ok(saved > 0 && Math.abs(q.summary.bytesIn - q.summary.bytesOut - saved) < saved * 0.02, `${ops}: ${q.summary.bytesIn} -> ${q.summary.bytesOut} bytes, ${saved} expected saved`);
    const got = await run(q.bytes, ids);
    assert.equal(got.length, ref.length);
    const diffs = [...got].map((x, i) => Math.abs(x - ref[i]!));
    const spread = Math.max(...ref) - Math.min(...ref);
    assert.ok(diffs.every(Number.isFinite));
    assert.ok(Math.max(...diffs) < Math.max(0.05, spread), `${ops}: max |diff| ${Math.max(...diffs)} vs fp32`);
    assert.ok(Math.max(...diffs) > 0, `${ops}: scores differ from fp32 at all (the int8 path ran)`);
    outs.push(got);
  }
  const [a, b] = outs as [Float32Array, Float32Array];
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) < 1e-3, `standard vs microsoft at ${i}: ${a[i]} vs ${b[i]}`);
});
