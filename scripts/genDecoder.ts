// The decoder half of gen-model: Qwen3-shaped LLM rerankers (seeded random weights) with the real
// Qwen3 tokenizer read from ../shared/fixtures (never committed here), in the layouts exporters
// produce: a causal LM without past inputs, one with past_key_values inputs, and a seq-cls conversion.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { onnx } from 'onnx-proto';
import { buildQwen3Graph, QWEN3_OPSET, type Qwen3Architecture } from './onnx/qwen3Graph';
import { buildQwen3MergedModel } from './onnx/qwen3Merged';

/** Qwen3's vocabulary with added tokens (config.json vocab_size of Qwen3-Reranker-0.6B). */
export const QWEN3_VOCAB = 151669;
export const QWEN3_YES = 9693;
export const QWEN3_NO = 2152;

export type DecoderPresetName = 'qwen3-tiny' | 'qwen3-tiny-untied' | 'qwen3-tiny-past' | 'qwen3-tiny-merged' | 'qwen3-tiny-seqcls' | 'qwen3-tiny-opaque' | 'qwen3-0.6b-l2';
export const DECODER_PRESETS: readonly DecoderPresetName[] = ['qwen3-tiny', 'qwen3-tiny-untied', 'qwen3-tiny-past', 'qwen3-tiny-merged', 'qwen3-tiny-seqcls', 'qwen3-tiny-opaque', 'qwen3-0.6b-l2'];

const TINY = { vocabSize: QWEN3_VOCAB, hidden: 32, layers: 2, heads: 4, kvHeads: 2, headDim: 8, intermediate: 64, maxPosition: 512 };
// Qwen3-Reranker-0.6B's width and vocabulary, cut to 2 of its 28 layers (benchmarks).
const QWEN3_06B = { vocabSize: QWEN3_VOCAB, hidden: 1024, layers: 2, heads: 16, kvHeads: 8, headDim: 128, intermediate: 3072, maxPosition: 40960 };

interface DecoderPreset {
  shape: typeof TINY;
  tied: boolean;
  layout: Qwen3Architecture['layout'];
  /** Weights in model.onnx.data (how exports over 2 GB must store them). */
  externalData: boolean;
  opaqueHead?: boolean;
  /** optimum's decoder_model_merged layout: an If on use_cache_branch (scripts/onnx/qwen3Merged.ts). */
  merged?: boolean;
}

const PRESETS: Record<DecoderPresetName, DecoderPreset> = {
  'qwen3-tiny': { shape: TINY, tied: true, layout: 'causal', externalData: false },
  'qwen3-tiny-untied': { shape: TINY, tied: false, layout: 'causal', externalData: true },
  'qwen3-tiny-past': { shape: TINY, tied: false, layout: 'causal-past', externalData: false },
  // qwen3-tiny-past's weights in the else branch of a merged decoder's If.
  'qwen3-tiny-merged': { shape: TINY, tied: false, layout: 'causal-past', externalData: false, merged: true },
  'qwen3-tiny-seqcls': { shape: TINY, tied: true, layout: 'seq-cls', externalData: false },
  // qwen3-tiny's weights and logits behind a head the rewrite does not recognize: the unrewritten path.
  'qwen3-tiny-opaque': { shape: TINY, tied: true, layout: 'causal', externalData: false, opaqueHead: true },
  'qwen3-0.6b-l2': { shape: QWEN3_06B, tied: true, layout: 'causal', externalData: true },
};

export function isDecoderPreset(s: string): s is DecoderPresetName {
  return (DECODER_PRESETS as readonly string[]).includes(s);
}

/** The folder holding this project's package.json, from scripts/ (tsx) or dist/scripts/ (compiled). */
function projectRoot(): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'scripts'))) return dir;
    if (dirname(dir) === dir) throw new Error(`cannot find the project root (package.json) above ${__dirname}`);
  }
}

/**
 * The shared fixtures folder: ../shared beside the clone (CI), or beside a folder above it (a git
 * worktree under wt/NAME sits two levels down).
 */
export function sharedDir(): string {
  let dir = projectRoot();
  for (let i = 0; i < 3; i++) {
    const candidate = resolve(dir, '..', 'shared');
    if (existsSync(join(candidate, 'fixtures'))) return candidate;
    dir = resolve(dir, '..');
  }
  return resolve(projectRoot(), '..', 'shared');
}

/** The real Qwen3-Reranker-0.6B tokenizer and config files (fixtures/llm-rerankers). */
export function qwen3TokenizerDir(): string {
  return join(sharedDir(), 'fixtures', 'llm-rerankers', 'Qwen__Qwen3-Reranker-0.6B');
}

