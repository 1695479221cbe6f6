/**
 * The one reader of a model folder: finds every file once and parses it into ModelFiles (parsed,
 * not interpreted), so that buildSpec stays a pure function every real config can be unit-tested
 * against, and the tokenizer workers and the engine load exactly the files the spec was built from.
 * artifacts/modelFolder.ts judges downloaded folders with the same listing (listModelFolder).
 *
 * Layouts accepted: everything at the root (optimum, sentence-transformers), or the graph under
 * onnx/ (transformers.js: onnx/model.onnx, onnx/model_quantized.onnx, ...). JSON files are looked
 * up at the root first, then next to the chosen .onnx (some exports ship a self-contained onnx/),
 * then in onnx/ (a folder whose every file is under onnx/).
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import { AppError, messageOf } from '../errors';
import { isRecord } from './jsonFields';
import { readOnnxGraph } from './onnxGraph';
import { readDecoderFiles } from './readDecoderFiles';
import type { ModelFiles, ModelJsonKey, OnnxFileEntry, OnnxGraphInfo } from './types';
import { chooseVariant, listVariants, type CpuFeatures, type DtypeRequest } from './variants';

export interface ReadModelFilesOptions {
  /** Relative path of the .onnx to use (MODEL_ONNX_FILE), e.g. 'onnx/model_quantized.onnx'. */
  readonly onnxFile?: string;
  /** MODEL_DTYPE: choose among the folder's variants (variants.ts) when onnxFile is not given. */
  readonly dtype?: { readonly request: DtypeRequest; readonly device: string; readonly cpu: CpuFeatures };
}

/** ModelFiles keys and the file each one comes from. */
const JSON_FILES: Readonly<Record<Exclude<ModelJsonKey, 'modules'>, string>> = {
  config: 'config.json',
  tokenizerJson: 'tokenizer.json',
  tokenizerConfig: 'tokenizer_config.json',
  specialTokensMap: 'special_tokens_map.json',
  sentenceTransformersConfig: 'config_sentence_transformers.json',
  sentenceBertConfig: 'sentence_bert_config.json',
};

/** What a folder holds, without parsing anything: shared with artifacts/modelFolder.ts. */
export interface FolderListing {
  /** Names at the top level and under onnx/ ('onnx/<name>'); folders end with '/'. */
  readonly names: readonly string[];
  /** Every .onnx at the root, under onnx/ and one folder below onnx/, with sizes. */
  readonly onnxFiles: readonly OnnxFileEntry[];
}

export async function readModelFiles(dir: string, options: ReadModelFilesOptions = {}): Promise<ModelFiles> {
  let found: FolderListing;
  try {
    found = await listModelFolder(dir);
  } catch (e) {
    throw new AppError('Model', `model folder ${dir} cannot be read: ${messageOf(e)}`, { cause: e });
  }
  const listing = found.names;
  const variants = listVariants(listing, await onnxSizes(dir, listing));
  const variant = options.onnxFile === undefined && options.dtype ? chooseVariant(variants, options.dtype.request, options.dtype.device, options.dtype.cpu) : undefined;
  const onnxFile = options.onnxFile !== undefined ? await checkChosenOnnx(dir, options.onnxFile, found.onnxFiles) : options.dtype ? variant?.file : pickOnnx(dir, listing);
  const onnxDir = onnxFile !== undefined ? path.posix.dirname(onnxFile) : '.';
  const has = new Set(listing);
  const locate = (name: string): string | undefined => {
    const beside = onnxDir === '.' ? name : `${onnxDir}/${name}`;
    return [name, beside, `onnx/${name}`].find((rel) => has.has(rel));
  };

  const out: { -readonly [K in keyof ModelFiles]: ModelFiles[K] } = { dir, listing, onnxFiles: found.onnxFiles, paths: {}, variants, ...(variant ? { variant } : {}) };
  const paths: Partial<Record<ModelJsonKey, string>> = {};
  for (const [key, name] of Object.entries(JSON_FILES) as Array<[Exclude<ModelJsonKey, 'modules'>, string]>) {
    const rel = locate(name);
    if (rel === undefined) continue;
    const value = await readJson(dir, rel);
    if (!isRecord(value)) throw new AppError('Model', `${rel} in ${dir} must hold a JSON object`);
    out[key] = value;
    paths[key] = rel;
  }
  const modulesRel = locate('modules.json');
  if (modulesRel !== undefined) {
    const value = await readJson(dir, modulesRel);
    if (!Array.isArray(value)) throw new AppError('Model', `${modulesRel} in ${dir} must hold a JSON array`);
    out.modules = value;
    paths.modules = modulesRel;
  }
  out.paths = paths;
  if (onnxFile !== undefined) {
    out.onnxFile = onnxFile;
    out.graph = readGraph(dir, onnxFile);
  }
  out.decoder = await readDecoderFiles(dir, listing, out.modules);
  return out;
}

