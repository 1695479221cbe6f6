/**
 * Download benchmark against s3rver: this project's downloader (listing, HEAD, parallel ranged
 * GETs, MD5 verification, rename into the cache) vs one plain GetObject streamed to a file, and vs
 * the same GetObject with an MD5 computed inline (the guarantee the downloader gives), alternated in
 * one run. s3rver runs in its own process so the server does not share the client's event loop.
 * Each row also reports CPU-seconds per run: this process (all threads), s3rver, and the rest of the
 * machine, so a shared machine's noise is visible.
 *
 *   node dist/bench/s3download.js [--mb 256] [--rounds 5] [--env S3_RANGE_CONCURRENCY=4 ...] [--json]
 *   (compiled: under tsx the hash worker compiles TypeScript at start-up, which the container never does)
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
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
import { loadConfig, settingsOf } from '../src/config';
import { configureLog } from '../src/log';

export interface S3DownloadBenchOptions {
  /** Object size in MiB (>= 200 for the documented figure). */
  readonly mb?: number;
  /** Rounds of (plain, plain + MD5, ours), order rotated each round; the median of each is reported. */
  readonly rounds?: number;
  /** Extra environment for loadConfig (S3_PART_SIZE_MB, S3_RANGE_CONCURRENCY, ...). */
  readonly env?: Record<string, string>;
}

/** One way of downloading, over all rounds. */
export interface S3DownloadRow {
  readonly label: string;
  /** Median MB/s (MiB per second) end to end. */
  readonly mbps: number;
  readonly runs: number[];
  /** Medians per run, in CPU-seconds: the bench process (all its threads), s3rver, everything else on the machine. */
  readonly cpu: { readonly client: number; readonly server: number; readonly others: number };
}

export interface S3DownloadBenchResult {
  readonly bytes: number;
  readonly plainMBps: number;
  /** One GetObject streamed to a file with an MD5 computed on the way: the guarantee ours gives. */
  readonly plainMd5MBps: number;
  readonly oursMBps: number;
  /** ours / plain: above 1 means faster than one plain GetObject. */
  readonly ratio: number;
  /** ours / (plain + MD5). */
  readonly ratioMd5: number;
  /** Until the last byte was on disk, while the MD5 runs alongside (diagnostic). */
  readonly oursTransferMBps: number;
  readonly plainRuns: number[];
  readonly oursRuns: number[];
  readonly rows: readonly S3DownloadRow[];
  /** /proc/loadavg before and after. */
  readonly load: readonly [string, string];
  readonly settings: { partSizeMB: number; rangeConcurrency: number; thresholdMB: number };
}

const MB = 1024 * 1024;
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? (s[(s.length - 1) / 2] ?? 0) : ((s[s.length / 2 - 1] ?? 0) + (s[s.length / 2] ?? 0)) / 2;
};

