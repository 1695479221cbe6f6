/**
 * Safe extraction of .tar and .tar.gz. Archives come from a bucket that other people can write to,
 * so every entry is checked before anything touches the disk: no absolute paths, no '..', no links
 * that resolve outside the target, no device or FIFO entries, and caps on bytes and entry count
 * against archive bombs. Folders are created one segment at a time through real paths, so even a
 * chain of in-archive symlinks cannot make a write land outside the target. On any failure the
 * target is removed and the error names the offending entry.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import * as tar from 'tar-stream';
import { AppError, messageOf } from '../errors';
import { isInside, safeRelativePath } from './modelFolder';

export interface ExtractLimits {
  /** Total bytes of file data (MAX_EXTRACT_GB). */
  readonly maxBytes: number;
  /** Entries of any kind (MAX_EXTRACT_ENTRIES). */
  readonly maxEntries: number;
}

export interface ExtractResult {
  readonly files: number;
  readonly bytes: number;
  readonly entries: number;
}

class Refused extends AppError {}

async function isGzip(file: string): Promise<boolean> {
  const fh = await fsp.open(file, 'r');
  try {
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(2), 0, 2, 0);
    return bytesRead === 2 && buffer[0] === 0x1f && buffer[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

/** Extracts `archive` into `dest`, which must not exist yet (its parent must). */
export async function extractTar(archive: string, dest: string, limits: ExtractLimits): Promise<ExtractResult> {
  await fsp.mkdir(dest);
  try {
    return await extractInto(archive, await fsp.realpath(dest), limits);
  } catch (e) {
    // fs.rm does not follow symlinks, so links inside dest cannot redirect the clean-up.
    await fsp.rm(dest, { recursive: true, force: true });
    throw e;
  }
}

async function extractInto(archive: string, root: string, limits: ExtractLimits): Promise<ExtractResult> {
  const label = path.basename(archive);
  const refuse = (entry: string, why: string): never => {
    throw new Refused('Artifact', `refused archive ${label}: entry "${entry}" ${why}; nothing was extracted`);
  };
  const gz = await isGzip(archive);
  // Tar framing adds at most a few blocks per entry; anything beyond is padding or a bomb.
  const rawCap = limits.maxBytes + limits.maxEntries * 1536 + 64 * 1024 * 1024;
  let raw = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      raw += chunk.length;
      if (raw > rawCap) cb(new Refused('Artifact', `refused archive ${label}: it expands beyond ${rawCap} bytes (MAX_EXTRACT_GB)`));
      else cb(null, chunk);
    },
  });
  const extractor = tar.extract();
  const input = fs.createReadStream(archive);
  const piping = pipeline(gz ? [input, zlib.createGunzip(), counter, extractor] : [input, counter, extractor]);
  piping.catch(() => undefined); // observed below; avoids an unhandled rejection while the loop runs

  let entries = 0;
  let files = 0;
  let bytes = 0;
  let dataEnd = 0;
  const links: { name: string; at: string }[] = [];
  try {
    for await (const entry of extractor) {
      const h = entry.header;
      const name = h.name;
      dataEnd = Math.max(dataEnd, ((h as { byteOffset?: number }).byteOffset ?? 0) + Math.ceil((h.size ?? 0) / 512) * 512);
      if (++entries > limits.maxEntries) refuse(name, `is past the limit of ${limits.maxEntries} entries (MAX_EXTRACT_ENTRIES)`);
      if (h.type === 'directory' && /^(\.\/?)*$/.test(name)) {
        entry.resume();
        continue;
      }
      const rel = safeRelativePath(name, `archive ${label}: entry "${name}"`);
      const parent = await ensureDir(root, path.posix.dirname(rel), name, refuse);
      const target = path.join(parent, path.posix.basename(rel));
      switch (h.type) {
        case 'directory':
          await ensureDir(root, rel, name, refuse);
          entry.resume();
          break;
        case 'file':
        case 'contiguous-file': {
          const size = h.size ?? 0;
          if (bytes + size > limits.maxBytes) refuse(name, `would take the extracted size past ${limits.maxBytes} bytes (MAX_EXTRACT_GB)`);
          await clearForFile(target, name, refuse);
          const mode = (h.mode ?? 0o644) & 0o111 ? 0o755 : 0o644;
          // 'wx' (O_EXCL) refuses to follow anything that appeared at the target in the meantime.
          await pipeline(entry, fs.createWriteStream(target, { flags: 'wx', mode }));
          bytes += size;
          files++;
          break;
        }
        case 'symlink': {
          const to = h.linkname ?? '';
          if (to === '' || path.isAbsolute(to)) refuse(name, `is a symlink to an absolute path (${to || 'empty'})`);
          if (!isInside(root, path.resolve(path.dirname(path.join(root, rel)), to))) refuse(name, `is a symlink that points outside the target (${to})`);
          await clearForFile(target, name, refuse);
          await fsp.symlink(to, target);
          links.push({ name, at: target });
          entry.resume();
          break;
        }
        case 'link': {
          // Hard links name their source from the archive root. Copying keeps the source's inode private.
          const srcRel = safeRelativePath(h.linkname ?? '', `archive ${label}: hard link "${name}" -> "${h.linkname ?? ''}"`);
          const src = await fsp.realpath(path.join(root, srcRel)).catch(() => refuse(name, `is a hard link to a missing entry (${srcRel})`));
          if (!isInside(root, src)) refuse(name, `is a hard link that resolves outside the target (${h.linkname ?? ''})`);
          const st = await fsp.stat(src);
          if (!st.isFile()) refuse(name, `is a hard link to something that is not a regular file (${srcRel})`);
          if (bytes + st.size > limits.maxBytes) refuse(name, `would take the extracted size past ${limits.maxBytes} bytes (MAX_EXTRACT_GB)`);
          await clearForFile(target, name, refuse);
          await fsp.copyFile(src, target, fs.constants.COPYFILE_EXCL);
          bytes += st.size;
          files++;
          entry.resume();
          break;
        }
        case 'character-device':
        case 'block-device':
        case 'fifo':
          refuse(name, `is a ${h.type} entry; only files, folders and links are allowed`);
          break;
        default:
          refuse(name, `has an unsupported type (${String(h.type)})`);
      }
    }
    await piping;
  } catch (e) {
    input.destroy();
    extractor.destroy();
    await piping.catch(() => undefined);
    if (e instanceof AppError) throw e;
    throw corrupt(label, gz, e);
  }
  // A tar ends with zero blocks; without them the archive was cut at an entry boundary.
  if (raw - dataEnd < 512) {
    throw new AppError('Artifact', `archive ${label} is truncated: it ends without the tar end-of-archive marker (${raw} bytes read). Re-create and re-upload it.`);
  }
  // Each link was checked alone; a chain of links (a -> ., b -> a/..) can still lead out.
  for (const l of links) {
    const real = await fsp.realpath(l.at).catch(() => undefined);
    if (real !== undefined && !isInside(root, real)) refuse(l.name, 'is a symlink that resolves outside the target through other links');
  }
  return { files, bytes, entries };
}

