/**
 * MODEL_URI to a complete, verified local folder in MODEL_CACHE_DIR.
 *
 * Cache entry per URI (and endpoint):  <cache>/<slug>-<hash>/
 *   manifest.json   objects (key, size, ETag) and files of the complete folder below
 *   model/          the model folder handed to the server
 *   partial/        an unfinished download: files/ (prefix) or archive/ (model.tar.gz) + state.json
 *   extract.tmp/    an archive being extracted
 * Nothing under model/ changes until a new version is complete: it is renamed into place.
 */
import crypto from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { HeadBucketCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { boundedEach } from '../boundedEach';
import type { ArtifactOptions } from '../config';
import { AppError } from '../errors';
import { logger } from '../log';
import { downloadObject, type ObjectTask } from './downloadObject';
import { extractTar } from './extractTar';
import { FileHasher } from './fileHasher';
import { filesIntact, listFiles, readManifest, sameObjects, writeManifest, type ListedObject } from './manifest';
import { findModelRoot, safeRelativePath } from './modelFolder';
import { PartialState } from './partialState';
import { downloadSeconds, Progress } from './progress';
import { createS3Client, describeEndpoint } from './s3Client';
import { errorCode, isNetworkError, s3Error } from './s3Errors';
import { formatS3Uri, parseS3Uri, type S3Location } from './s3Uri';

const log = logger('artifacts');
const MB = 1024 * 1024;

export interface DownloadOptions {
  readonly client?: S3Client;
  /** 'listing' | 'cached' | 'downloading' | 'extracting': for /ping detail and tests. */
  readonly onPhase?: (phase: string) => void;
  readonly progressIntervalMs?: number;
  /** First retry delay; later ones double up to 15 s. */
  readonly retryBaseMs?: number;
}

export interface DownloadResult {
  readonly dir: string;
  readonly cached: boolean;
  /** Bytes fetched from S3 by this call (0 when cached). */
  readonly bytes: number;
  readonly seconds: number;
  /** Seconds until the last byte was on disk; the rest of `seconds` is verification and bookkeeping. */
  readonly transferSeconds: number;
  readonly verified: Readonly<Record<string, string>>;
}

export function cacheEntryDir(cacheDir: string, uri: string, endpoint: string | undefined): string {
  const hash = crypto.createHash('sha256').update(`${endpoint ?? 'aws'}\n${uri}`).digest('hex').slice(0, 16);
  const slug = uri.replace(/^s3:\/\//, '').replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 80);
  return path.join(cacheDir, `${slug}-${hash}`);
}

/** What a download reads of the configuration. */
export type DownloadConfig = Pick<ArtifactOptions, 'extract' | 'modelCacheDir' | 's3'>;

export async function downloadModel(config: DownloadConfig, uri: string, opts: DownloadOptions = {}): Promise<DownloadResult> {
  const loc = parseS3Uri(uri);
  const client = opts.client ?? createS3Client(config.s3);
  const endpoint = describeEndpoint(config.s3);
  const entry = cacheEntryDir(config.modelCacheDir, uri, config.s3.endpoint);
  const paths = {
    manifest: path.join(entry, 'manifest.json'),
    model: path.join(entry, 'model'),
    partial: path.join(entry, 'partial'),
    extract: path.join(entry, 'extract.tmp'),
  };
  await fsp.mkdir(entry, { recursive: true }).catch((e: unknown) => {
    throw new AppError('Artifact', `cannot create the model cache ${entry} (${errorCode(e) ?? String(e)}): set MODEL_CACHE_DIR to a writable folder (/opt/ml/model is read-only).`, { cause: e });
  });
  const manifest = await readManifest(paths.manifest);
  const cacheOk = async (): Promise<boolean> => manifest !== undefined && manifest.uri === uri && (await filesIntact(paths.model, manifest.files));

  opts.onPhase?.('listing');
  let objects: ListedObject[];
  try {
    objects = loc.kind === 'prefix' ? await listPrefix(client, loc, uri, endpoint) : [await headArchive(client, loc, uri, endpoint)];
  } catch (e) {
    // S3 unreachable but a complete copy is here: serving it beats not starting.
    if (isNetworkError((e as { cause?: unknown }).cause ?? e) && (await cacheOk())) {
      log.warn(`S3 is unreachable (${(e as Error).message}); using the cached copy of ${uri} from ${manifest?.completedAt ?? '?'}`);
      opts.onPhase?.('cached');
      return { dir: paths.model, cached: true, bytes: 0, seconds: 0, transferSeconds: 0, verified: manifest?.verified ?? {} };
    }
    throw e;
  }

  if (manifest && sameObjects(objects, manifest.objects) && (await cacheOk())) {
    log.info(`using the cached copy of ${uri} (${objects.length} objects unchanged since ${manifest.completedAt})`, { dir: paths.model });
    opts.onPhase?.('cached');
    return { dir: paths.model, cached: true, bytes: 0, seconds: 0, transferSeconds: 0, verified: manifest.verified };
  }

  opts.onPhase?.('downloading');
  const filesDir = path.join(paths.partial, loc.kind === 'prefix' ? 'files' : 'archive');
  await fsp.mkdir(filesDir, { recursive: true });
  const state = PartialState.load(path.join(paths.partial, 'state.json'), uri);
  const tasks: ObjectTask[] = objects.map((o) => ({
    bucket: loc.bucket,
    key: o.key,
    size: o.size,
    etag: o.etag,
    uri: formatS3Uri(loc.bucket, o.key),
    file: path.join(filesDir, loc.kind === 'prefix' ? safeRelativePath(o.key.slice(loc.key.length), `S3 key "${o.key}"`) : path.posix.basename(o.key)),
  }));
  await dropStale(filesDir, state, tasks);
  const total = objects.reduce((a, o) => a + o.size, 0);
  await checkFreeSpace(entry, total - tasks.reduce((a, t) => a + (state.get(t.key)?.done.reduce((x, y) => x + y, 0) ?? 0), 0));

  const progress = new Progress(uri, total, log, opts.progressIntervalMs);
  const verified: Record<string, string> = {};
  const timer = downloadSeconds.startTimer();
  let seconds = 0;
  log.info(`downloading ${uri}: ${objects.length} object(s), ${(total / MB).toFixed(1)} MB into ${entry}`);
  progress.start();
  const hasher = new FileHasher();
  try {
    hasher.warmUp();
    const ctx = {
      client,
      endpoint,
      rangeSize: config.s3.partSizeBytes,
      multipartThreshold: config.s3.multipartThresholdBytes,
      rangeConcurrency: config.s3.rangeConcurrency,
      attempts: config.s3.downloadAttempts,
      retryBaseMs: opts.retryBaseMs ?? 500,
      progress,
      hasher,
      state,
      log,
    };
    // Largest first, so a big file does not start last and run alone.
    const largestFirst = [...tasks].sort((a, b) => b.size - a.size);
    await boundedEach(largestFirst, config.s3.objectConcurrency, async (t) => {
      verified[t.key] = (await downloadObject(ctx, t)).describe;
    });
  } finally {
    await hasher.close();
    const done = progress.stop();
    seconds = done.seconds;
    const mbPerSec = done.mbPerSec;
    timer();
    log.info(`fetched ${(progress.fetchedBytes / MB).toFixed(1)} MB of ${uri} in ${seconds.toFixed(1)} s (${mbPerSec.toFixed(1)} MB/s)`);
  }

  let source = filesDir;
  if (loc.kind === 'archive') {
    opts.onPhase?.('extracting');
    await fsp.rm(paths.extract, { recursive: true, force: true });
    const archive = tasks[0]?.file ?? '';
    const r = await extractTar(archive, paths.extract, config.extract);
    log.info(`extracted ${path.basename(archive)}: ${r.files} files, ${(r.bytes / MB).toFixed(1)} MB`);
    source = await findModelRoot(paths.extract);
  }

  // Swap: drop the manifest first, so a crash in between never pairs it with the wrong folder.
  await fsp.rm(paths.manifest, { force: true });
  const old = `${paths.model}.old-${process.pid}`;
  if (await fsp.stat(paths.model).then(() => true, () => false)) await fsp.rename(paths.model, old);
  await fsp.rename(source, paths.model);
  await writeManifest(paths.manifest, { version: 1, uri, kind: loc.kind, objects, files: await listFiles(paths.model), completedAt: new Date().toISOString(), verified });
  await Promise.all([old, paths.partial, paths.extract].map((p) => fsp.rm(p, { recursive: true, force: true })));
  return { dir: paths.model, cached: false, bytes: progress.fetchedBytes, seconds, transferSeconds: progress.transferSeconds, verified };
}

async function listPrefix(client: S3Client, loc: S3Location, uri: string, endpoint: string): Promise<ListedObject[]> {
  const out: ListedObject[] = [];
  let token: string | undefined;
  do {
    const r = await client.send(new ListObjectsV2Command({ Bucket: loc.bucket, Prefix: loc.key, ContinuationToken: token })).catch((e: unknown) => {
      throw s3Error(e, { op: 'ListObjectsV2', uri, bucket: loc.bucket, key: loc.key, endpoint });
    });
    for (const o of r.Contents ?? []) {
      // "folder/" keys are console folder markers, not files.
      if (o.Key && !o.Key.endsWith('/')) out.push({ key: o.Key, size: o.Size ?? 0, etag: o.ETag ?? '' });
    }
    token = r.IsTruncated ? r.NextContinuationToken : undefined;
  } while (token);
  if (out.length === 0) {
    const asObject = loc.key.length > 1 ? await client.send(new HeadObjectCommand({ Bucket: loc.bucket, Key: loc.key.slice(0, -1) })).then(() => true, () => false) : false;
    const hint = asObject ? ` s3://${loc.bucket}/${loc.key.slice(0, -1)} is an object, not a folder: if it is a tar archive, name it .tar.gz.` : '';
    throw new AppError('Artifact', `no objects under ${uri} (ListObjectsV2 on bucket "${loc.bucket}", prefix "${loc.key}", endpoint ${endpoint}). Upload the model there (reranker upload <model-dir> ${uri}) or fix MODEL_URI.${hint}`);
  }
  const seen = new Set<string>();
  for (const o of out) {
    const rel = safeRelativePath(o.key.slice(loc.key.length), `S3 key "${o.key}"`);
    if (seen.has(rel)) throw new AppError('Artifact', `refused S3 key "${o.key}": another key under ${uri} maps to the same path ${rel}`);
    seen.add(rel);
  }
  return out;
}

async function headArchive(client: S3Client, loc: S3Location, uri: string, endpoint: string): Promise<ListedObject> {
  try {
    const h = await client.send(new HeadObjectCommand({ Bucket: loc.bucket, Key: loc.key }));
    return { key: loc.key, size: h.ContentLength ?? 0, etag: h.ETag ?? '' };
  } catch (e) {
    // HEAD answers a bare 404 for both a missing bucket and a missing key; ask the bucket.
    if (errorCode(e) === 'NotFound') {
      const bucketErr = await client.send(new HeadBucketCommand({ Bucket: loc.bucket })).then(() => undefined, (b: unknown) => b);
      if (bucketErr !== undefined && errorCode(bucketErr) === 'NotFound') {
        throw s3Error(Object.assign(new Error('bucket not found'), { name: 'NoSuchBucket', $metadata: { httpStatusCode: 404 } }), { op: 'HeadBucket', uri, bucket: loc.bucket, endpoint });
      }
      throw s3Error(Object.assign(new Error('key not found'), { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } }), { op: 'HeadObject', uri, bucket: loc.bucket, key: loc.key, endpoint });
    }
    throw s3Error(e, { op: 'HeadObject', uri, bucket: loc.bucket, key: loc.key, endpoint });
  }
}

/** Files and state left by a download of another version must not end up in the new folder. */
async function dropStale(filesDir: string, state: PartialState, tasks: readonly ObjectTask[]): Promise<void> {
  const wanted = new Set(tasks.map((t) => t.file));
  const keys = new Set(tasks.map((t) => t.key));
  for (const k of state.keys()) if (!keys.has(k)) await state.delete(k);
  for (const f of await listFiles(filesDir)) {
    const abs = path.join(filesDir, f.path);
    if (!wanted.has(abs)) await fsp.rm(abs, { force: true });
  }
}

async function checkFreeSpace(dir: string, need: number): Promise<void> {
  const st = await fsp.statfs(dir).catch(() => undefined);
  if (!st) return;
  const free = st.bavail * st.bsize;
  if (need > free) {
    throw new AppError('Artifact', `not enough disk space in ${dir}: the download needs ${(need / MB).toFixed(0)} MB more, ${(free / MB).toFixed(0)} MB are free. Set MODEL_CACHE_DIR to a larger volume.`);
  }
}
