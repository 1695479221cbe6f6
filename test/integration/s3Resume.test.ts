/**
 * Interrupted and damaged downloads against a real S3 HTTP server (s3rver): the server dies in the
 * middle of a 60 MB download and comes back; a start gives up and the next start resumes; an object
 * that is cut short or replaced while it is read is caught by verification.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { downloadModel } from '../../src/artifacts/downloadModel';
import { resolveModel } from '../../src/artifacts/resolveModel';
import { loadConfig, settingsOf, type ArtifactOptions } from '../../src/config';
import { configureLog } from '../../src/log';
import { sha256Tree, removeTempDirs, startS3rver, tempDir, type S3rverHandle } from '../helpers/s3rver';

const MB = 1024 * 1024;
const BIG = 60 * MB;
let s3: S3rverHandle;
let bigSha = '';
const tmp = tempDir;

before(async () => {
  configureLog('error');
  s3 = await startS3rver({ buckets: ['models'] });
  const file = path.join(tmp('big-'), 'model.onnx');
  fs.writeFileSync(file, crypto.randomBytes(BIG));
  bigSha = crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  await s3.client.send(new PutObjectCommand({ Bucket: 'models', Key: 'big/model.onnx', Body: fs.createReadStream(file), ContentLength: BIG }));
  await s3.client.send(new PutObjectCommand({ Bucket: 'models', Key: 'big/config.json', Body: '{"architectures":["BertForSequenceClassification"]}' }));
  // A servable folder has a tokenizer.json too (artifacts/modelFolder.ts checks it after a download).
  await s3.client.send(new PutObjectCommand({ Bucket: 'models', Key: 'big/tokenizer.json', Body: '{"model":{"type":"WordPiece"}}' }));
});
after(async () => {
  await s3.dispose();
  removeTempDirs();
});

/** The artifacts part's own settings, as the server gives them. */
function config(uri: string, env: Record<string, string> = {}): ArtifactOptions {
  return settingsOf(loadConfig({
    MODEL_URI: uri,
    SM_MODEL_DIR: tmp('sm-empty-'),
    MODEL_CACHE_DIR: tmp('cache-'),
    AWS_ENDPOINT_URL_S3: s3.endpoint,
    S3_MULTIPART_THRESHOLD_MB: '8',
    S3_PART_SIZE_MB: '8',
    S3_RANGE_CONCURRENCY: '2',
    ...env,
  })).artifacts;
}

const bigGets = (): { from: number; to: number }[] =>
  s3.requests
    .filter((r) => r.method === 'GET' && r.url.startsWith('/models/big/model.onnx'))
    .map((r) => {
      const m = /bytes=(\d+)-(\d+)/.exec(r.range ?? '');
      return { from: Number(m?.[1] ?? 0), to: m ? Number(m[2]) : BIG - 1 };
    });

/** Resolves once `n` ranged GETs of the big object have been seen since `since`. */
async function waitForGets(since: number, n: number): Promise<void> {
  while (bigGets().length - since < n) await new Promise((r) => setTimeout(r, 2));
}

test('S3 server stopped in the middle of a 60 MB download and started again: the download resumes', async () => {
  const start = bigGets().length;
  const cfg = config('s3://models/big/');
  const running = downloadModel(cfg, 's3://models/big/', { client: s3.client, retryBaseMs: 300 });
  await waitForGets(start, 3);
  await s3.stop();
  const stoppedAt = bigGets().length;
  await new Promise((r) => setTimeout(r, 800));
  await s3.restart();
  const r = await running;
  assert.equal(crypto.createHash('sha256').update(fs.readFileSync(path.join(r.dir, 'model.onnx'))).digest('hex'), bigSha);
  const after = bigGets().slice(stoppedAt);
  const refetched = after.reduce((a, g) => a + g.to - g.from + 1, 0);
  assert.ok(after.length > 0, 'it asked for the rest after the restart');
  assert.ok(refetched < BIG - 8 * MB, `after the restart it asked for ${refetched} bytes, not the whole object again`);
  assert.ok(r.verified['big/model.onnx'] === 'MD5 (ETag)');
});

test('a start that gives up keeps its bytes; the next start resumes from them', async () => {
  const cfg = config('s3://models/big/', { S3_DOWNLOAD_ATTEMPTS: '2' });
  const start = bigGets().length;
  const first = downloadModel(cfg, 's3://models/big/', { client: s3.client, retryBaseMs: 50 });
  await waitForGets(start, 3);
  await s3.stop();
  await assert.rejects(first, /cannot reach S3: GetObject s3:\/\/models\/big\/model\.onnx .*Gave up after 2 attempts without progress; \d+ of 62914560 bytes are kept/);
  const entry = fs.readdirSync(cfg.modelCacheDir)[0] ?? '';
  const state = JSON.parse(fs.readFileSync(path.join(cfg.modelCacheDir, entry, 'partial', 'state.json'), 'utf8'));
  const kept = (state.objects['big/model.onnx'].done as number[]).reduce((a, b) => a + b, 0);
  assert.ok(kept > 0, 'bytes on disk are recorded');

  await s3.restart();
  const before2 = bigGets().length;
  const r = await resolveModel(cfg, { s3Client: s3.client });
  assert.equal(r.source, 's3');
  assert.deepEqual(sha256Tree(r.dir)['model.onnx'], bigSha);
  const asked = bigGets().slice(before2).reduce((a, g) => a + g.to - g.from + 1, 0);
  assert.equal(asked, BIG - kept, 'the second start asks exactly for the bytes the first did not keep');
});

test('an object cut short in the store fails verification with a clear message', async () => {
  const body = crypto.randomBytes(3 * MB);
  await s3.client.send(new PutObjectCommand({ Bucket: 'models', Key: 'trunc/model.onnx', Body: body }));
  await s3.client.send(new PutObjectCommand({ Bucket: 'models', Key: 'trunc/config.json', Body: '{}' }));
  // s3rver keeps the ETag (MD5) it computed at upload time in a side file: cut the data only
  fs.truncateSync(s3.objectPath('models', 'trunc/model.onnx'), MB);
  await assert.rejects(
    resolveModel(config('s3://models/trunc/'), { s3Client: s3.client }),
    /s3:\/\/models\/trunc\/model\.onnx failed verification: MD5 \(ETag\) of the downloaded 1048576 bytes is [0-9a-f]{32}, S3 says [0-9a-f]{32}\. The object in S3 is corrupt/,
  );
});

test('an object that shrinks while it is downloaded is caught by its size', async () => {
  const file = path.join(tmp('mid-'), 'x.onnx');
  fs.writeFileSync(file, crypto.randomBytes(24 * MB));
  await s3.client.send(new PutObjectCommand({ Bucket: 'models', Key: 'shrink/model.onnx', Body: fs.createReadStream(file), ContentLength: 24 * MB }));
  await s3.client.send(new PutObjectCommand({ Bucket: 'models', Key: 'shrink/config.json', Body: '{}' }));
  const onPhase = (p: string): void => {
    if (p === 'downloading') fs.truncateSync(s3.objectPath('models', 'shrink/model.onnx'), 10 * MB);
  };
  await assert.rejects(resolveModel(config('s3://models/shrink/'), { s3Client: s3.client, onPhase }), /s3:\/\/models\/shrink\/model\.onnx changed during the download \(listed with 25165824 bytes, now 10485760\)/);
});
