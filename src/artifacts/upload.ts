/**
 * `reranker upload`: a model folder to S3 the way SageMaker reads it back, either an uncompressed
 * prefix (each file at prefix + relative path) or a model.tar.gz with the files at the archive root.
 * Large files go up as multipart uploads (lib-storage), with bounded memory (partSize x queueSize).
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import * as tar from 'tar-stream';
import { boundedEach } from '../boundedEach';
import type { S3Options } from '../config';
import { AppError } from '../errors';
import { logger } from '../log';
import { checkModelFolder } from './modelFolder';
import { createS3Client, describeEndpoint } from './s3Client';
import { s3Error } from './s3Errors';
import { formatS3Uri, parseS3Uri } from './s3Uri';

const log = logger('upload');

export interface UploadOptions {
  /** One model.tar.gz (files at the archive root) instead of an uncompressed prefix. */
  readonly tar: boolean;
  readonly client?: S3Client;
  /** The S3 settings (endpoint, region, part size, concurrency): config.ts settingsOf().artifacts.s3. */
  readonly s3: S3Options;
}

export interface UploadResult {
  /** The value to use as MODEL_URI. */
  readonly uri: string;
  readonly files: number;
  readonly bytes: number;
}

interface LocalFile {
  readonly rel: string;
  readonly abs: string;
  readonly size: number;
  readonly mtime: Date;
}

export async function uploadModel(dir: string, uri: string, opts: UploadOptions): Promise<UploadResult> {
  const root = path.resolve(dir);
  await checkModelFolder(root, root);
  const s3 = opts.s3;
  const client = opts.client ?? createS3Client(s3);
  const loc = parseS3Uri(uri);
  if (loc.kind === 'archive' && !opts.tar) {
    throw new AppError('Config', `${uri} names an archive: add --tar to upload a model.tar.gz, or give a prefix (s3://bucket/prefix/) for an uncompressed upload`);
  }
  const files = await walk(root);
  const bytes = files.reduce((a, f) => a + f.size, 0);
  const partSize = Math.max(5 * 1024 * 1024, s3.partSizeBytes);
  const where = { bucket: loc.bucket, endpoint: describeEndpoint(s3), write: true, op: 'PutObject' };

  if (opts.tar) {
    const key = loc.kind === 'archive' ? loc.key : `${loc.key}model.tar.gz`;
    const target = formatS3Uri(loc.bucket, key);
    const pack = tar.pack();
    // Level 1: ONNX weights barely compress, and SageMaker has to inflate whatever we deflate.
    const gz = zlib.createGzip({ level: 1 });
    const upload = new Upload({ client, params: { Bucket: loc.bucket, Key: key, Body: pack.pipe(gz), ContentType: 'application/gzip' }, partSize, queueSize: 4 });
    const packing = (async () => {
      for (const f of files) {
        await new Promise<void>((resolve, reject) => {
          const entry = pack.entry({ name: f.rel, size: f.size, mode: 0o644, mtime: f.mtime, type: 'file' }, (err) => (err ? reject(err) : resolve()));
          pipeline(fs.createReadStream(f.abs), entry).catch(reject);
        });
      }
      pack.finalize();
    })();
    try {
      await Promise.all([packing, upload.done()]);
    } catch (e) {
      pack.destroy();
      await upload.abort().catch(() => undefined);
      throw s3Error(e, { ...where, uri: target, key });
    }
    log.info(`uploaded ${files.length} files (${bytes} bytes) as ${target}`);
    return { uri: target, files: files.length, bytes };
  }

  const prefixUri = formatS3Uri(loc.bucket, loc.key);
  await warnAboutOthers(client, loc.bucket, loc.key, new Set(files.map((f) => loc.key + f.rel)), prefixUri);
  const largestFirst = [...files].sort((a, b) => b.size - a.size);
  await boundedEach(largestFirst, s3.objectConcurrency, async (f) => {
    const key = loc.key + f.rel;
    try {
      await new Upload({ client, params: { Bucket: loc.bucket, Key: key, Body: fs.createReadStream(f.abs), ContentLength: f.size }, partSize, queueSize: 4 }).done();
    } catch (e) {
      throw s3Error(e, { ...where, uri: formatS3Uri(loc.bucket, key), key });
    }
  });
  log.info(`uploaded ${files.length} files (${bytes} bytes) under ${prefixUri}`);
  return { uri: prefixUri, files: files.length, bytes };
}

/** Regular files (and links to files) under root, as POSIX paths relative to it. */
async function walk(root: string, base = ''): Promise<LocalFile[]> {
  const out: LocalFile[] = [];
  for (const e of await fsp.readdir(path.join(root, base), { withFileTypes: true })) {
    const rel = base ? `${base}/${e.name}` : e.name;
    const abs = path.join(root, rel);
    if (e.isDirectory()) {
      out.push(...(await walk(root, rel)));
    } else if (e.isFile() || e.isSymbolicLink()) {
      const st = await fsp.stat(abs).catch(() => undefined);
      if (st?.isFile()) out.push({ rel, abs, size: st.size, mtime: st.mtime });
    }
  }
  return out;
}

/** Objects already under the prefix would be served along with the new files; say so. */
async function warnAboutOthers(client: S3Client, bucket: string, prefix: string, keys: Set<string>, uri: string): Promise<void> {
  const r = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, MaxKeys: 1000 })).catch(() => undefined);
  const others = (r?.Contents ?? []).map((o) => o.Key ?? '').filter((k) => k !== '' && !k.endsWith('/') && !keys.has(k));
  if (others.length > 0) {
    log.warn(`${uri} already holds ${others.length} other object(s) that the server will download too: ${others.slice(0, 5).join(', ')}${others.length > 5 ? ', ...' : ''}. Delete them or use a fresh prefix.`);
  }
}
