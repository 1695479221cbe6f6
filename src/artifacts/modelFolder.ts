/**
 * What counts as a model folder (judged on the spec reader's own listing, modelSpec/readModelFiles.ts),
 * and safe relative paths for files that come from S3 keys or
 * archive entries (both are attacker-controlled strings as far as the file system is concerned).
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../errors';
import { listModelFolder, type FolderListing } from '../modelSpec/readModelFiles';

/** The spec reader's listing (root and onnx/), or an empty one for a folder that cannot be read. */
async function modelListing(dir: string): Promise<FolderListing> {
  return listModelFolder(dir).catch(() => ({ names: [], onnxFiles: [] }));
}

/** Something SageMaker or the user put there on purpose: config.json, or an .onnx at the root or in onnx/. */
export async function holdsModel(dir: string): Promise<boolean> {
  const listing = await modelListing(dir);
  return listing.names.includes('config.json') || listing.onnxFiles.length > 0;
}

/** Why `dir` is not a folder at all ('does not exist', 'is not a folder'), or undefined when it is one. */
export async function missingFolder(dir: string): Promise<string | undefined> {
  const st = await fsp.stat(dir).catch((e: NodeJS.ErrnoException) => e);
  if (st instanceof Error) return st.code === 'ENOENT' ? 'does not exist' : `cannot be read (${st.code ?? st.message})`;
  return st.isDirectory() ? undefined : 'is not a folder';
}

/**
 * What a downloaded or uploaded model must have to be served, by the same rules the spec reader
 * and the tokenizer workers use: an .onnx and a tokenizer.json (at the root or in onnx/). The
 * error says what is missing.
 */
export async function checkModelFolder(dir: string, from: string): Promise<void> {
  const listing = await modelListing(dir);
  const hasTokenizer = ['tokenizer.json', 'onnx/tokenizer.json'].some((n) => listing.names.includes(n));
  const hasOnnx = listing.onnxFiles.length > 0;
  if (hasTokenizer && hasOnnx) return;
  const missing = [hasTokenizer ? '' : 'tokenizer.json', hasOnnx ? '' : 'an .onnx file'].filter(Boolean).join(' and ');
  const names = listing.names;
  const shown = names.slice(0, 12).join(', ') + (names.length > 12 ? `, ... (${names.length} entries)` : '');
  throw new AppError(
    'Artifact',
    `${from} does not hold a model: missing ${missing} (at the root or in onnx/; found: ${shown || 'nothing'}). Export the model to ONNX (e.g. optimum-cli export onnx) and upload the folder with its config.json and tokenizer files.`,
  );
}

/**
 * The folder inside an extracted archive that holds the model: the root (SageMaker's layout), or
 * the single top-level folder when the archive was made with `tar czf model.tar.gz my-model/`.
 */
export async function findModelRoot(dir: string): Promise<string> {
  if (await holdsModel(dir)) return dir;
  // macOS tar adds ._* resource forks and __MACOSX; they are not a second top-level folder.
  const entries = (await fsp.readdir(dir, { withFileTypes: true })).filter((e) => !e.name.startsWith('._') && e.name !== '__MACOSX' && e.name !== '.DS_Store');
  const only = entries[0];
  if (entries.length === 1 && only?.isDirectory()) {
    const inner = path.join(dir, only.name);
    if (await holdsModel(inner)) return inner;
  }
  return dir;
}

/**
 * A relative POSIX path that stays inside its folder: no absolute path, no '..', no empty or '.'
 * segments, no NUL. `what` names the offending key or entry in the error.
 */
export function safeRelativePath(name: string, what: string): string {
  const fail = (why: string): never => {
    throw new AppError('Artifact', `refused ${what}: ${why}`);
  };
  if (name.includes('\0')) fail('the name contains a NUL byte');
  if (name.startsWith('/') || /^[A-Za-z]:[\\/]/.test(name)) fail('absolute path');
  const segments = name.replace(/^(\.\/)+/, '').split('/').filter((s, i, all) => !(s === '' && i === all.length - 1));
  if (segments.some((s) => s === '..')) fail("path contains '..'");
  if (segments.length === 0 || segments.some((s) => s === '' || s === '.')) fail('empty path segment');
  return segments.join('/');
}

/** `child` is `root` or below it (both absolute, already resolved). */
export function isInside(root: string, child: string): boolean {
  const rel = path.relative(root, child);
  return rel === '' || (rel !== '..' && !rel.startsWith('..' + path.sep) && !path.isAbsolute(rel));
}
