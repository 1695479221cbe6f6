/**
 * S3 end to end: `reranker upload` puts a model into a real S3 server (s3rver), the server is started
 * with MODEL_URI, downloads it, and serves the same scores as from the local folder; /ping is 503
 * while the download is held back and turns 200 only after it completes.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ensureModel } from '../helpers/models';
import { CLI } from '../helpers/paths';
import { removeTempDirs, startS3rver, tempDir, type S3rverHandle } from '../helpers/s3rver';
import { rerankRawScores, startServer, type TestServer } from '../helpers/server';

const QUERY = 'What is the capital of France?';
const TEXTS = ['Paris is the capital and largest city of France.', 'The Great Wall of China is visible from space.', 'Berlin is the capital of Germany.'];

function awsEnv(endpoint: string): Record<string, string> {
  return { AWS_ENDPOINT_URL_S3: endpoint, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1', LOG_LEVEL: 'info' };
}

/** Runs the CLI asynchronously: s3rver lives in this process, so a blocking spawn would deadlock. */
async function upload(dir: string, uri: string, endpoint: string, tar: boolean): Promise<string> {
  const child = spawn(process.execPath, [CLI, 'upload', dir, uri, ...(tar ? ['--tar'] : [])], { env: { PATH: process.env.PATH ?? '', ...awsEnv(endpoint) } });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 0, out);
  const m = /MODEL_URI=(s3:\/\/\S+)/.exec(out);
  assert.ok(m, out);
  return m[1]!;
}

const scores = async (s: TestServer): Promise<number[]> => (await rerankRawScores(s.url, QUERY, TEXTS)).scores;

function assertScores(got: number[], want: number[]): void {
  assert.equal(got.length, want.length);
  got.forEach((x, i) => assert.ok(Math.abs(x - want[i]!) < 1e-6, `doc ${i}: ${x} vs ${want[i]}`));
}

/** A TCP proxy in front of s3rver that can hold responses back (a slow S3) until released. */
function gatedProxy(targetPort: number): Promise<{ port: number; release(): void; close(): void }> {
  let open = false;
  const waiting: Array<() => void> = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.pipe(upstream);
    upstream.on('data', (d: Buffer) => {
      if (open) client.write(d);
      else {
        upstream.pause();
        waiting.push(() => {
          client.write(d);
          upstream.resume();
        });
      }
    });
    upstream.on('end', () => (open ? client.end() : waiting.push(() => client.end())));
    for (const s of [client, upstream]) s.on('error', () => undefined).on('close', () => sockets.delete(s));
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: (server.address() as net.AddressInfo).port,
        release() {
          open = true;
          waiting.splice(0).forEach((f) => f());
        },
        close() {
          for (const s of sockets) s.destroy();
          server.close();
        },
      }),
    ),
  );
}

describe('models from S3', () => {
  let s3: S3rverHandle;
  let modelDir: string;
  let local: TestServer;
  let localScores: number[];
  before(async () => {
    s3 = await startS3rver({ buckets: ['models'] });
    modelDir = await ensureModel({ preset: 'tiny', seed: 11 });
    local = await startServer({ env: { MODEL_DIR: modelDir } });
    localScores = await scores(local);
    await local.stop();
  });
  after(async () => {
    await s3?.dispose();
    removeTempDirs();
  });

  for (const tar of [false, true]) {
    it(`reranker upload ${tar ? '--tar' : '(prefix)'} then serving from MODEL_URI gives the local folder's scores`, async () => {
      const uri = await upload(modelDir, `s3://models/${tar ? 'tarred' : 'plain'}/v1/`, s3.endpoint, tar);
      assert.equal(uri.endsWith('model.tar.gz'), tar);
      const cache = tempDir('cache-');
      const s = await startServer({ env: { MODEL_URI: uri, MODEL_CACHE_DIR: cache, ...awsEnv(s3.endpoint) } });
      try {
        assertScores(await scores(s), localScores);
        const info = (await (await fetch(`${s.url}/info`)).json()) as { model: { source: string; uri: string } };
        assert.equal(info.model.source, 's3');
        assert.equal(info.model.uri, uri);
        assert.ok(!s.logs.some((l) => l.includes('S3RVER') && l.toLowerCase().includes('secret')), 'no secrets in logs');
      } finally {
        await s.stop();
      }
      // A restart with the same artifacts reuses the cache: no object is downloaded again.
      s3.requests.length = 0;
      const again = await startServer({ env: { MODEL_URI: uri, MODEL_CACHE_DIR: cache, ...awsEnv(s3.endpoint) } });
      try {
        assertScores(await scores(again), localScores);
        const gets = s3.requests.filter((r) => r.method === 'GET' && !r.url.includes('list-type') && !/\?(.*&)?prefix=/.test(r.url) && !r.url.endsWith('/models') && !r.url.includes('/models?'));
        assert.equal(gets.length, 0, `objects fetched again: ${JSON.stringify(gets)}`);
      } finally {
        await again.stop();
      }
    });
  }

  it('/ping answers 503 while the download is in progress, then 200', async () => {
    const uri = await upload(modelDir, 's3://models/slow/', s3.endpoint, false);
    const proxy = await gatedProxy(s3.port);
    const s = await startServer({ env: { MODEL_URI: uri, MODEL_CACHE_DIR: tempDir('cache-'), ...awsEnv(`http://127.0.0.1:${proxy.port}`) }, waitReady: false });
    try {
      for (let i = 0; i < 5; i++) {
        const t0 = Date.now();
        const r = await fetch(`${s.url}/ping`);
        assert.equal(r.status, 503);
        assert.ok(Date.now() - t0 < 2000, '/ping answers within 2 s');
        await new Promise((x) => setTimeout(x, 200));
      }
      const info = (await (await fetch(`${s.url}/info`)).json()) as { phase: string };
      assert.equal(info.phase, 'resolving');
      proxy.release();
      await s.waitReady(30_000);
      assertScores(await scores(s), localScores);
    } finally {
      proxy.close();
      await s.stop();
    }
  });

  it('a missing key ends start-up non-zero with one line that says what was tried', async () => {
    const s = await startServer({ env: { MODEL_URI: 's3://models/does-not-exist/model.tar.gz', MODEL_CACHE_DIR: tempDir('cache-'), ...awsEnv(s3.endpoint) }, waitReady: false });
    assert.equal(await s.exited, 1);
    const line = s.logs.find((l) => l.includes('start-up failed'));
    assert.ok(line, s.logs.join('\n'));
    assert.match(line!, /does-not-exist/);
  });
});
