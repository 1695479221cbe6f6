/**
 * Which .onnx file of a folder to serve (MODEL_DTYPE), by the names the ecosystem gives its exports:
 * transformers.js / optimum (model.onnx, model_fp16, model_quantized (q8), model_int8, model_uint8,
 * model_q4, ...) and sentence-transformers' exporters (model_qint8_avx512_vnni, model_qint8_avx512,
 * model_quint8_avx2, model_qint8_arm64, model_O1..O4). Pure: listing + device + CPU features in,
 * the file and the reason out. `auto` never changes scores on its own: fp32 unless DEVICE=cuda
 * asks for a GPU and the folder has fp16.
 */
import path from 'node:path';
import { AppError } from '../errors';

export const DTYPES = ['auto', 'fp32', 'fp16', 'q8', 'int8', 'uint8', 'q4'] as const;
export type Dtype = (typeof DTYPES)[number];
/** A dtype name, or a file name inside the folder (ends in .onnx). */
export type DtypeRequest = Dtype | { readonly file: string };

/** What a file holds, read from its name. */
export type VariantKind = 'fp32' | 'fp16' | 'q8' | 'int8' | 'uint8' | 'q4' | 'q4f16' | 'bnb4' | 'unknown';

export interface CpuFeatures {
  readonly arch: string;
  readonly avx2: boolean;
  readonly avx512: boolean;
  readonly vnni: boolean;
}

export interface Variant {
  /** relative path: 'model.onnx', 'onnx/model_quantized.onnx' */
  readonly file: string;
  readonly kind: VariantKind;
  /** the instruction set an exporter quantized it for, when its name says */
  readonly isa?: 'avx512_vnni' | 'avx512' | 'avx2' | 'arm64';
  readonly bytes?: number;
}

export interface VariantChoice {
  readonly file: string;
  readonly kind: VariantKind;
  readonly requested: string;
  readonly reason: string;
}

const BY_NAME: Readonly<Record<string, Omit<Variant, 'file' | 'bytes'>>> = {
  'model.onnx': { kind: 'fp32' },
  'model_fp16.onnx': { kind: 'fp16' },
  'model_quantized.onnx': { kind: 'q8' },
  'model_int8.onnx': { kind: 'int8' },
  'model_uint8.onnx': { kind: 'uint8' },
  'model_q4.onnx': { kind: 'q4' },
  'model_q4f16.onnx': { kind: 'q4f16' },
  'model_bnb4.onnx': { kind: 'bnb4' },
  'model_qint8_avx512_vnni.onnx': { kind: 'q8', isa: 'avx512_vnni' },
  'model_qint8_avx512.onnx': { kind: 'q8', isa: 'avx512' },
  'model_quint8_avx2.onnx': { kind: 'q8', isa: 'avx2' },
  'model_qint8_arm64.onnx': { kind: 'q8', isa: 'arm64' },
  // optimum's graph optimization levels: O1-O3 stay fp32, O4 adds fp16 (meant for GPUs).
  'model_O1.onnx': { kind: 'fp32' },
  'model_O2.onnx': { kind: 'fp32' },
  'model_O3.onnx': { kind: 'fp32' },
  'model_O4.onnx': { kind: 'fp16' },
};

export function parseDtype(value: string): DtypeRequest | undefined {
  if ((DTYPES as readonly string[]).includes(value)) return value as Dtype;
  if (value.endsWith('.onnx')) return { file: value };
  return undefined;
}

/** Every .onnx at the top level or under onnx/, with what its name says it holds. */
export function listVariants(listing: readonly string[], sizes: ReadonlyMap<string, number> = new Map()): Variant[] {
  return listing
    .filter((n) => n.endsWith('.onnx') && (!n.includes('/') || /^onnx\/[^/]+$/.test(n)))
    .map((file) => {
      const size = sizes.get(file);
      return { file, ...(BY_NAME[path.posix.basename(file)] ?? { kind: 'unknown' as const }), ...(size !== undefined ? { bytes: size } : {}) };
    });
}

