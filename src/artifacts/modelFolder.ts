/**
 * What counts as a model folder, and safe relative paths for files that come from S3 keys or
 * archive entries (both are attacker-controlled strings as far as the file system is concerned).
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../errors';

async function names(dir: string): Promise<string[]> {
  try {
    return await fsp.readdir(dir);
  } catch {
    return [];
  }
}

/** Names at the root and under onnx/ (as 'onnx/<name>'): where the spec reader looks. */
async function modelListing(dir: string): Promise<string[]> {
  const root = await names(dir);
  const sub = root.includes('onnx') ? (await names(path.join(dir, 'onnx'))).map((n) => `onnx/${n}`) : [];
  return [...root, ...sub];
}

const isOnnx = (n: string): boolean => n.toLowerCase().endsWith('.onnx');

/** Something SageMaker or the user put there on purpose: config.json, or an .onnx at the root or in onnx/. */
export async function holdsModel(dir: string): Promise<boolean> {
  const listing = await modelListing(dir);
  return listing.includes('config.json') || listing.some(isOnnx);
}

/** What a downloaded model must have to be worth loading; the error says what is missing. */
export async function checkModelFolder(dir: string, from: string): Promise<void> {
  const listing = await modelListing(dir);
  const hasConfig = ['config.json', 'tokenizer.json', 'onnx/config.json', 'onnx/tokenizer.json'].some((n) => listing.includes(n));
  const hasOnnx = listing.some(isOnnx);
  if (hasConfig && hasOnnx) return;
  const missing = [hasConfig ? '' : 'config.json or tokenizer.json', hasOnnx ? '' : 'an .onnx file (at the root or in onnx/)'].filter(Boolean).join(' and ');
  const shown = listing.slice(0, 12).join(', ') + (listing.length > 12 ? `, ... (${listing.length} entries)` : '');
  throw new AppError(
    'Artifact',
    `${from} does not hold a model: missing ${missing} (found: ${shown || 'nothing'}). Export the model to ONNX (e.g. optimum-cli export onnx) and upload the folder with its config.json and tokenizer files.`,
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
