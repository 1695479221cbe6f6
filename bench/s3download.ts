/**
 * Download benchmark against s3rver: this project's downloader (listing, HEAD, parallel ranged
 * GETs, MD5 verification in a worker, rename into the cache) vs one plain GetObject streamed to a
 * file, alternated in one run. s3rver runs in its own process so the server does not share the
 * client's event loop.
 *
 *   node dist/bench/s3download.js [--mb 256] [--rounds 5]   (compiled: under tsx the hash worker
 *   compiles TypeScript at start-up, which the container never does)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { downloadModel } from '../src/artifacts/downloadModel';
import { loadConfig } from '../src/config';
import { configureLog } from '../src/log';

export interface S3DownloadBenchOptions {
  /** Object size in MiB (>= 200 for the documented figure). */
  readonly mb?: number;
  /** Rounds of (plain, ours), alternated; the median of each is reported. */
  readonly rounds?: number;
  /** Extra environment for loadConfig (S3_PART_SIZE_MB, S3_RANGE_CONCURRENCY, ...). */
  readonly env?: Record<string, string>;
}

export interface S3DownloadBenchResult {
  readonly bytes: number;
  readonly plainMBps: number;
  readonly oursMBps: number;
  /** ours / plain: above 1 means faster than one plain GetObject. */
  readonly ratio: number;
  /** Until the last byte was on disk, while the MD5 worker runs alongside (diagnostic). */
  readonly oursTransferMBps: number;
  readonly plainRuns: number[];
  readonly oursRuns: number[];
  readonly settings: { partSizeMB: number; rangeConcurrency: number; thresholdMB: number };
}

const MB = 1024 * 1024;
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? (s[(s.length - 1) / 2] ?? 0) : ((s[s.length / 2 - 1] ?? 0) + (s[s.length / 2] ?? 0)) / 2;
};

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

async function startServer(dir: string, port: number): Promise<ChildProcess> {
  fs.mkdirSync(path.join(dir, 'bench'), { recursive: true });
  const bin = require.resolve('s3rver/bin/s3rver.js');
  const child = spawn(process.execPath, [bin, '-d', dir, '-a', '127.0.0.1', '-p', String(port), '--silent'], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((r) => net.connect(port, '127.0.0.1').once('connect', function (this: net.Socket) { this.destroy(); r(true); }).once('error', () => r(false)));
    if (up) return child;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new Error('s3rver did not start');
}

export async function benchS3Download(opts: S3DownloadBenchOptions = {}): Promise<S3DownloadBenchResult> {
  const bytes = Math.round((opts.mb ?? 256) * MB);
  const rounds = opts.rounds ?? 5;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 's3bench-'));
  const port = await freePort();
  const server = await startServer(path.join(work, 's3'), port);
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({
    endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  try {
    const src = path.join(work, 'model.onnx');
    const fd = fs.openSync(src, 'w');
    for (let left = bytes; left > 0; left -= 16 * MB) fs.writeSync(fd, crypto.randomBytes(Math.min(16 * MB, left)));
    fs.closeSync(fd);
    await client.send(new PutObjectCommand({ Bucket: 'bench', Key: 'model/model.onnx', Body: fs.createReadStream(src), ContentLength: bytes }));
    await client.send(new PutObjectCommand({ Bucket: 'bench', Key: 'model/config.json', Body: '{}' }));
    fs.rmSync(src);

    const config = loadConfig({ AWS_ENDPOINT_URL_S3: endpoint, ...opts.env });
    const plainRuns: number[] = [];
    const oursRuns: number[] = [];
    const transferRuns: number[] = [];
    for (let i = 0; i < rounds; i++) {
      let t = performance.now();
      const out = path.join(work, 'plain.bin');
      const res = await client.send(new GetObjectCommand({ Bucket: 'bench', Key: 'model/model.onnx' }));
      await pipeline(res.Body as Readable, fs.createWriteStream(out));
      plainRuns.push(bytes / MB / ((performance.now() - t) / 1000));
      fs.rmSync(out);

      const cacheDir = path.join(work, `cache-${i}`);
      t = performance.now();
      const r = await downloadModel({ ...config, modelCacheDir: cacheDir }, 's3://bench/model/', { client, progressIntervalMs: 60_000 });
      oursRuns.push(bytes / MB / ((performance.now() - t) / 1000));
      transferRuns.push(bytes / MB / r.transferSeconds);
      fs.rmSync(cacheDir, { recursive: true, force: true });
    }
    const plainMBps = median(plainRuns);
    const oursMBps = median(oursRuns);
    return {
      bytes,
      plainMBps,
      oursMBps,
      ratio: oursMBps / plainMBps,
      oursTransferMBps: median(transferRuns),
      plainRuns,
      oursRuns,
      settings: { partSizeMB: config.s3.partSizeBytes / MB, rangeConcurrency: config.s3.rangeConcurrency, thresholdMB: config.s3.multipartThresholdBytes / MB },
    };
  } finally {
    client.destroy();
    server.kill();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const { values } = parseArgs({ options: { mb: { type: 'string' }, rounds: { type: 'string' } } });
  configureLog('warn');
  benchS3Download({ ...(values.mb ? { mb: Number(values.mb) } : {}), ...(values.rounds ? { rounds: Number(values.rounds) } : {}) }).then(
    (r) => {
      const f = (x: number): string => x.toFixed(0);
      process.stdout.write(
        `S3 download of ${(r.bytes / MB).toFixed(0)} MiB from s3rver (part ${r.settings.partSizeMB} MiB x ${r.settings.rangeConcurrency} ranges):\n` +
          `  plain GetObject -> file: ${f(r.plainMBps)} MB/s  (runs: ${r.plainRuns.map(f).join(', ')})\n` +
          `  reranker downloader:     ${f(r.oursMBps)} MB/s  (runs: ${r.oursRuns.map(f).join(', ')}; end to end: listing, HEAD, ranged GETs, MD5 verification, rename)\n` +
          `    of which the transfer: ${f(r.oursTransferMBps)} MB/s until the last byte was on disk\n` +
          `  ratio: ${r.ratio.toFixed(2)}x\n`,
      );
    },
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
