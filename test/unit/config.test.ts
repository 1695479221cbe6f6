import assert from 'node:assert/strict';
import os from 'node:os';
import { test } from 'node:test';
import { ConfigErrors, loadConfig, logFormatOf, settingsOf, SETTINGS_PARTS, type Config } from '../../src/config';

test('defaults follow the SageMaker contract', () => {
  const c = loadConfig({});
  assert.equal(c.port, 8080);
  assert.equal(c.maxPayloadBytes, 6 * 1024 * 1024);
  assert.equal(c.sagemakerModelDir, '/opt/ml/model');
  assert.ok(c.requestTimeoutMs < 60_000, 'answers before SageMaker cuts the connection at 60 s');
  assert.ok(c.keepAliveTimeoutMs > 60_000);
  assert.ok(c.maxClientBatchSize >= 1000);
  assert.equal(c.maxBatchTokens, undefined, 'chosen per device when the engine starts');
  assert.equal(loadConfig({ MAX_BATCH_TOKENS: '8192' }).maxBatchTokens, 8192);
  assert.equal(c.device, 'auto');
  assert.equal(c.s3.downloadAttempts, 5);
  assert.equal(loadConfig({ S3_DOWNLOAD_ATTEMPTS: '2' }).s3.downloadAttempts, 2);
  assert.throws(() => loadConfig({ S3_DOWNLOAD_ATTEMPTS: '0' }), /S3_DOWNLOAD_ATTEMPTS/);
  assert.ok(Object.isFrozen(c) && Object.isFrozen(c.s3));
});

test('SAGEMAKER_BIND_TO_PORT wins over PORT', () => {
  assert.equal(loadConfig({ PORT: '9000' }).port, 9000);
  assert.equal(loadConfig({ PORT: '9000', SAGEMAKER_BIND_TO_PORT: '9100' }).port, 9100);
});

test('HF_MODEL_ID is a path or an s3 URI, never a Hub id', () => {
  assert.equal(loadConfig({ HF_MODEL_ID: '/models/x' }).modelDir, '/models/x');
  assert.equal(loadConfig({ HF_MODEL_ID: 's3://b/p/' }).modelUri, 's3://b/p/');
  assert.throws(() => loadConfig({ HF_MODEL_ID: 'BAAI/bge-reranker-base' }), /HF_MODEL_ID.*Hugging Face Hub/);
});

test('batch transform variables: SAGEMAKER_BATCH is case-insensitive, payload 0 means unlimited', () => {
  const c = loadConfig({ SAGEMAKER_BATCH: 'True', SAGEMAKER_MAX_PAYLOAD_IN_MB: '0', SAGEMAKER_BATCH_STRATEGY: 'MultiRecord', SAGEMAKER_MAX_CONCURRENT_TRANSFORMS: '4' });
  assert.equal(c.batchMode, true);
  assert.equal(c.maxPayloadBytes, 0);
  assert.equal(c.batchStrategy, 'MULTI_RECORD');
  assert.equal(c.maxConcurrentTransforms, 4);
  assert.equal(loadConfig({ SAGEMAKER_MAX_PAYLOAD_IN_MB: '20' }).maxPayloadBytes, 20 * 1024 * 1024);
  assert.ok(c.requestTimeoutMs > 60_000 && c.requestTimeoutMs < 600_000, 'batch mode: under the default InvocationsTimeoutInSeconds of 600');
  assert.equal(loadConfig({ SAGEMAKER_BATCH: 'true', REQUEST_TIMEOUT: '30' }).requestTimeoutMs, 30_000);
});

test('bad values fail fast and name the variable', () => {
  assert.throws(() => loadConfig({ PORT: 'eighty' }), /PORT="eighty": expected an integer/);
  assert.throws(() => loadConfig({ DEVICE: 'tpu' }), /DEVICE="tpu": expected one of auto, cuda, cpu/);
  assert.throws(() => loadConfig({ MAX_BATCH_TOKENS: '0' }), /MAX_BATCH_TOKENS/);
  assert.throws(() => loadConfig({ MODEL_URI: 'https://example/x' }), /MODEL_URI/);
  assert.throws(() => loadConfig({ BATCH_STRICT: 'maybe' }), /BATCH_STRICT/);
});

test('overrides for the spec are read here and nowhere else', () => {
  const c = loadConfig({ MODEL_TASK: 'Classifier', MAX_INPUT_LENGTH: '256', ACTIVATION: 'identity' });
  assert.equal(c.taskOverride, 'classifier');
  assert.equal(c.maxInputLengthOverride, 256);
  assert.equal(c.activationOverride, 'identity');
});

