/**
 * `reranker quantize` as users run it, then the result served by the real server with MODEL_DTYPE:
 * the file appears only complete, /info and the ready line name it, its scores stay within the error
 * the report printed (same requests, same batches), a second run refuses the int8 file, and a
 * missing variant stops start-up with a line that lists what exists.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { copyToTemp, ensureModel } from '../helpers/models';
import { CLI, MSMARCO_SAMPLE } from '../helpers/paths';
import { rerankRawScores, startServer, type TestServer } from '../helpers/server';

interface Group {
  query: string;
  documents: string[];
}

const groups: Group[] = fs
  .readFileSync(MSMARCO_SAMPLE, 'utf8')
  .trim()
  .split('\n')
  .slice(0, 12)
  .map((l) => JSON.parse(l) as { query: string; positives: string[]; negatives: string[] })
  .map((r) => ({ query: r.query, documents: [...r.positives, ...r.negatives] }));

describe('reranker quantize + MODEL_DTYPE=q8', () => {
  let dir: string;
  let pairsFile: string;
  let report: { out: string; summary: { quantized: unknown[] }; fidelity: { maxAbsDiff: number; pairs: number; spearmanMean: number } };
  const servers: TestServer[] = [];

  before(async () => {
    dir = copyToTemp(await ensureModel({ preset: 'minilm-l2' }), 'reranker-quantize-');
    pairsFile = path.join(dir, 'pairs.jsonl');
    fs.writeFileSync(pairsFile, groups.map((g) => JSON.stringify(g)).join('\n'));
  });
  after(async () => {
    for (const s of servers) await s.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('--help answers with the usage and exit 0', () => {
    const r = spawnSync(process.execPath, [CLI, 'quantize', '--help'], { encoding: 'utf8' });
    assert.equal(r.status, 0);
    assert.match(r.stdout, /usage: reranker quantize <model-dir>/);
  });

  it('writes model_quantized.onnx beside model.onnx and reports fidelity on real pairs', () => {
    const r = spawnSync(process.execPath, [CLI, 'quantize', dir, '--pairs', pairsFile, '--json'], { encoding: 'utf8', env: { ...process.env, INTRA_OP_THREADS: '2' } });
    assert.equal(r.status, 0, r.stderr);
    report = JSON.parse(r.stdout) as typeof report;
    assert.equal(report.out, path.join(dir, 'model_quantized.onnx'));
    assert.ok(fs.statSync(report.out).size < fs.statSync(path.join(dir, 'model.onnx')).size);
    assert.equal(report.fidelity.pairs, groups.reduce((n, g) => n + g.documents.length, 0));
    assert.ok(report.fidelity.maxAbsDiff > 0 && Number.isFinite(report.fidelity.maxAbsDiff));
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.includes('.partial-')), [], 'no temp file left');
  });

  it('serves the int8 file by MODEL_DTYPE=q8 with scores within the reported error', async () => {
    const q8 = await startServer({ env: { MODEL_DIR: dir, MODEL_DTYPE: 'q8' } });
    servers.push(q8);
    await q8.waitReady(120_000);
    const info = (await (await fetch(`${q8.url}/info`)).json()) as { spec: { onnxFile: string; variant: { kind: string; reason: string } } };
    assert.equal(info.spec.onnxFile, 'model_quantized.onnx');
    assert.equal(info.spec.variant.kind, 'q8');
    assert.match(info.spec.variant.reason, /^q8 on /);
    assert.ok(q8.logs.some((l) => /"msg":"ready"/.test(l) && /"onnx":"model_quantized.onnx"/.test(l)), 'the ready line names the file');

    const fp32 = await startServer({ env: { MODEL_DIR: dir, MODEL_DTYPE: 'fp32' } });
    servers.push(fp32);
    await fp32.waitReady(120_000);
    let max = 0;
    for (const g of groups) {
      const [a, b] = await Promise.all([rerankRawScores(q8.url, g.query, g.documents), rerankRawScores(fp32.url, g.query, g.documents)]);
      for (let i = 0; i < g.documents.length; i++) max = Math.max(max, Math.abs(a.scores[i]! - b.scores[i]!));
    }
    assert.ok(max > 0, 'int8 and fp32 scores differ: the int8 file is what runs');
    // Same requests as the report's (one per query), so the same batches: a small margin for thread timing.
    assert.ok(max <= report.fidelity.maxAbsDiff * 1.1 + 1e-6, `served |diff| ${max} vs reported ${report.fidelity.maxAbsDiff}`);
  });

  it('refuses to quantize the int8 file again, and writes nothing', () => {
    const before = fs.readdirSync(dir).sort();
    const r = spawnSync(process.execPath, [CLI, 'quantize', dir, '--onnx', 'model_quantized.onnx', '--out', path.join(dir, 'again.onnx'), '--no-fidelity'], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr.trim(), /^Model: cannot quantize this graph: it is already quantized/);
    assert.deepEqual(fs.readdirSync(dir).sort(), before);
  });

  it('a missing variant stops start-up with the list of what exists', async () => {
    const s = await startServer({ env: { MODEL_DIR: dir, MODEL_DTYPE: 'fp16' }, waitReady: false });
    const code = await s.exited;
    assert.equal(code, 1);
    const line = s.logs.find((l) => /start-up failed/.test(l)) ?? '';
    assert.match(line, /MODEL_DTYPE=fp16: no model_fp16\.onnx or model_O4\.onnx.*model\.onnx \(fp32\), model_quantized\.onnx \(q8\)/);
  });

  it('inspect lists every variant with its size and which one is served', () => {
    const r = spawnSync(process.execPath, [CLI, 'inspect', dir, '--dtype', 'q8'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout) as { onnxFile: string; variants: Array<{ file: string; kind: string; bytes: number; served: boolean }> };
    assert.equal(j.onnxFile, 'model_quantized.onnx');
    assert.deepEqual(j.variants.map((v) => [v.file, v.kind, v.served]), [['model.onnx', 'fp32', false], ['model_quantized.onnx', 'q8', true]]);
    assert.equal(j.variants[1]!.bytes, fs.statSync(path.join(dir, 'model_quantized.onnx')).size);
  });
});
