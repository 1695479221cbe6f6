/**
 * The cache's record of a complete model folder: which S3 objects (key, size, ETag) it came from
 * and which files (path, size) it holds. A restart reuses the folder only when a fresh listing shows
 * the same objects and every file is still there with its size.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';

export interface ListedObject {
  readonly key: string;
  readonly size: number;
  readonly etag: string;
}

export interface CacheManifest {
  readonly version: 1;
  readonly uri: string;
  readonly kind: 'prefix' | 'archive';
  readonly objects: readonly ListedObject[];
  readonly files: readonly { readonly path: string; readonly size: number }[];
  readonly completedAt: string;
  /** What was verified per object (e.g. "MD5 (ETag)"), for `reranker inspect` and humans. */
  readonly verified: Readonly<Record<string, string>>;
}

export async function readManifest(file: string): Promise<CacheManifest | undefined> {
  try {
    const m = JSON.parse(await fsp.readFile(file, 'utf8')) as CacheManifest;
    return m.version === 1 && Array.isArray(m.objects) && Array.isArray(m.files) ? m : undefined;
  } catch {
    return undefined;
  }
}

export async function writeManifest(file: string, m: CacheManifest): Promise<void> {
  const tmp = `${file}.tmp`;
  await fsp.writeFile(tmp, JSON.stringify(m, null, 2));
  await fsp.rename(tmp, file);
}

const strip = (etag: string): string => etag.replace(/"/g, '').toLowerCase();

export function sameObjects(a: readonly ListedObject[], b: readonly ListedObject[]): boolean {
  if (a.length !== b.length) return false;
  const byKey = new Map(b.map((o) => [o.key, o]));
  return a.every((o) => {
    const other = byKey.get(o.key);
    return other !== undefined && other.size === o.size && strip(other.etag) === strip(o.etag);
  });
}

/** Every recorded file is present with its size (cheap: stat only). */
export async function filesIntact(dir: string, files: CacheManifest['files']): Promise<boolean> {
  for (const f of files) {
    const st = await fsp.stat(path.join(dir, f.path)).catch(() => undefined);
    if (!st?.isFile() || st.size !== f.size) return false;
  }
  return true;
}

/** Regular files under dir as POSIX relative paths with sizes (symlinks are listed, not followed). */
export async function listFiles(dir: string, base = ''): Promise<{ path: string; size: number }[]> {
  const out: { path: string; size: number }[] = [];
  for (const e of await fsp.readdir(path.join(dir, base), { withFileTypes: true })) {
    const rel = base ? `${base}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listFiles(dir, rel)));
    else if (e.isFile()) out.push({ path: rel, size: (await fsp.stat(path.join(dir, rel))).size });
  }
  return out;
}