test('DEVICE=cpu splits the cores between two sessions unless told otherwise; GPU keeps one', () => {
  const cores = Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
  const cpu = loadConfig({ DEVICE: 'cpu' });
  assert.equal(cpu.inferenceWorkers, Math.min(2, cores));
  assert.equal(cpu.intraOpThreads, Math.max(1, Math.floor(cores / cpu.inferenceWorkers)));
  assert.deepEqual([loadConfig({ DEVICE: 'cpu', INTRA_OP_THREADS: String(cores) }).inferenceWorkers], [1]);
  const w = loadConfig({ DEVICE: 'cpu', INFERENCE_WORKERS: '1' });
  assert.deepEqual([w.inferenceWorkers, w.intraOpThreads], [1, cores]);
  // Where CUDA may be there (the probe finds a driver and the provider library), one session owns it.
  const gpu = (): undefined => undefined;
  for (const device of ['auto', 'cuda']) {
    const c = loadConfig({ DEVICE: device }, gpu);
    assert.deepEqual([c.inferenceWorkers, c.intraOpThreads, c.autoCpuReason], [1, cores, undefined]);
  }
  assert.equal(loadConfig({ DEVICE: 'cuda' }, () => 'no NVIDIA driver').inferenceWorkers, 1, 'DEVICE=cuda is never second-guessed');
});

test('DEVICE=auto on a machine without CUDA takes the CPU layout and says why (issue 12, defect 7)', () => {
  const cores = Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
  const c = loadConfig({ DEVICE: 'auto' }, () => 'no NVIDIA driver');
  assert.equal(c.device, 'auto', 'what was asked for is kept');
  assert.equal(c.autoCpuReason, 'no NVIDIA driver');
  assert.equal(c.inferenceWorkers, Math.min(2, cores));
  assert.equal(c.intraOpThreads, Math.max(1, Math.floor(cores / c.inferenceWorkers)));
  // This machine has no GPU: the real probe says so.
  assert.match(loadConfig({}).autoCpuReason ?? '', /CUDA provider library|NVIDIA driver/);
});

test('FAULT_INJECTION is off by default and accepts only worker-exit with an absolute path', () => {
  assert.deepEqual(loadConfig({}).faultInjection, {});
  assert.equal(loadConfig({ FAULT_INJECTION: 'worker-exit:/tmp/crash-now' }).faultInjection.workerExitFile, '/tmp/crash-now');
  for (const bad of ['worker-exit:relative/path', 'worker-exit:', 'crash', 'worker-exit']) {
    assert.throws(() => loadConfig({ FAULT_INJECTION: bad }), /FAULT_INJECTION/, bad);
  }
});

test('several bad variables are reported at once, each with what it accepts (issue 12, defect 9)', () => {
  assert.throws(
    () => loadConfig({ PORT: 'eighty', DEVICE: 'tpu', SAGEMAKER_BATCH: 'maybe', MAX_BATCH_TOKENS: '1' }),
    (e: unknown) => {
      assert.ok(e instanceof ConfigErrors);
      assert.equal(e.status, 500);
      assert.equal(e.problems.length, 4, e.problems.join(' | '));
      for (const name of ['PORT', 'DEVICE', 'SAGEMAKER_BATCH', 'MAX_BATCH_TOKENS']) assert.ok(e.problems.some((p) => p.startsWith(`invalid ${name}=`)), name);
      assert.ok(e.problems.includes('invalid SAGEMAKER_BATCH="maybe": expected true, false, 1, 0, yes, no, on or off (any case)'));
      assert.match(e.message, /^4 invalid settings: /);
      return true;
    },
  );
  // One bad variable keeps its plain message.
  assert.throws(() => loadConfig({ DEVICE: 'tpu' }), (e: unknown) => e instanceof ConfigErrors && e.message === 'invalid DEVICE="tpu": expected one of auto, cuda, cpu');
  assert.equal(logFormatOf({ LOG_FORMAT: 'TEXT' }), 'text');
  assert.equal(logFormatOf({ LOG_FORMAT: 'nonsense' }), 'json');
});

test('MODEL_DTYPE: a dtype name or an .onnx file; not together with MODEL_ONNX_FILE', () => {
  assert.equal(loadConfig({}).modelDtype, 'auto');
  assert.equal(loadConfig({ MODEL_DTYPE: 'q8' }).modelDtype, 'q8');
  assert.deepEqual(loadConfig({ MODEL_DTYPE: 'onnx/model_O3.onnx' }).modelDtype, { file: 'onnx/model_O3.onnx' });
  assert.throws(() => loadConfig({ MODEL_DTYPE: 'int4' }), /invalid MODEL_DTYPE="int4": expected auto \| fp32 \| fp16 \| q8 \| int8 \| uint8 \| q4 or an \.onnx file name/);
  assert.throws(() => loadConfig({ MODEL_DTYPE: 'q8', MODEL_ONNX_FILE: 'model.onnx' }), /both choose the \.onnx file; set only one/);
  assert.equal(loadConfig({ MODEL_DTYPE: 'auto', MODEL_ONNX_FILE: 'model.onnx' }).onnxFile, 'model.onnx');
});