/** q8 files in the order to prefer them on this CPU: made for its instruction set first. */
function q8Preference(cpu: CpuFeatures): string[] {
  if (cpu.arch === 'arm64') return ['model_qint8_arm64.onnx', 'model_quantized.onnx', 'model_int8.onnx', 'model_uint8.onnx'];
  const generic = ['model_quantized.onnx', 'model_int8.onnx'];
  // Without VNNI, u8 x s8 products can saturate in AVX2's 16-bit adds; the u8 x u8 files avoid that.
  const avx2 = ['model_quint8_avx2.onnx', 'model_uint8.onnx'];
  if (cpu.vnni) return ['model_qint8_avx512_vnni.onnx', ...(cpu.avx512 ? ['model_qint8_avx512.onnx'] : []), ...generic, ...avx2];
  if (cpu.avx512) return ['model_qint8_avx512.onnx', ...generic, ...avx2];
  return [...avx2, ...generic];
}

const EXACT: Readonly<Record<Exclude<Dtype, 'auto' | 'q8'>, string[]>> = {
  fp32: ['model.onnx'],
  fp16: ['model_fp16.onnx', 'model_O4.onnx'],
  int8: ['model_int8.onnx'],
  uint8: ['model_uint8.onnx'],
  q4: ['model_q4.onnx'],
};

export function describeCpu(cpu: CpuFeatures): string {
  const flags = [cpu.vnni && 'VNNI', cpu.avx512 && 'AVX-512', cpu.avx2 && 'AVX2'].filter(Boolean).join(', ');
  return `${cpu.arch}${flags ? ` with ${flags}` : ''}`;
}

/**
 * The file to serve, or undefined when the folder has no .onnx (config-only folders can still be
 * inspected). device is the DEVICE setting: only an explicit 'cuda' makes `auto` prefer fp16.
 */
export function chooseVariant(variants: readonly Variant[], request: DtypeRequest, device: string, cpu: CpuFeatures): VariantChoice | undefined {
  const requested = typeof request === 'string' ? request : request.file;
  const find = (names: readonly string[]): Variant | undefined => {
    for (const name of names) {
      // The root first, then onnx/ (as readModelFiles looks for model.onnx).
      const hit = variants.find((v) => v.file === name) ?? variants.find((v) => v.file === `onnx/${name}`);
      if (hit) return hit;
    }
    return undefined;
  };
  const pick = (v: Variant, reason: string): VariantChoice => ({ file: v.file, kind: v.kind, requested, reason });
  const missing = (what: string): never => {
    const have = variants.map((v) => `${v.file} (${v.kind}${v.isa ? `, ${v.isa}` : ''})`);
    throw new AppError('Config', `MODEL_DTYPE=${requested}: ${what}; .onnx files in the model folder: ${have.length ? have.join(', ') : 'none'}`);
  };

  if (typeof request !== 'string') {
    const rel = path.posix.normalize(request.file.split(path.sep).join('/')).replace(/^\.\//, '');
    const hit = variants.find((v) => v.file === rel) ?? variants.find((v) => path.posix.basename(v.file) === rel);
    return hit ? pick(hit, `MODEL_DTYPE names the file`) : missing(`no file ${request.file}`);
  }
  if (request === 'auto') {
    if (variants.length === 0) return undefined;
    const fp16 = device === 'cuda' ? find(EXACT.fp16) : undefined;
    if (fp16) return pick(fp16, 'auto on DEVICE=cuda: the folder has an fp16 export');
    const fp32 = find(['model.onnx']);
    if (fp32) return pick(fp32, `auto: fp32${device === 'cuda' ? ' (no fp16 export in the folder)' : ' on CPU keeps the exported scores'}`);
    if (variants.length === 1) return pick(variants[0]!, 'auto: the only .onnx file in the folder');
    return missing('no model.onnx and several .onnx files; set MODEL_DTYPE (fp16, q8, ...) or MODEL_ONNX_FILE to pick one');
  }
  if (request === 'q8') {
    const hit = find(q8Preference(cpu));
    return hit ? pick(hit, `q8 on ${describeCpu(cpu)}: ${hit.isa ? `made for ${hit.isa}` : 'the best 8-bit file the folder has for it'}`) : missing('no 8-bit file (run `reranker quantize <model-dir>` to make onnx/model_quantized.onnx)');
  }
  const hit = find(EXACT[request]);
  return hit ? pick(hit, `MODEL_DTYPE=${request}`) : missing(`no ${EXACT[request].join(' or ')}`);
}