const TICK = 100; // USER_HZ on Linux
const readText = (f: string): string => {
  try {
    return fs.readFileSync(f, 'utf8');
  } catch {
    return '';
  }
};
/** utime + stime of a process in seconds (0 when /proc is not there). */
function procCpu(pid: number): number {
  const stat = readText(`/proc/${pid}/stat`);
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11] ?? 0) + Number(f[12] ?? 0)) / TICK;
}
/** Busy CPU-seconds of the whole machine (all cores, idle and iowait excluded). */
function machineBusy(): number {
  const f = (readText('/proc/stat').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return (total - (f[3] ?? 0) - (f[4] ?? 0)) / TICK;
}
const loadavg = (): string => readText('/proc/loadavg').split(' ').slice(0, 3).join(' ');

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

    const artifacts = settingsOf(loadConfig({ AWS_ENDPOINT_URL_S3: endpoint, ...opts.env })).artifacts;
    const getToFile = async (out: string, md5: boolean): Promise<void> => {
      const res = await client.send(new GetObjectCommand({ Bucket: 'bench', Key: 'model/model.onnx' }));
      const body = res.Body as Readable;
      if (!md5) return pipeline(body, fs.createWriteStream(out));
      const h = crypto.createHash('md5');
      body.on('data', (c: Buffer) => h.update(c));
      await pipeline(body, fs.createWriteStream(out));
      if (h.digest('hex') !== (res.ETag ?? '').replace(/"/g, '')) throw new Error('plain + MD5: digest does not match the ETag');
    };
    let transfer = 0;
    const ways: { label: string; run: (i: number) => Promise<void> }[] = [
      { label: 'plain GetObject -> file', run: (i) => getToFile(path.join(work, `plain-${i}.bin`), false) },
      { label: 'plain GetObject + inline MD5', run: (i) => getToFile(path.join(work, `plainmd5-${i}.bin`), true) },
      {
        label: 'reranker downloader',
        run: async (i) => {
          const r = await downloadModel({ ...artifacts, modelCacheDir: path.join(work, `cache-${i}`) }, 's3://bench/model/', { client, progressIntervalMs: 60_000 });
          if (r.verified['model/model.onnx'] === undefined || r.verified['model/model.onnx'].startsWith('size only')) throw new Error('the model was not verified by digest');
          transfer = bytes / MB / r.transferSeconds;
        },
      },
    ];
    const samples = ways.map(() => ({ runs: [] as number[], client: [] as number[], server: [] as number[], others: [] as number[] }));
    const transferRuns: number[] = [];
    const loadBefore = loadavg();
    const serverPid = server.pid ?? 0;
    for (let i = 0; i < rounds; i++) {
      for (let k = 0; k < ways.length; k++) {
        const w = (i + k) % ways.length; // rotate, so no way always runs after the same one
        const way = ways[w];
        const s = samples[w];
        if (!way || !s) continue;
        // Start from a quiet disk: earlier rounds' dirty pages are not this run's writeback.
        spawnSync('sync');
        const c0 = process.cpuUsage();
        const srv0 = procCpu(serverPid);
        const m0 = machineBusy();
        const t = performance.now();
        await way.run(i);
        const secs = (performance.now() - t) / 1000;
        const cu = process.cpuUsage(c0);
        const client = (cu.user + cu.system) / 1e6;
        const srv = procCpu(serverPid) - srv0;
        s.runs.push(bytes / MB / secs);
        s.client.push(client);
        s.server.push(srv);
        s.others.push(Math.max(0, machineBusy() - m0 - client - srv));
        if (w === 2) transferRuns.push(transfer);
        for (const f of fs.readdirSync(work)) if (f !== 's3') fs.rmSync(path.join(work, f), { recursive: true, force: true });
      }
    }
    const rows: S3DownloadRow[] = ways.map((w, k) => {
      const s = samples[k] ?? { runs: [], client: [], server: [], others: [] };
      return { label: w.label, mbps: median(s.runs), runs: s.runs, cpu: { client: median(s.client), server: median(s.server), others: median(s.others) } };
    });
    const [plain, plainMd5, ours] = rows.map((r) => r.mbps) as [number, number, number];
    return {
      bytes,
      plainMBps: plain,
      plainMd5MBps: plainMd5,
      oursMBps: ours,
      ratio: ours / plain,
      ratioMd5: ours / plainMd5,
      oursTransferMBps: median(transferRuns),
      plainRuns: rows[0]?.runs ?? [],
      oursRuns: rows[2]?.runs ?? [],
      rows,
      load: [loadBefore, loadavg()],
      settings: { partSizeMB: artifacts.s3.partSizeBytes / MB, rangeConcurrency: artifacts.s3.rangeConcurrency, thresholdMB: artifacts.s3.multipartThresholdBytes / MB },
    };
  } finally {
    client.destroy();
    server.kill();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const { values } = parseArgs({ options: { mb: { type: 'string' }, rounds: { type: 'string' }, env: { type: 'string', multiple: true }, json: { type: 'boolean' } } });
  configureLog('warn');
  const env = Object.fromEntries((values.env ?? []).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  benchS3Download({ ...(values.mb ? { mb: Number(values.mb) } : {}), ...(values.rounds ? { rounds: Number(values.rounds) } : {}), env }).then(
    (r) => {
      if (values.json) process.stdout.write(JSON.stringify(r) + '\n');
      const f = (x: number): string => x.toFixed(0);
      const c = (x: number): string => x.toFixed(2);
      process.stdout.write(
        `S3 download of ${(r.bytes / MB).toFixed(0)} MiB from s3rver (part ${r.settings.partSizeMB} MiB x ${r.settings.rangeConcurrency} ranges, threshold ${r.settings.thresholdMB} MiB), ` +
          `${os.cpus().length} CPUs, loadavg ${r.load[0]} -> ${r.load[1]}:\n` +
          r.rows.map((row) => `  ${row.label.padEnd(30)} ${f(row.mbps).padStart(4)} MB/s  CPU-s client ${c(row.cpu.client)}, s3rver ${c(row.cpu.server)}, others ${c(row.cpu.others)}  (runs: ${row.runs.map(f).join(', ')})\n`).join('') +
          `  (reranker downloader: end to end = listing, HEAD, ranged GETs, MD5 verification, rename; ${f(r.oursTransferMBps)} MB/s until the last byte was on disk)\n` +
          `  ratio ours / plain: ${r.ratio.toFixed(2)}x; ours / (plain + MD5): ${r.ratioMd5.toFixed(2)}x\n`,
      );
    },
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