function corrupt(label: string, gz: boolean, e: unknown): AppError {
  const code = (e as { code?: unknown } | undefined)?.code;
  const how = 'Re-create it with "tar czf model.tar.gz -C model-dir ." and upload it again.';
  if (gz && typeof code === 'string' && code.startsWith('Z_')) {
    return new AppError('Artifact', `archive ${label} is not a valid gzip stream (truncated or corrupt: ${messageOf(e)}). ${how}`, { cause: e });
  }
  return new AppError('Artifact', `archive ${label} is truncated or not a tar archive (${messageOf(e)}). ${how}`, { cause: e });
}

/** Creates rel (a folder path) under root one segment at a time; returns its real path. */
async function ensureDir(root: string, rel: string, entry: string, refuse: (e: string, why: string) => never): Promise<string> {
  let cur = root;
  if (rel === '.' || rel === '') return cur;
  for (const seg of rel.split('/')) {
    const next = path.join(cur, seg);
    const st = await fsp.lstat(next).catch(() => undefined);
    if (st === undefined) {
      await fsp.mkdir(next);
      cur = next;
    } else if (st.isSymbolicLink()) {
      const real = await fsp.realpath(next).catch(() => refuse(entry, `goes through a broken symlink (${seg})`));
      if (!isInside(root, real)) refuse(entry, `goes through a symlink that leads outside the target (${seg})`);
      if (!(await fsp.stat(real)).isDirectory()) refuse(entry, `goes through "${seg}", which is not a folder`);
      cur = real;
    } else if (st.isDirectory()) {
      cur = next;
    } else {
      refuse(entry, `goes through "${seg}", which is not a folder`);
    }
  }
  return cur;
}

/** A later entry may replace an earlier file or link (tar semantics), never a folder. */
async function clearForFile(target: string, entry: string, refuse: (e: string, why: string) => never): Promise<void> {
  const st = await fsp.lstat(target).catch(() => undefined);
  if (st === undefined) return;
  if (st.isDirectory()) refuse(entry, 'would replace a folder');
  await fsp.unlink(target); // unlink removes a link itself, never what it points to
}