export interface DecoderOptions {
  out: string;
  preset: DecoderPresetName;
  seed?: number;
  layers?: number;
  /** override the preset's choice of inline or external weights */
  externalData?: boolean;
}

const EXTERNAL_MIN_BYTES = 1024;

/** Moves every initializer of 1 KiB or more to one data file, as onnx.save(save_as_external_data=True) does. */
function externalize(model: onnx.IModelProto, location: string): Uint8Array {
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const t of model.graph?.initializer ?? []) {
    const raw = t.rawData;
    if (!raw || raw.byteLength < EXTERNAL_MIN_BYTES) continue;
    // ONNX Runtime maps external data with page alignment in mind; 4 KiB alignment as onnx does for large files.
    const pad = (4096 - (offset % 4096)) % 4096;
    if (pad) parts.push(new Uint8Array(pad));
    offset += pad;
    t.externalData = [
      { key: 'location', value: location },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(raw.byteLength) },
    ];
    t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    parts.push(raw);
    offset += raw.byteLength;
    t.rawData = undefined;
  }
  const data = new Uint8Array(offset);
  let at = 0;
  for (const p of parts) {
    data.set(p, at);
    at += p.byteLength;
  }
  return data;
}

function configJson(p: DecoderPreset, layers: number): string {
  const s = p.shape;
  const seqCls = p.layout === 'seq-cls';
  const config: Record<string, unknown> = {
    _name_or_path: `sagemaker-reranker/random-${seqCls ? 'qwen3-reranker-seq-cls' : 'qwen3-reranker'}`,
    architectures: [seqCls ? 'Qwen3ForSequenceClassification' : 'Qwen3ForCausalLM'],
    attention_bias: false,
    bos_token_id: 151643,
    eos_token_id: 151645,
    head_dim: s.headDim,
    hidden_act: 'silu',
    hidden_size: s.hidden,
    intermediate_size: s.intermediate,
    max_position_embeddings: s.maxPosition,
    model_type: 'qwen3',
    num_attention_heads: s.heads,
    num_hidden_layers: layers,
    num_key_value_heads: s.kvHeads,
    rms_norm_eps: 1e-6,
    rope_theta: 1000000,
    tie_word_embeddings: p.tied,
    torch_dtype: 'float32',
    transformers_version: '4.51.3',
    use_cache: p.layout === 'causal-past',
    vocab_size: s.vocabSize,
    ...(seqCls ? { id2label: { '0': 'LABEL_0' }, label2id: { LABEL_0: 0 }, pad_token_id: 151643 } : {}),
  };
  return JSON.stringify(config, null, 2) + '\n';
}

export async function generateDecoder(o: DecoderOptions): Promise<{ dir: string; modelFile: string; modelBytes: number }> {
  const p = PRESETS[o.preset];
  const layers = o.layers ?? p.shape.layers;
  const tokDir = qwen3TokenizerDir();
  if (!existsSync(join(tokDir, 'tokenizer.json'))) {
    throw new Error(`the Qwen3 tokenizer is not at ${tokDir} (it comes from ../shared/fixtures beside the clone)`);
  }
  const tokens: [number, number] = [QWEN3_YES, QWEN3_NO];
  const arch: Qwen3Architecture = {
    ...p.shape, layers, tied: p.tied, layout: p.layout, scoreTokens: tokens, ...(p.opaqueHead ? { opaqueHead: true } : {}),
    ropeTheta: 1000000, rmsNormEps: 1e-6, seed: o.seed ?? 42,
  };
  const meta = {
    producerName: 'sagemaker-reranker/gen-model',
    producerVersion: '1',
    opset: QWEN3_OPSET,
    docString: `Qwen3 ${p.merged ? 'merged (If on use_cache_branch)' : p.layout} decoder with seeded random weights; not a trained model.`,
  };
  const model = p.merged ? buildQwen3MergedModel(arch, meta) : buildQwen3Graph(arch).model(meta);
  const dir = resolve(o.out);
  await mkdir(dir, { recursive: true });
  const modelFile = join(dir, 'model.onnx');
  await rm(join(dir, 'model.onnx.data'), { force: true });
  if (o.externalData ?? p.externalData) await writeFile(join(dir, 'model.onnx.data'), externalize(model, 'model.onnx.data'));
  const bytes = onnx.ModelProto.encode(model).finish();
  await writeFile(modelFile, bytes);
  await writeFile(join(dir, 'config.json'), configJson(p, layers));
  // read + write, not copyFile: the fixtures are read-only and the copies must stay writable.
  for (const name of ['tokenizer.json', 'tokenizer_config.json']) await writeFile(join(dir, name), await readFile(join(tokDir, name)));
  return { dir, modelFile, modelBytes: bytes.byteLength };
}
