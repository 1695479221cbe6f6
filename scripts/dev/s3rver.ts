/**
 * A real S3 HTTP server (s3rver 3.7.1) for integration tests, on 127.0.0.1 with a temp directory.
 * `stop()` drops open connections at once (like a crashed server) and `restart()` brings it back on
 * the same port and directory, which the interrupted-download test needs.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
// s3rver ships no types.
const S3rver = require('s3rver') as new (opts: Record<string, unknown>) => S3rverInstance;

interface S3rverInstance {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
  httpServer?: http.Server;
}

export interface RecordedRequest {
  method: string;
  url: string;
  range: string | undefined;
}

export interface S3rverHandle {
  endpoint: string;
  port: number;
  /** s3rver's data directory: objects live at <dir>/<bucket>/<key>._S3rver_object. */
  directory: string;
  /** Client with path-style addressing, S3RVER/S3RVER credentials and checksums only when required. */
  client: S3Client;
  /** Every request the server has received since start (or since `requests.length = 0`). */
  requests: RecordedRequest[];
  /** Path of the file s3rver serves for bucket/key (overwrite it to corrupt an object). */
  objectPath(bucket: string, key: string): string;
  stop(): Promise<void>;
  restart(): Promise<void>;
  /** stop() and remove the data directory. */
  dispose(): Promise<void>;
}

export function s3rverClient(endpoint: string, credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }): S3Client {
  return new S3Client({
    endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials,
    // Default checksums stream uploads with aws-chunked framing, which s3rver stores verbatim.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 2,
  });
}

export async function startS3rver(opts: { buckets?: string[]; port?: number } = {}): Promise<S3rverHandle> {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 's3rver-'));
  const buckets = opts.buckets ?? ['models'];
  const requests: RecordedRequest[] = [];
  let server: S3rverInstance | undefined;
  let port = opts.port ?? 0;

  async function start(): Promise<void> {
    const s = new S3rver({
      address: '127.0.0.1',
      port,
      directory,
      silent: true,
      configureBuckets: buckets.map((name) => ({ name, configs: [] })),
    });
    const addr = await s.run();
    port = addr.port;
    s.httpServer?.on('request', (req: http.IncomingMessage) => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', range: req.headers.range });
    });
    server = s;
  }

  async function stop(): Promise<void> {
    const s = server;
    server = undefined;
    if (!s?.httpServer) return;
    // close() alone waits for keep-alive and streaming connections; a crash does not.
    s.httpServer.closeAllConnections();
    await s.close();
  }

  await start();
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    port,
    directory,
    client: s3rverClient(endpoint),
    requests,
    objectPath: (bucket, key) => path.join(directory, bucket, ...path.dirname(key).split('/').filter((p) => p !== '.'), `${path.basename(key)}._S3rver_object`),
    stop,
    restart: async () => {
      await stop();
      await start();
    },
    dispose: async () => {
      await stop();
      fs.rmSync(directory, { recursive: true, force: true });
    },
  };
}

const tempDirs: string[] = [];

/** A temp folder removed by removeTempDirs() (call it from after()). */
export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const d of tempDirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

// Model folders for the S3 tests: real bytes, fake content (only presence matters).
export function makeFakeModel(opts: { onnxBytes?: number; extra?: Record<string, number> } = {}): string {
  const dir = tempDir('fake-model-');
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ architectures: ['BertForSequenceClassification'], num_labels: 1 }));
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify({ model: { type: 'WordPiece' }, rand: crypto.randomBytes(8).toString('hex') }));
  fs.mkdirSync(path.join(dir, 'onnx'));
  fs.writeFileSync(path.join(dir, 'onnx', 'model.onnx'), crypto.randomBytes(opts.onnxBytes ?? 3 * 1024 * 1024));
  for (const [rel, size] of Object.entries(opts.extra ?? {})) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), crypto.randomBytes(size));
  }
  return dir;
}

/** relative path -> sha256 of every regular file under dir. */
export function sha256Tree(dir: string, base = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of fs.readdirSync(path.join(dir, base), { withFileTypes: true })) {
    const rel = base ? `${base}/${e.name}` : e.name;
    if (e.isDirectory()) Object.assign(out, sha256Tree(dir, rel));
    else if (e.isFile()) out[rel] = crypto.createHash('sha256').update(fs.readFileSync(path.join(dir, rel))).digest('hex');
  }
  return out;
}