/**
 * Names at the top level and under onnx/ (as 'onnx/<name>'); folders end with '/', so a
 * sentence-transformers `1_Pooling/` shows up even when modules.json is missing. Rejects when `dir`
 * cannot be read (missing, not a folder).
 */
export async function listModelFolder(dir: string): Promise<FolderListing> {
  const top = await fsp.readdir(dir, { withFileTypes: true });
  const names: string[] = [];
  const onnx: string[] = [];
  const isOnnx = (n: string): boolean => n.toLowerCase().endsWith('.onnx');
  for (const e of top) {
    names.push(e.isDirectory() ? `${e.name}/` : e.name);
    if (!e.isDirectory() && isOnnx(e.name)) onnx.push(e.name);
    if (e.isDirectory() && e.name === 'onnx') {
      for (const sub of await fsp.readdir(path.join(dir, 'onnx'), { withFileTypes: true })) {
        names.push(sub.isDirectory() ? `onnx/${sub.name}/` : `onnx/${sub.name}`);
        if (!sub.isDirectory() && isOnnx(sub.name)) onnx.push(`onnx/${sub.name}`);
        // Variant folders (onnx/int8/model.onnx): listed for whoever picks among variants.
        if (sub.isDirectory()) {
          const deeper = await fsp.readdir(path.join(dir, 'onnx', sub.name), { withFileTypes: true }).catch(() => []);
          for (const f of deeper) if (!f.isDirectory() && isOnnx(f.name)) onnx.push(`onnx/${sub.name}/${f.name}`);
        }
      }
    }
  }
  const onnxFiles = await Promise.all(
    onnx.sort().map(async (rel) => ({ path: rel, bytes: await fsp.stat(path.join(dir, rel)).then((st) => st.size, () => 0) })),
  );
  return { names: names.sort(), onnxFiles };
}

/** Sizes of the .onnx files (inspect and the start-up line show them). */
async function onnxSizes(dir: string, listing: readonly string[]): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  for (const n of listing) {
    if (!n.endsWith('.onnx')) continue;
    const st = await fsp.stat(path.join(dir, n)).catch(() => undefined);
    if (st?.isFile()) sizes.set(n, st.size);
  }
  return sizes;
}

/** MODEL_ONNX_FILE may point anywhere inside the folder (not only the listed levels). */
async function checkChosenOnnx(dir: string, chosen: string, onnxFiles: readonly OnnxFileEntry[]): Promise<string> {
  const rel = path.posix.normalize(chosen.split(path.sep).join('/')).replace(/^\.\//, '');
  if (path.posix.isAbsolute(rel) || rel === '..' || rel.startsWith('../')) {
    throw new AppError('Config', `MODEL_ONNX_FILE=${chosen} must be a path inside the model folder`);
  }
  const isFile = await fsp.stat(path.join(dir, rel)).then((st) => st.isFile(), () => false);
  if (!isFile) {
    const found = onnxFiles.map((f) => f.path);
    throw new AppError(
      'Model',
      `MODEL_ONNX_FILE=${chosen} not found in ${dir}; .onnx files there: ${found.length ? found.join(', ') : 'none'}`,
    );
  }
  return rel;
}

function onnxCandidates(listing: readonly string[]): string[] {
  return listing.filter((n) => n.endsWith('.onnx') && (!n.includes('/') || /^onnx\/[^/]+$/.test(n)));
}

/** model.onnx, else onnx/model.onnx, else the only .onnx at the root or in onnx/. */
function pickOnnx(dir: string, listing: readonly string[]): string | undefined {
  for (const preferred of ['model.onnx', 'onnx/model.onnx']) if (listing.includes(preferred)) return preferred;
  const candidates = onnxCandidates(listing);
  if (candidates.length <= 1) return candidates[0];
  throw new AppError(
    'Model',
    `several .onnx files in ${dir} and none is model.onnx: ${candidates.join(', ')}; set MODEL_ONNX_FILE to pick one`,
  );
}

async function readJson(dir: string, rel: string): Promise<unknown> {
  const text = await fsp.readFile(path.join(dir, rel), 'utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new AppError('Model', `${rel} in ${dir} is not valid JSON (${messageOf(e)}); the file is truncated or corrupt: copy the model's original ${rel} there again`, { cause: e });
  }
}

function readGraph(dir: string, rel: string): OnnxGraphInfo {
  try {
    return readOnnxGraph(path.join(dir, rel));
  } catch (e) {
    throw new AppError('Model', `${rel} in ${dir} is not a readable ONNX model (${messageOf(e)}); the file is truncated or corrupt: export or download it again`, { cause: e });
  }
}