test('budgets: documented defaults, and bad values fail fast naming the variable', () => {
  const b = loadConfig({}).budgets;
  assert.deepEqual(
    { ...b },
    { maxRecords: 10_000, maxResponseBytes: 32 * 1024 * 1024, maxRankFields: 64, maxChunkWindows: 1024, maxBodyMemoryBytes: 256 * 1024 * 1024, bodyTimeoutMs: 60_000, headersTimeoutMs: 10_000 },
  );
  // The body memory budget follows a larger payload limit, and can never be below one body.
  assert.equal(loadConfig({ MAX_PAYLOAD_MB: '100' }).budgets.maxBodyMemoryBytes, 400 * 1024 * 1024);
  assert.throws(() => loadConfig({ MAX_BODY_MEMORY_MB: '4' }), /MAX_BODY_MEMORY_MB.*payload limit/);
  assert.throws(() => loadConfig({ BODY_TIMEOUT: '5', HEADERS_TIMEOUT: '10' }), /BODY_TIMEOUT.*HEADERS_TIMEOUT/);
  assert.throws(() => loadConfig({ MAX_RECORDS: '0' }), /MAX_RECORDS/);
  assert.throws(() => loadConfig({ MAX_RANK_FIELDS: 'many' }), /MAX_RANK_FIELDS/);
  assert.equal(loadConfig({ MAX_RESPONSE_MB: '0.5', MAX_CHUNK_WINDOWS: '10' }).budgets.maxResponseBytes, 512 * 1024);
});

test('API_KEY: off by default; comma-separated keys and API_KEY_FILE add up; errors never show a key', async () => {
  const fs = await import('node:fs');
  const path = await import('node:path');
  assert.deepEqual(loadConfig({}).apiKeys, []);
  assert.deepEqual(loadConfig({ API_KEY: 'k1, k2,,k1' }).apiKeys, ['k1', 'k2']);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfg-keys-'));
  try {
    fs.writeFileSync(path.join(dir, 'keys'), 'f1\nf2\n\n');
    fs.writeFileSync(path.join(dir, 'empty'), '\n');
    assert.deepEqual(loadConfig({ API_KEY: 'k1', API_KEY_FILE: path.join(dir, 'keys') }).apiKeys, ['k1', 'f1', 'f2']);
    assert.throws(() => loadConfig({ API_KEY_FILE: path.join(dir, 'empty') }), /API_KEY_FILE: .* holds no key/);
    assert.throws(() => loadConfig({ API_KEY_FILE: path.join(dir, 'missing') }), /API_KEY_FILE: cannot read/);
    assert.throws(() => loadConfig({ API_KEY: 'sécret' }), (e: Error) => /API_KEY: key 1/.test(e.message) && !e.message.includes('sécret'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('UI is on by default and off in batch transform mode; RESULT_CACHE_MB defaults to 64, 0 turns it off', () => {
  assert.equal(loadConfig({}).ui, true);
  assert.equal(loadConfig({ SAGEMAKER_BATCH: 'true' }).ui, false);
  assert.equal(loadConfig({ SAGEMAKER_BATCH: 'true', UI: 'true' }).ui, true);
  assert.equal(loadConfig({ UI: 'false' }).ui, false);
  assert.equal(loadConfig({}).resultCacheBytes, 64 * 1024 * 1024);
  assert.equal(loadConfig({ RESULT_CACHE_MB: '0' }).resultCacheBytes, 0);
  assert.throws(() => loadConfig({ RESULT_CACHE_MB: '-1' }), /RESULT_CACHE_MB/);
});

test('settingsOf gives each part a fresh frozen object with exactly its own keys, and every setting belongs to a part', () => {
  const config = loadConfig({ API_KEY: 'k1', MAX_BATCH_TOKENS: '4096', AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9', PORT: '9001' });
  const settings = settingsOf(config);
  assert.deepEqual(Object.keys(settings).sort(), Object.keys(SETTINGS_PARTS).sort());
  assert.ok(Object.isFrozen(settings));
  for (const [part, keys] of Object.entries(SETTINGS_PARTS)) {
    const options = (settings as unknown as Record<string, Record<string, unknown>>)[part]!;
    assert.deepEqual(Object.keys(options).sort(), [...keys].sort(), part);
    assert.ok(Object.isFrozen(options), `${part} is frozen`);
    assert.notEqual(options, config as unknown, `${part} is not the Config itself`);
    for (const k of keys) assert.equal(options[k], config[k], `${part}.${k}`);
  }
  // A part cannot reach another part's settings at run time: they are not on its object.
  assert.equal('apiKeys' in settings.engine, false);
  assert.equal('s3' in settings.http, false);
  assert.equal('port' in settings.artifacts, false);
  assert.equal(settings.http.apiKeys[0], 'k1');
  assert.equal(settings.batching.maxBatchTokens, 4096);
  assert.equal(settings.artifacts.s3.endpoint, 'http://127.0.0.1:9');
  assert.equal(settings.server.port, 9001);
  // A new setting must be given to some part, or no part could read it.
  const assigned = new Set(Object.values(SETTINGS_PARTS).flat());
  assert.deepEqual(Object.keys(config).filter((k) => !assigned.has(k as keyof Config)), []);
  assert.deepEqual([...assigned].filter((k) => !(k in config)), []);
});
