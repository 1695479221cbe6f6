/**
 * One S3 object to one file: parallel ranged GETs for large objects, bytes kept across failures
 * (a retry or a restart asks only for what is missing), bounded retries with backoff, and
 * verification by a digest computed in a worker while the ranges arrive.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { boundedEach } from '../boundedEach';
import { AppError } from '../errors';
import type { Logger } from '../log';
import type { FileHasher, HashJob } from './fileHasher';
import type { ObjectProgress, PartialState } from './partialState';
import { downloadRetries, type Progress } from './progress';
import { planRanges } from './rangePlan';
import { RangeWriter } from './rangeWriter';
import { errorCode, isRetryable, s3Error } from './s3Errors';
import { multipartCount, normalizeEtag, planVerification, type VerifyPlan } from './verifyPlan';

export interface ObjectTask {
  readonly bucket: string;
  readonly key: string;
  readonly size: number;
  /** As listed (quotes included); also sent as If-Match so a replaced object cannot mix in. */
  readonly etag: string;
  readonly file: string;
  /** s3:// URI of the object, for messages. */
  readonly uri: string;
}

export interface ObjectContext {
  readonly client: S3Client;
  readonly endpoint: string;
  readonly rangeSize: number;
  readonly multipartThreshold: number;
  readonly rangeConcurrency: number;
  /** Consecutive failed attempts without progress before giving up. */
  readonly attempts: number;
  readonly retryBaseMs: number;
  readonly progress: Progress;
  readonly hasher: FileHasher;
  readonly state: PartialState;
  readonly log: Logger;
}

const MAX_BACKOFF_MS = 15_000;
/** How far the complete prefix must grow before the hash worker is told. */
const HASH_STEP = 4 * 1024 * 1024;

class Retryable extends Error {
  readonly retryable = true;
}

function changed(task: ObjectTask, what: string): AppError {
  return new AppError('Artifact', `${task.uri} changed during the download (${what}); start again to fetch the current version, and do not overwrite artifacts a running endpoint uses.`);
}

/** Downloads and verifies `task.file`; returns what was verified. */
export async function downloadObject(ctx: ObjectContext, task: ObjectTask): Promise<VerifyPlan> {
  const plan = await headPlan(ctx, task);
  for (let fresh = false; ; fresh = true) {
    const r = await fetchAndVerify(ctx, task, plan, fresh);
    if (r === undefined) return plan;
    if (fresh || r.resumed === 0) {
      throw new AppError(
        'Artifact',
        `${task.uri} failed verification: ${plan.describe} of the downloaded ${task.size} bytes is ${r.got}, S3 says ${plan.expected ?? '?'}. The object in S3 is corrupt or was replaced while it was read; upload it again.`,
      );
    }
    ctx.log.warn(`${task.uri}: the resumed file failed verification (${plan.describe}); downloading it again from the start`);
  }
}

async function headPlan(ctx: ObjectContext, task: ObjectTask): Promise<VerifyPlan> {
  const where = { uri: task.uri, bucket: task.bucket, key: task.key, endpoint: ctx.endpoint };
  const head = await ctx.client
    .send(new HeadObjectCommand({ Bucket: task.bucket, Key: task.key, ChecksumMode: 'ENABLED' }))
    .catch((e: unknown) => {
      throw s3Error(e, { ...where, op: 'HeadObject' });
    });
  if (head.ContentLength !== task.size) throw changed(task, `listed with ${task.size} bytes, now ${String(head.ContentLength)}`);
  if (head.ETag !== undefined && normalizeEtag(head.ETag) !== normalizeEtag(task.etag)) throw changed(task, `ETag ${task.etag} became ${head.ETag}`);
  let part1: number | undefined;
  if (multipartCount(task.etag) !== undefined) {
    // Best effort: a store without part-level HEAD just leaves the multipart ETag unverified.
    part1 = await ctx.client
      .send(new HeadObjectCommand({ Bucket: task.bucket, Key: task.key, PartNumber: 1 }))
      .then((h) => h.ContentLength)
      .catch(() => undefined);
  }
  return planVerification(task.etag, task.size, head, part1);
}

/** undefined when the file is complete and verified; else the mismatching digest. */
async function fetchAndVerify(ctx: ObjectContext, task: ObjectTask, plan: VerifyPlan, fresh: boolean): Promise<{ got: string; resumed: number } | undefined> {
  const starts = planRanges(task.size, ctx.rangeSize, ctx.multipartThreshold);
  const n = starts.length;
  const etag = normalizeEtag(task.etag);
  const old = fresh ? undefined : ctx.state.get(task.key);
  const onDisk = await fsp.stat(task.file).then((s) => s.size, () => -1);
  let prog: ObjectProgress;
  if (old && old.etag === etag && old.size === task.size && old.starts.length === n && old.starts.every((v, i) => v === starts[i]) && old.done.length === n && onDisk === task.size) {
    prog = old;
  } else {
    await fsp.mkdir(path.dirname(task.file), { recursive: true });
    const fh = await fsp.open(task.file, 'w');
    await fh.truncate(task.size);
    await fh.close();
    prog = { etag, size: task.size, starts, done: new Array<number>(n).fill(0), verified: false };
    await ctx.state.set(task.key, prog);
  }
  const resumed = prog.done.reduce((a, b) => a + b, 0);
  ctx.progress.resumed(resumed);
  if (prog.verified) return undefined;

  const rangeLen = (i: number): number => (starts[i + 1] ?? task.size) - (starts[i] ?? 0);
  const job = plan.spec ? ctx.hasher.start(task.file, plan.spec) : undefined;
  // The hash worker reads the file's complete prefix: whole ranges, then what the first unfinished
  // range has written so far. Posted in steps so a sequential download is hashed as it arrives.
  let posted = -1;
  const advance = (force: boolean): void => {
    if (!job) return;
    let i = 0;
    while (i < n && prog.done[i] === rangeLen(i)) i++;
    const upTo = i < n ? (starts[i] ?? 0) + (prog.done[i] ?? 0) : task.size;
    if (upTo > posted && (force || upTo - posted >= HASH_STEP)) {
      job.advance(upTo);
      posted = upTo;
    }
  };
  advance(true);
  const fh = await fsp.open(task.file, 'r+');
  try {
    await withRetries(ctx, task, prog, async () => fetchRanges(ctx, task, prog, fh.fd, rangeLen, advance));
  } catch (e) {
    job?.cancel();
    throw e;
  } finally {
    await fh.close();
  }
  if (job && plan.expected !== undefined) {
    const got = await job.finish();
    if (got !== plan.expected) {
      await ctx.state.delete(task.key);
      await fsp.rm(task.file, { force: true });
      ctx.progress.discard(task.size);
      return { got, resumed };
    }
  }
  prog.verified = true;
  await ctx.state.set(task.key, prog);
  return undefined;
}

