import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../src/config';
import { modelBytesOf } from '../../src/engine/createReranker';
import { chooseLayout, estimateBytes, LARGE_MODEL_BYTES, wantsSharedWeights, type LayoutInput } from '../../src/engine/memoryLayout';
import { detectMemoryLimit, parseCgroupLimit } from '../../src/memoryLimit';

const MB = 1024 * 1024;
const GB = 1024 * MB;
const base: LayoutInput = {
  request: 'auto',
  provider: 'cpu',
  cores: 2,
  modelBytes: 87 * MB,
  memoryLimitBytes: 16 * GB,
  configured: { workers: 2, threads: 1 },
  overridden: false,
  shareable: { ok: true },
};

test('auto: a small model gets one session per core, each with its own weights', () => {
  const l = chooseLayout(base);
  assert.deepEqual([l.kind, l.workers, l.threads], ['per-session', 2, 1]);
  assert.match(l.reason, /87 MB < 200 MB/);
});

test('auto: a large model gets one session with all the cores (one copy of the weights)', () => {
  const l = chooseLayout({ ...base, modelBytes: 418 * MB, cores: 8, configured: { workers: 2, threads: 4 } });
  assert.deepEqual([l.kind, l.workers, l.threads], ['one-session', 1, 8]);
  assert.match(l.reason, /418 MB >= 200 MB/);
  assert.equal(chooseLayout({ ...base, modelBytes: LARGE_MODEL_BYTES - 1 }).kind, 'per-session', 'the threshold is the boundary');
  assert.equal(chooseLayout({ ...base, modelBytes: LARGE_MODEL_BYTES }).kind, 'one-session');
});

test('auto: the memory limit moves a small model to one session, and a model too big for one prepacked copy to the shared mapping', () => {
  // 2 x 2 x 150 MB + 300 MB = 900 MB > 0.8 x 1 GB; one session: 600 MB fits.
  const tight = chooseLayout({ ...base, modelBytes: 150 * MB, memoryLimitBytes: 1 * GB });
  assert.equal(tight.kind, 'one-session');
  assert.match(tight.reason, /memory limit/);
  // bge-reranker-large on a 4 GB SageMaker Serverless endpoint: one prepacked copy (about 4.7 GB) would not fit.
  const large = { ...base, modelBytes: 2.2 * GB, memoryLimitBytes: 4 * GB };
  assert.equal(wantsSharedWeights(large), true);
  const shared = chooseLayout(large);
  assert.deepEqual([shared.kind, shared.workers], ['shared', 2]);
  assert.ok(shared.estimatedBytes < estimateBytes('one-session', large.modelBytes, 1));
  // Without the .ort copy (flatbuffers stop at 2 GB, a full disk): one session, and the reason says why.
  const fallback = chooseLayout({ ...large, shareable: { ok: false, reason: 'too large for the ORT format' } });
  assert.equal(fallback.kind, 'one-session');
  assert.match(fallback.reason, /too large for the ORT format/);
  assert.equal(wantsSharedWeights(base), false, 'no .ort copy is made for a layout that does not use it');
});

test('overrides win: INFERENCE_WORKERS / INTRA_OP_THREADS, MEMORY_LAYOUT, and the GPU', () => {
  const big = { ...base, modelBytes: 418 * MB };
  const set = chooseLayout({ ...big, overridden: true, configured: { workers: 2, threads: 1 } });
  assert.deepEqual([set.kind, set.workers, set.threads], ['per-session', 2, 1]);
  assert.match(set.reason, /INFERENCE_WORKERS/);
  assert.equal(chooseLayout({ ...big, request: 'per-session' }).kind, 'per-session');
  assert.deepEqual([chooseLayout({ ...base, request: 'one-session' }).kind, chooseLayout({ ...base, request: 'one-session' }).workers], ['one-session', 1]);
  assert.deepEqual([chooseLayout({ ...base, request: 'shared' }).kind, chooseLayout({ ...base, request: 'shared' }).workers], ['shared', 2]);
  assert.equal(chooseLayout({ ...base, request: 'shared', overridden: true, configured: { workers: 4, threads: 1 } }).workers, 4, 'the counts still come from the variables');
  const gpu = chooseLayout({ ...big, provider: 'cuda', configured: { workers: 1, threads: 2 }, request: 'shared' });
  assert.deepEqual([gpu.kind, gpu.workers], ['per-session', 1]);
  assert.match(gpu.reason, /CPU only/);
  assert.equal(chooseLayout({ ...big, cores: 1, configured: { workers: 1, threads: 1 } }).workers, 1);
});

test('MEMORY_LAYOUT is read by config and refuses unknown values; setting the counts is remembered', () => {
  assert.equal(loadConfig({}).memoryLayout, 'auto');
  assert.equal(loadConfig({ MEMORY_LAYOUT: 'Shared' }).memoryLayout, 'shared');
  assert.throws(() => loadConfig({ MEMORY_LAYOUT: 'mmap' }), /MEMORY_LAYOUT/);
  assert.equal(loadConfig({}).layoutOverridden, false);
  assert.equal(loadConfig({ INTRA_OP_THREADS: '1' }).layoutOverridden, true);
  assert.equal(loadConfig({ INFERENCE_WORKERS: '1' }).layoutOverridden, true);
});

test('memory limit: cgroup v2 and v1 files, "max" and v1\'s no-limit number, the machine as the fallback', () => {
  assert.equal(parseCgroupLimit('max\n'), undefined);
  assert.equal(parseCgroupLimit('9223372036854771712\n'), undefined);
  assert.equal(parseCgroupLimit('6442450944\n'), 6 * GB);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memlimit-'));
  try {
    const v2 = path.join(dir, 'memory.max');
    fs.writeFileSync(v2, '1073741824\n');
    assert.deepEqual(detectMemoryLimit([path.join(dir, 'missing'), v2], 16 * GB), { bytes: GB, from: v2 });
    fs.writeFileSync(v2, 'max\n');
    assert.deepEqual(detectMemoryLimit([v2], 16 * GB), { bytes: 16 * GB, from: 'machine memory' });
    fs.writeFileSync(v2, String(32 * GB));
    assert.equal(detectMemoryLimit([v2], 16 * GB).bytes, 16 * GB, 'a limit above the machine is the machine');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('model bytes: the graph plus its external data files beside it, not the other variants', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modelbytes-'));
  try {
    fs.writeFileSync(path.join(dir, 'model.onnx'), Buffer.alloc(100));
    fs.writeFileSync(path.join(dir, 'model.onnx_data'), Buffer.alloc(1000));
    fs.writeFileSync(path.join(dir, 'model_quantized.onnx'), Buffer.alloc(30));
    assert.equal(await modelBytesOf(path.join(dir, 'model.onnx')), 1100);
    assert.equal(await modelBytesOf(path.join(dir, 'model_quantized.onnx')), 30);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
