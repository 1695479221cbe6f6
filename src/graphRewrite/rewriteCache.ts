/**
 * Applies the yes/no rewrite once per source graph: the result is cached under
 * <MODEL_CACHE_DIR>/rewritten/<key>/model.onnx, the key being the sha256 of the source .onnx with
 * the token ids and the rewrite's version, so a restart reuses it and a changed model never does.
 * External data files are linked (or, across file systems, copied) next to the rewritten graph:
 * ONNX Runtime only reads external data from the graph's own folder and refuses symlinks out of it.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { externalLocations, tensorData } from '../onnxproto/tensorData';
import { fileSource } from '../onnxproto/wireReader';
import { readLayout } from './onnxLayout';
import { planYesNoRewrite, type Segment, type TensorReader, YES_NO_OUTPUT } from './yesNoHead';

/** Bump when the rewritten bytes change for the same input. */
export const REWRITE_VERSION = '2';

export interface RewriteRequest {
  /** absolute path of the source .onnx */
  readonly modelFile: string;
  /** [true] or [true, false] */
  readonly tokenIds: readonly number[];
  readonly cacheDir: string;
  readonly logitsName?: string;
  readonly maskName?: string;
}

export type RewriteOutcome =
  | { readonly rewritten: true; readonly modelPath: string; readonly outputName: string; readonly how: string; readonly cached: boolean; readonly externalFiles: readonly string[] }
  | { readonly rewritten: false; readonly reason: string };

async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 22 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

export async function rewriteForYesNo(req: RewriteRequest): Promise<RewriteOutcome> {
  const sourceHash = await sha256File(req.modelFile);
  const key = createHash('sha256').update(`${sourceHash}|${req.tokenIds.join(',')}|${req.logitsName ?? 'logits'}|v${REWRITE_VERSION}`).digest('hex').slice(0, 32);
  const dir = path.join(req.cacheDir, 'rewritten', key);
  const target = path.join(dir, 'model.onnx');
  const fd = fs.openSync(req.modelFile, 'r');
  try {
    const layout = readLayout(fileSource(fd, fs.fstatSync(fd).size));
    const plan = planYesNoRewrite(layout, req.tokenIds, req.logitsName, req.maskName, tensorReader(fd, path.dirname(req.modelFile)));
    if (!plan.ok) return { rewritten: false, reason: plan.reason };
    const externalFiles = [...new Set([...layout.initializers.values()].flatMap(externalLocations))];
    if (fs.existsSync(target)) return { rewritten: true, modelPath: target, outputName: YES_NO_OUTPUT, how: plan.how, cached: true, externalFiles };
    await fsp.mkdir(dir, { recursive: true });
    for (const loc of externalFiles) await placeBeside(path.resolve(path.dirname(req.modelFile), loc), path.join(dir, loc));
    const tmp = `${target}.tmp-${process.pid}`;
    writeSegments(fd, plan.segments, tmp);
    // The rename is the completion mark: a crash mid-write leaves only a .tmp file behind.
    await fsp.rename(tmp, target);
    return { rewritten: true, modelPath: target, outputName: YES_NO_OUTPUT, how: plan.how, cached: false, externalFiles };
  } finally {
    fs.closeSync(fd);
  }
}

/** Reads bytes of a tensor from the model file (raw_data) or its external data file. */
function tensorReader(modelFd: number, modelDir: string): TensorReader {
  return (t, byteOffset, length) => {
    const d = tensorData(t);
    if (!d) throw new Error(`tensor ${t.name} has no raw or external data`);
    const buf = Buffer.alloc(length);
    let fd = modelFd;
    const base = d.offset;
    if (d.kind === 'external') {
      const file = path.resolve(modelDir, d.location);
      if (path.relative(modelDir, file).startsWith('..')) throw new Error(`external data ${d.location} is outside the model folder`);
      fd = fs.openSync(file, 'r');
    }
    try {
      const n = fs.readSync(fd, buf, 0, length, base + byteOffset);
      if (n !== length) throw new Error(`tensor ${t.name}: short read at ${base + byteOffset}`);
    } finally {
      if (fd !== modelFd) fs.closeSync(fd);
    }
    return new Uint8Array(buf.buffer, buf.byteOffset, length);
  };
}

async function placeBeside(source: string, dest: string): Promise<void> {
  await fsp.mkdir(path.dirname(dest), { recursive: true });
  const have = await fsp.stat(dest).then((s) => s.size, () => -1);
  const want = (await fsp.stat(source)).size;
  if (have === want) return;
  await fsp.rm(dest, { force: true });
  try {
    await fsp.link(source, dest);
  } catch {
    const tmp = `${dest}.tmp-${process.pid}`;
    await fsp.copyFile(source, tmp);
    await fsp.rename(tmp, dest);
  }
}

function writeSegments(src: number, segments: readonly Segment[], file: string): void {
  const out = fs.openSync(file, 'w');
  const buf = Buffer.allocUnsafe(1 << 24);
  try {
    for (const s of segments) {
      if (s instanceof Uint8Array) {
        fs.writeSync(out, s);
        continue;
      }
      for (let pos = s.start; pos < s.end; ) {
        const n = fs.readSync(src, buf, 0, Math.min(buf.length, s.end - pos), pos);
        if (n <= 0) throw new Error(`source model ended early at byte ${pos}`);
        fs.writeSync(out, buf, 0, n);
        pos += n;
      }
    }
  } finally {
    fs.closeSync(out);
  }
}