async function withRetries(ctx: ObjectContext, task: ObjectTask, prog: ObjectProgress, attempt: () => Promise<void>): Promise<void> {
  const where = { op: 'GetObject', uri: task.uri, bucket: task.bucket, key: task.key, endpoint: ctx.endpoint };
  const have = (): number => prog.done.reduce((a, b) => a + b, 0);
  let failures = 0;
  for (;;) {
    const before = have();
    try {
      return await attempt();
    } catch (e) {
      if (!isRetryable(e)) throw s3Error(e, where);
      // Progress resets the count: the limit is on attempts that bring nothing.
      failures = have() > before ? 1 : failures + 1;
      if (failures >= ctx.attempts) {
        const base = s3Error(e, where);
        throw new AppError('Artifact', `${base.message} Gave up after ${ctx.attempts} attempts without progress; ${have()} of ${task.size} bytes are kept in the cache for the next start.`, { cause: e });
      }
      const delay = Math.min(MAX_BACKOFF_MS, ctx.retryBaseMs * 2 ** (failures - 1)) * (0.8 + 0.4 * Math.random());
      downloadRetries.inc();
      ctx.log.warn(`download of ${task.uri} interrupted (${errorCode(e) ?? (e instanceof Error ? e.message : String(e))}); ${task.size - have()} bytes left, retrying in ${Math.round(delay)} ms (attempt ${failures + 1} of ${ctx.attempts})`);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

async function fetchRanges(ctx: ObjectContext, task: ObjectTask, prog: ObjectProgress, fd: number, rangeLen: (i: number) => number, advance: (force: boolean) => void): Promise<void> {
  const pending = prog.done.map((d, i) => (d < rangeLen(i) ? i : -1)).filter((i) => i >= 0);
  await boundedEach(
    pending,
    ctx.rangeConcurrency,
    async (i) => {
      await fetchRange(ctx, task, prog, fd, i, rangeLen(i), advance);
      advance(true);
      ctx.state.saveSoon();
    },
    () => ctx.state.save(),
  );
}

async function fetchRange(ctx: ObjectContext, task: ObjectTask, prog: ObjectProgress, fd: number, i: number, len: number, advance: (force: boolean) => void): Promise<void> {
  const start = prog.starts[i] ?? 0;
  const from = start + (prog.done[i] ?? 0);
  const end = start + len - 1;
  const want = end - from + 1;
  // A plain GET of a whole object lets the SDK check S3's full-object checksum on AWS as well.
  const whole = from === 0 && len === task.size;
  let res;
  try {
    res = await ctx.client.send(new GetObjectCommand({ Bucket: task.bucket, Key: task.key, IfMatch: task.etag, ...(whole ? {} : { Range: `bytes=${from}-${end}` }) }));
  } catch (e) {
    const code = errorCode(e);
    if (code === 'PreconditionFailed') throw changed(task, 'its ETag no longer matches');
    if (code === 'InvalidRange') throw changed(task, `bytes ${from}-${end} no longer exist`);
    throw e;
  }
  const body = res.Body as Readable | undefined;
  if (!body) throw new Retryable(`GetObject ${task.uri} returned no body`);
  if (res.ETag !== undefined && normalizeEtag(res.ETag) !== prog.etag) {
    body.destroy();
    throw changed(task, `ETag ${task.etag} became ${res.ETag}`);
  }
  const range = whole ? undefined : /^bytes (\d+)-(\d+)\/(\d+)$/.exec(res.ContentRange ?? '');
  if (whole ? res.ContentLength !== want : !range || Number(range[1]) !== from || Number(range[2]) !== end || Number(range[3]) !== task.size) {
    body.destroy();
    throw changed(task, whole ? `expected ${task.size} bytes, the response has ${String(res.ContentLength)}` : `asked for bytes ${from}-${end}/${task.size}, got ${res.ContentRange ?? 'no Content-Range'}`);
  }
  const writer = new RangeWriter(fd, from, want, (n) => {
    // Counted only once on disk: that is what a retry or a restart can keep.
    prog.done[i] = (prog.done[i] ?? 0) + n;
    ctx.progress.add(n);
    advance(false);
  });
  try {
    await pipeline(body, writer);
  } finally {
    await writer.settled();
  }
  if (writer.written < want) throw new Retryable(`${task.uri}: the response ended after ${writer.written} of ${want} bytes`);
}
