/**
 * `make bench-cold` (= `node dist/bench/coldStart.js [--preset base] [--rounds 2] [--no-s3] [--tar]`):
 * time from process start to /ping 200 for the generated BERT-base shape (418 MB fp32), by phase
 * (the ready line's load_ms), against the target:
 *
 *   ready <= 1.5 x (read the model file once + create one ONNX Runtime session)
 *
 * The baseline is measured in a child process (`--baseline FILE`) with the inference worker's session
 * options and all the cores. Rows: the default layout from local disk (MODEL_DIR), each other memory
 * layout (`shared` twice: its first start writes the .ort copy, the second finds it), and from S3
 * (s3rver in its own process, a fresh MODEL_CACHE_DIR, so the download is in the time). The page cache
 * is warm for every row (the file was just read): a cold disk adds its read time to every row alike.
 * Writes bench/coldStart-results.json.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { uploadModel } from '../src/artifacts/upload';
import { loadConfig, settingsOf } from '../src/config';
import { configureLog } from '../src/log';
import { ensureModel } from '../scripts/dev/models';
import { s3rverClient } from '../scripts/dev/s3rver';
import { cpuInfo } from './flops';
import { log } from './phases';
import { startReranker } from './procs';

const ROOT = path.resolve(__dirname, '..', '..');

interface Row {
  label: string;
  env: Record<string, string>;
  readyMs: number;
  loadMs: Record<string, number>;
  layout: string;
  ratio: number;
}

/** Child mode: read the file once, then create one session as the inference worker would. */
async function baselineChild(file: string): Promise<void> {
  const ort = await import('onnxruntime-node');
  const t0 = performance.now();
  const bytes = fs.readFileSync(file).length;
  const t1 = performance.now();
  const session = await ort.InferenceSession.create(file, { graphOptimizationLevel: 'all', intraOpNumThreads: os.availableParallelism(), interOpNumThreads: 1, executionMode: 'sequential', logSeverityLevel: 3 });
  const t2 = performance.now();
  await session.release();
  process.stdout.write(JSON.stringify({ bytes, readMs: t1 - t0, sessionMs: t2 - t1 }) + '\n');
}

function baseline(file: string): { bytes: number; readMs: number; sessionMs: number } {
  const r = spawnSync(process.execPath, [__filename, '--baseline', file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`baseline failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { bytes: number; readMs: number; sessionMs: number };
}

async function timedStart(label: string, dir: string, env: Record<string, string>, target: number): Promise<Row> {
  const t0 = performance.now();
  const p = await startReranker(dir, { LOG_LEVEL: 'info', ...env });
  const readyMs = performance.now() - t0;
  try {
    const ready = p.logs.map((l) => (l.startsWith('{') ? (JSON.parse(l) as Record<string, any>) : undefined)).find((l) => l?.msg === 'ready');
    const row: Row = { label, env, readyMs, loadMs: ready?.load_ms ?? {}, layout: ready?.memory_layout ? `${ready.memory_layout.kind} ${ready.memory_layout.sessions}x${ready.memory_layout.threads_per_session}` : '?', ratio: readyMs / target };
    log(`${label}: /ping 200 after ${(readyMs / 1000).toFixed(2)} s (${row.ratio.toFixed(2)} x target base), ${row.layout}, load_ms ${JSON.stringify(row.loadMs)}`);
    return row;
  } finally {
    await p.stop();
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

async function startS3rver(dir: string): Promise<{ endpoint: string; child: ChildProcess }> {
  const port = await freePort();
  fs.mkdirSync(path.join(dir, 'models'), { recursive: true });
  const child = spawn(process.execPath, [require.resolve('s3rver/bin/s3rver.js'), '-d', dir, '-a', '127.0.0.1', '-p', String(port), '--silent'], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((r) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), r(true))).once('error', () => r(false));
    });
    if (up) return { endpoint: `http://127.0.0.1:${port}`, child };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new Error('s3rver did not start');
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { baseline: { type: 'string' }, preset: { type: 'string', default: 'base' }, rounds: { type: 'string', default: '2' }, 'no-s3': { type: 'boolean', default: false }, tar: { type: 'boolean', default: false }, out: { type: 'string' } } });
  if (values.baseline) return baselineChild(values.baseline);
  configureLog('warn', 'text');
  const preset = values.preset as 'base' | 'minilm';
  const dir = await ensureModel({ preset, layout: 'onnx' });
  const file = path.join(dir, 'onnx', 'model.onnx');
  const started = new Date().toISOString();
  const loadavgStart = os.loadavg();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-cold-'));
  const rows: Row[] = [];
  const baselines: Array<{ bytes: number; readMs: number; sessionMs: number }> = [];
  try {
    const rounds = Number(values.rounds);
    for (let round = 0; round < rounds; round++) {
      // The baseline is measured in every round next to the rows it is compared with: this machine drifts.
      const b = baseline(file);
      baselines.push(b);
      const target = b.readMs + b.sessionMs;
      log(`round ${round + 1}: baseline: read ${(b.bytes / 2 ** 20).toFixed(0)} MiB in ${b.readMs.toFixed(0)} ms + one session ${b.sessionMs.toFixed(0)} ms = ${target.toFixed(0)} ms; target 1.5 x = ${(1.5 * target).toFixed(0)} ms`);
      const cache = (name: string): string => path.join(tmp, `${name}-${round}`);
      rows.push(await timedStart(`local, default layout (round ${round + 1})`, dir, { MODEL_CACHE_DIR: cache('auto') }, target));
      if (round === 0) {
        rows.push(await timedStart('local, MEMORY_LAYOUT=per-session', dir, { MEMORY_LAYOUT: 'per-session', MODEL_CACHE_DIR: cache('per') }, target));
        rows.push(await timedStart('local, MEMORY_LAYOUT=shared, first start (writes the .ort copy)', dir, { MEMORY_LAYOUT: 'shared', MODEL_CACHE_DIR: cache('shared') }, target));
        rows.push(await timedStart('local, MEMORY_LAYOUT=shared, restart (finds the .ort copy)', dir, { MEMORY_LAYOUT: 'shared', MODEL_CACHE_DIR: cache('shared') }, target));
      }
      if (!values['no-s3'] && round === 0) {
        const s3 = await startS3rver(path.join(tmp, 's3'));
        try {
          const client = s3rverClient(s3.endpoint);
          const { s3: s3Options } = settingsOf(loadConfig({ AWS_ENDPOINT_URL_S3: s3.endpoint, AWS_REGION: 'us-east-1' })).artifacts;
          const s3env = { AWS_ENDPOINT_URL_S3: s3.endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', S3_FORCE_PATH_STYLE: 'true' };
          const prefix = await uploadModel(dir, 's3://models/cold/', { tar: false, client, s3: s3Options });
          rows.push(await timedStart('S3 prefix (s3rver), empty cache', '', { MODEL_DIR: '', MODEL_URI: prefix.uri, MODEL_CACHE_DIR: cache('s3'), ...s3env }, target));
          if (values.tar) {
            const tar = await uploadModel(dir, 's3://models/cold/model.tar.gz', { tar: true, client, s3: s3Options });
            rows.push(await timedStart('S3 model.tar.gz (s3rver), empty cache', '', { MODEL_DIR: '', MODEL_URI: tar.uri, MODEL_CACHE_DIR: cache('s3tar'), ...s3env }, target));
          }
        } finally {
          s3.child.kill();
        }
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const out = values.out ?? path.join(ROOT, 'bench', 'coldStart-results.json');
  fs.writeFileSync(out, JSON.stringify({ date: started, machine: { ...cpuInfo(), loadavgStart, loadavgEnd: os.loadavg(), node: process.version }, preset, baselines, rows }, null, 2) + '\n');
  const phases = ['resolve', 'download', 'extract', 'spec', 'tokenizer', 'ort_copy', 'sessions', 'session_warmup', 'engine', 'warmup', 'total'];
  console.log(`\n${preset}: baseline (read + one session) ${baselines.map((b) => ((b.readMs + b.sessionMs) / 1000).toFixed(2)).join(', ')} s; target: ready <= 1.5 x baseline`);
  console.log(`row | layout | /ping 200 s | x baseline | ${phases.join(' | ')} (ms)`);
  for (const r of rows) console.log(`${r.label} | ${r.layout} | ${(r.readyMs / 1000).toFixed(2)} | ${r.ratio.toFixed(2)} | ${phases.map((p) => (r.loadMs[p] === undefined ? '-' : String(r.loadMs[p]))).join(' | ')}`);
  console.log(`wrote ${out}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
